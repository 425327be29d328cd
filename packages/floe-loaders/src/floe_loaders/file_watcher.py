"""The ``file_watcher`` sensor: one run request per new or changed file under a directory.

Each file version gets a stable ``run_key`` ``<relative path>:<size>:<mtime_ns>``, so Dagster never launches the
same version twice even if a tick repeats (Dagster skips run requests whose run_key this sensor already used).

Cursor design (compact whatever the directory size): a *horizon* ``h`` and the files ``s`` whose inode change
time (``st_ctime_ns``, set by the kernel on every write, rename or metadata change, never by the user) is at or
after it. Before scanning, the tick notes the wall clock ``S``; any file created or changed after the scan has
begun has ``ctime >= S - slack`` (the slack covers the kernel's coarse timestamp clock), so the next horizon is
``S - slack`` and the next tick only has to look at files newer than it, minus the ones already requested at
their current ctime. The cursor therefore holds only the files changed in the last few seconds, not the whole
directory. Trade-offs, listed in the README's "Limits": a ``chmod``/``touch`` without content change bumps ctime and
yields a request whose run_key was already used (Dagster drops it); a clock stepped backwards by more than the
slack, or a network file system whose server clock lags by more than the slack, can hide changes.

At most ``max_run_requests_per_tick`` files are requested per tick, oldest first; the horizon stops before the
first file left over, so the rest follow on the next ticks.
"""

from __future__ import annotations

import fnmatch
import heapq
import json
import os
import re
import stat as stat_module
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from floe_loaders.discovery import JobObject

FILE_PATH_TAG = "floe/file_path"
"""Run tag holding the absolute path of the file that triggered the run."""
FILE_NAME_TAG = "floe/file_name"
"""Run tag holding the file's path relative to the watched directory."""
_CURSOR_VERSION = 1


@dataclass(frozen=True)
class FileVersion:
    """One matching file as seen by one scan."""

    relpath: str
    """Path relative to the watched directory, ``/``-separated."""
    path: str
    """Absolute path."""
    size: int
    """Size in bytes."""
    mtime_ns: int
    """Modification time."""
    ctime_ns: int
    """Inode change time (what the cursor's horizon compares)."""

    @property
    def run_key(self) -> str:
        """Stable key of this version of the file."""
        return f"{self.relpath}:{self.size}:{self.mtime_ns}"


@dataclass(frozen=True)
class FileWatcherCursor:
    """Horizon plus the recently changed files already requested (see the module docstring)."""

    horizon_ns: int | None = None
    """Files with ctime before this were all requested; None before the first tick."""
    seen: Mapping[str, int] = field(default_factory=dict)
    """Relative path -> ctime already requested, for files with ctime at or after the horizon."""

    def to_json(self) -> str:
        """Serialize compactly for Dagster's cursor storage."""
        return json.dumps({"v": _CURSOR_VERSION, "h": self.horizon_ns, "s": dict(self.seen)}, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> FileWatcherCursor:
        """Parse a stored cursor; an empty or foreign cursor starts afresh (run keys still prevent duplicates).

        Args:
            text: The stored cursor, or None.

        Returns:
            The cursor.
        """
        if not text:
            return cls()
        try:
            data = json.loads(text)
            if data.get("v") != _CURSOR_VERSION:
                return cls()
            horizon = data.get("h")
            return cls(
                horizon_ns=int(horizon) if horizon is not None else None,
                seen={str(k): int(v) for k, v in data.get("s", {}).items()},
            )
        except (ValueError, TypeError, AttributeError):
            return cls()


def _suffix_of(pattern: str) -> str | None:
    """The literal suffix of a ``*<literal>`` pattern (the common ``*.csv`` case), else None."""
    if pattern.startswith("*") and not set("*?[") & set(pattern[1:]):
        return pattern[1:]
    return None


def scan_entries(root: Path, pattern: str, *, recursive: bool = False) -> Iterator[tuple[str, str, int, int, int]]:
    """Yield ``(relpath, path, size, mtime_ns, ctime_ns)`` for matching regular files (``os.scandir``, one stat each).

    Args:
        root: The watched directory.
        pattern: Glob matched (case-sensitively) against file names.
        recursive: Also descend into subdirectories (symlinked directories are not followed).

    Yields:
        One tuple per matching file.

    Raises:
        OSError: ``root`` itself cannot be listed (subdirectories that cannot be listed are skipped).
    """
    suffix = _suffix_of(pattern)
    regex = re.compile(fnmatch.translate(pattern))
    is_regular = stat_module.S_ISREG
    stack: list[tuple[str, str]] = [(str(root), "")]
    first = True
    while stack:
        directory, prefix = stack.pop()
        try:
            iterator = os.scandir(directory)
        except OSError:
            if first:
                raise
            continue
        first = False
        with iterator:
            for entry in iterator:
                name = entry.name
                matched = name.endswith(suffix) if suffix is not None else regex.match(name) is not None
                try:
                    if recursive and entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, f"{prefix}{name}/"))
                        continue
                    if not matched:
                        continue
                    stat = entry.stat()
                except OSError:
                    continue  # vanished between listing and stat
                if is_regular(stat.st_mode):
                    yield prefix + name, entry.path, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns


def scan_directory(root: Path, pattern: str, *, recursive: bool = False) -> Iterator[FileVersion]:
    """Yield every regular file under ``root`` whose name matches ``pattern``.

    Args:
        root: The watched directory.
        pattern: Glob matched (case-sensitively) against file names.
        recursive: Also descend into subdirectories (symlinked directories are not followed).

    Yields:
        File versions.

    Raises:
        OSError: ``root`` itself cannot be listed.
    """
    for entry in scan_entries(root, pattern, recursive=recursive):
        yield FileVersion(*entry)


def _order(version: FileVersion) -> tuple[int, str]:
    return (version.ctime_ns, version.relpath)


def select_new_versions(
    files: Iterator[FileVersion] | list[FileVersion],
    cursor: FileWatcherCursor,
    *,
    scan_started_ns: int,
    slack_ns: int,
    limit: int,
) -> tuple[list[FileVersion], FileWatcherCursor]:
    """Pick the file versions not yet requested and compute the next cursor (pure).

    Args:
        files: Everything the scan saw.
        cursor: The previous cursor.
        scan_started_ns: Wall clock just before the scan began.
        slack_ns: Allowance for the coarse clock of file timestamps.
        limit: Most versions to return (oldest first).

    Returns:
        The versions to request, and the next cursor.
    """
    horizon = cursor.horizon_ns
    recent: list[FileVersion] = []
    candidates: list[FileVersion] = []
    for version in files:
        if horizon is not None and version.ctime_ns < horizon:
            continue
        recent.append(version)
        if cursor.seen.get(version.relpath) != version.ctime_ns:
            candidates.append(version)
    if len(candidates) > limit:
        # oldest first; the rest wait for the next ticks (O(n log limit), not a full sort)
        taken = heapq.nsmallest(limit, candidates, key=_order)
        cut = _order(taken[-1])
        left = [version for version in candidates if _order(version) > cut]
    else:
        taken, left = sorted(candidates, key=_order), []
    next_horizon = scan_started_ns - slack_ns
    if left:
        next_horizon = min(next_horizon, min(version.ctime_ns for version in left))
    if horizon is not None:
        next_horizon = max(next_horizon, horizon)  # a clock stepped back must not re-open old history
    left_names = {version.relpath for version in left}
    seen = {
        version.relpath: version.ctime_ns
        for version in recent
        if version.ctime_ns >= next_horizon and version.relpath not in left_names
    }
    return taken, FileWatcherCursor(horizon_ns=next_horizon, seen=seen)


def build_file_watcher_sensor(
    name: str,
    path: str | Path,
    *,
    job: JobObject | None = None,
    job_name: str | None = None,
    pattern: str = "*",
    recursive: bool = False,
    base_dir: Path | None = None,
    minimum_interval_seconds: int = 30,
    enabled: bool = True,
    description: str | None = None,
    run_config_for_file: Callable[[str], Mapping[str, Any]] | None = None,
    max_run_requests_per_tick: int = 1000,
    clock_slack_seconds: float = 2.0,
) -> dg.SensorDefinition:
    """Build a sensor requesting one run per new or changed file matching ``pattern`` under ``path``.

    Args:
        name: Sensor name.
        path: Directory to watch; relative paths are resolved against ``base_dir``.
        job: The job to run (or give ``job_name``).
        job_name: Name of the job to run, when ``job`` is not given.
        pattern: Glob matched against file names (``*.csv``).
        recursive: Also watch subdirectories.
        base_dir: The directory holding floe.yaml (default: the current directory).
        minimum_interval_seconds: Minimum seconds between evaluations (floe.yaml's ``poll_interval_seconds``).
        enabled: Whether the sensor starts running.
        description: Shown in the Dagster UI.
        run_config_for_file: Absolute file path -> run config for the run (tags are always set).
        max_run_requests_per_tick: Most files requested by one tick; the rest follow on later ticks.
        clock_slack_seconds: Allowance for file-timestamp clock granularity (see the module docstring).

    Returns:
        The sensor.
    """
    root = Path(path)
    if not root.is_absolute():
        root = (base_dir or Path.cwd()) / root
    slack_ns = int(clock_slack_seconds * 1e9)

    def _evaluate(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        if not root.exists():
            return dg.SkipReason(f"watched directory {root} does not exist; create it or fix the sensor's path")
        cursor = FileWatcherCursor.from_json(context.cursor)
        started = time.time_ns()
        try:
            horizon = cursor.horizon_ns
            # only files changed since the horizon become objects: a steady tick over a large directory stays cheap
            files = [
                FileVersion(*entry)
                for entry in scan_entries(root, pattern, recursive=recursive)
                if horizon is None or entry[4] >= horizon
            ]
        except OSError as exc:
            return dg.SkipReason(f"cannot read watched directory {root}: {exc.strerror or exc}")
        taken, next_cursor = select_new_versions(
            files, cursor, scan_started_ns=started, slack_ns=slack_ns, limit=max_run_requests_per_tick
        )
        requests = [
            dg.RunRequest(
                run_key=version.run_key,
                tags={
                    FILE_PATH_TAG: version.path,
                    FILE_NAME_TAG: version.relpath,
                    "floe/file_size": str(version.size),
                    "floe/file_mtime_ns": str(version.mtime_ns),
                },
                run_config=run_config_for_file(version.path) if run_config_for_file else None,
            )
            for version in taken
        ]
        if not requests:
            return dg.SensorResult(
                skip_reason=dg.SkipReason(f"no new or changed file matching {pattern!r} in {root}"),
                cursor=next_cursor.to_json(),
            )
        return dg.SensorResult(run_requests=requests, cursor=next_cursor.to_json())

    return dg.SensorDefinition(
        name=name,
        evaluation_fn=_evaluate,
        job=job,
        job_name=job_name if job is None else None,
        minimum_interval_seconds=minimum_interval_seconds,
        description=description or f"Runs once per new or changed file matching {pattern!r} in {root}",
        default_status=dg.DefaultSensorStatus.RUNNING if enabled else dg.DefaultSensorStatus.STOPPED,
    )
