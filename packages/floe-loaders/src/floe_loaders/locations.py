"""Where a floe.yaml entry lives, and the structured warnings the loaders return.

Loaders never read floe.yaml themselves: callers pass ``locate``, a function turning a dotted config path
(``orchestration.jobs.transform``) into a location prefix (``floe.yaml:12:5``). floe-config knows the lines;
floe-loaders only formats.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

Locate = Callable[[str], str]
"""Dotted floe.yaml path -> location prefix such as ``floe.yaml:12:5``."""


def default_locate(path: str) -> str:
    """Locate ``path`` when no line numbers are known: just the file name.

    Args:
        path: Dotted floe.yaml path (unused; every entry lives in floe.yaml).

    Returns:
        ``"floe.yaml"``.
    """
    del path
    return "floe.yaml"


def config_path(*parts: str | int) -> str:
    """Join floe.yaml keys and list indexes into a dotted path (``orchestration.asset_modules.0``).

    Args:
        *parts: Keys and indexes from the document root down.

    Returns:
        The dotted path.
    """
    return ".".join(str(part) for part in parts)


@dataclass(frozen=True)
class LoaderWarning:
    """A problem that does not stop loading, located in floe.yaml so ``floe check`` can print it."""

    path: str
    """Dotted floe.yaml path of the entry the warning is about."""
    message: str
    """What is odd and what to do about it."""
    location: str = "floe.yaml"
    """Location prefix from ``locate(path)``."""

    def __str__(self) -> str:
        """Render as ``location: path: message``."""
        return f"{self.location}: {self.path}: {self.message}"


def make_warning(path: str, message: str, locate: Locate) -> LoaderWarning:
    """Build a located warning.

    Args:
        path: Dotted floe.yaml path.
        message: What is odd and what to do.
        locate: Path -> location prefix.

    Returns:
        The warning.
    """
    return LoaderWarning(path=path, message=message, location=locate(path))
