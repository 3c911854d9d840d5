"""Shared test helpers.

A test that needs a system component (Chromium, chromedriver, a CJK font) calls
:func:`require`: on a user's machine it skips with the reason; under CI=true it fails,
because CI must exercise everything.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATA = Path(__file__).resolve().parent / "data"


def require(available: bool, reason: str) -> None:
    if available:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


def require_executable(name: str, package: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"{name} not found (install Debian package {package})")
    return path


@pytest.fixture
def tmp_out(tmp_path):
    return tmp_path / "out"
