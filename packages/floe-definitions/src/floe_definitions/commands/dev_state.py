"""Where a running ``floe dev`` serves: a JSON file in the instance's ``DAGSTER_HOME``, read by ``floe run``.

``floe dev`` writes ``<DAGSTER_HOME>/floe-dev.json`` once ``dagster dev`` has started and removes it when it stops;
``floe run`` reads it to launch through that webserver. A file left by a ``floe dev`` that was killed names a dead
pid and is ignored (and removed). Standard library only: ``floe run`` reads it before importing Dagster.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from floe_definitions.commands.progress import TelemetryPlaces

DEV_STATE_FILE = "floe-dev.json"
SINGLETON_REPOSITORY = "__repository__"
"""The repository name Dagster gives the one repository of a ``Definitions`` code location."""


@dataclass(frozen=True)
class DevServer:
    """A running ``floe dev``.

    Attributes:
        pid: The ``floe dev`` process.
        url: The webserver's base URL (``http://127.0.0.1:3000``).
        floe_yaml: The floe.yaml it serves (absolute).
        platform_file: The platform file it was started with (absolute), ``None`` for the defaults.
        location: The code location's name.
        repository: The repository's name in that location.
        places: Where its runs' spans, lineage and compute logs go (its environment decides, not the caller's).
    """

    pid: int
    url: str
    floe_yaml: str
    platform_file: str | None
    location: str
    repository: str
    places: TelemetryPlaces


def write_dev_state(home: Path, server: DevServer) -> Path:
    """Write ``server`` to ``<home>/floe-dev.json`` (atomically: a reader sees the old file or the new one)."""
    path = home / DEV_STATE_FILE
    partial = path.with_name(f".{DEV_STATE_FILE}.{os.getpid()}")
    partial.write_text(json.dumps(asdict(server), indent=2) + "\n")
    partial.replace(path)
    return path


def remove_dev_state(home: Path, pid: int) -> None:
    """Remove ``<home>/floe-dev.json`` if it names ``pid`` (another ``floe dev`` may have written it since)."""
    server = read_dev_state(home)
    if server is not None and server.pid == pid:
        with contextlib.suppress(FileNotFoundError):
            (home / DEV_STATE_FILE).unlink()


def read_dev_state(home: Path) -> DevServer | None:
    """Return the ``floe dev`` recorded in ``home``, or ``None`` (no file, or one floe cannot read)."""
    try:
        data = json.loads((home / DEV_STATE_FILE).read_text())
        return DevServer(**{**data, "places": TelemetryPlaces(**data["places"])})
    except (OSError, ValueError, TypeError, KeyError):
        return None


def running_dev(home: Path) -> DevServer | None:
    """Return the ``floe dev`` recorded in ``home`` if its process is alive; remove a file its dead owner left."""
    server = read_dev_state(home)
    if server is None:
        return None
    if not _alive(server.pid):
        remove_dev_state(home, server.pid)
        return None
    return server


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process took the pid
        return False
    with contextlib.suppress(OSError):  # a zombie has exited
        if "\nState:\tZ" in Path(f"/proc/{pid}/status").read_text():
            return False
    return True
