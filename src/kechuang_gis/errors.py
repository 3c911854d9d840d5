"""The package's exception types: each error says what is wrong and where."""

from __future__ import annotations

import warnings


class KechuangError(Exception):
    """Base class of every error this package raises on purpose."""


class InputError(KechuangError, ValueError):
    """Bad user input: a file, a column, a value. The message names the file and row."""


class NetworkError(KechuangError):
    """A transport network that cannot be built or used as asked."""


class OfflineError(KechuangError):
    """A network service was asked for but cannot be reached; the message names offline alternatives."""


class MissingDependencyError(KechuangError):
    """A system component (browser, font) is missing; the message names the package to install."""


class DataWarning(UserWarning):
    """A problem in the data where work can go on; always reported with a count."""


def warn_count(what: str, count: int, examples: list | None = None) -> None:
    """Issue one DataWarning summarising ``count`` occurrences of ``what`` (nothing if zero)."""
    if count <= 0:
        return
    shown = ""
    if examples:
        shown = ": " + ", ".join(str(e) for e in examples[:5]) + (" ..." if len(examples) > 5 else "")
    warnings.warn(f"{count} {what}{shown}", DataWarning, stacklevel=3)
