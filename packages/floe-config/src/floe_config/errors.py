"""floe-config's errors: one root, and ``ConfigError`` carrying every located problem of a file.

A ``ConfigIssue`` is one problem: the file, the dotted key path, the 1-based line and column of the YAML node it
comes from, and a message a data engineer can act on. ``str(ConfigError)`` prints one issue per line as
``floe.yaml:12:7: orchestration.schedules.daily.cron_schedule: message``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class ConfigIssue:
    """One located problem in a configuration file."""

    file: str
    """The file as the user named it (``floe.yaml``, ``platform/prod.yaml``)."""
    line: int
    """1-based line of the offending YAML node; 0 when the problem is the file as a whole."""
    column: int
    """1-based column of the offending YAML node; 0 when unknown."""
    path: str
    """Dotted key path (``orchestration.schedules.daily.cron_schedule``); empty for the document itself."""
    message: str
    """What is wrong, the offending value (``${VAR}`` for values from the environment) and how to fix it."""
    severity: Severity = "error"
    """``error`` fails validation; ``warning`` is reported only."""

    def format(self) -> str:
        """Render as ``file:line:column: path: message`` (the line/column and path parts only when known)."""
        where = self.file
        if self.line:
            where += f":{self.line}:{self.column}" if self.column else f":{self.line}"
        parts = [where, self.path, self.message] if self.path else [where, self.message]
        text = ": ".join(parts)
        return text if self.severity == "error" else f"{text} [warning]"

    def to_dict(self) -> dict[str, str | int]:
        """Return a JSON-ready mapping of the issue's fields."""
        return asdict(self)


class FloeConfigError(Exception):
    """Root of every error floe-config raises."""


class ConfigError(FloeConfigError):
    """A configuration file is invalid; ``issues`` lists every problem found in one pass."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        if not issues:
            raise ValueError("ConfigError needs at least one issue")
        self.issues: list[ConfigIssue] = sorted(
            issues, key=lambda issue: (issue.file, issue.line, issue.column, issue.path)
        )
        super().__init__("\n".join(issue.format() for issue in self.issues))

    def __reduce__(self) -> tuple[type[ConfigError], tuple[list[ConfigIssue]]]:
        return (type(self), (self.issues,))


class ConfigFileError(ConfigError):
    """A configuration file cannot be read at all (missing, a directory, unreadable)."""


class PlatformSettingsError(ConfigError):
    """The ``FLOE_*`` environment variables selecting the platform file are inconsistent."""
