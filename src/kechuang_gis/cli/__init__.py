"""Command-line interface: argument parsing and progress only, no analysis logic.

Each command group lives in its own module of this package and exposes
``register(subparsers)``; modules are discovered here, so adding a command never means
editing a shared file. A handler returns an exit code (0 on success).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
import warnings

from .. import __version__
from ..errors import DataWarning, KechuangError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kechuang-gis",
        description="Spatial planning GIS for the innovation geography around Lake Taihu (环太湖科创圈).",
    )
    parser.add_argument("--version", action="version", version=f"kechuang-gis {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        try:
            code = args.handler(args)
        except KechuangError as exc:
            _report_warnings(caught)
            print(f"error: {exc}", file=sys.stderr)
            return 2
    _report_warnings(caught)
    return int(code or 0)


def _report_warnings(caught) -> None:
    """Print each distinct data warning once (with a count) and re-emit the others once."""
    seen: dict[tuple, int] = {}
    first: dict[tuple, warnings.WarningMessage] = {}
    for w in caught:
        key = (w.category, str(w.message))
        seen[key] = seen.get(key, 0) + 1
        first.setdefault(key, w)
    data = [k for k in seen if issubclass(k[0], DataWarning)]
    for key in data:
        times = f" (x{seen[key]})" if seen[key] > 1 else ""
        print(f"warning: {key[1]}{times}", file=sys.stderr)
    if data:
        print(f"{len(data)} warning(s)", file=sys.stderr)
    for key, w in first.items():
        if not issubclass(key[0], DataWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
