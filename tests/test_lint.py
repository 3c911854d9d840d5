"""The code base stays ruff-clean (the rules are in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_ruff_clean():
    res = subprocess.run([sys.executable, "-m", "ruff", "check", "src", "tests", "scripts", "bench"],
                         cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
