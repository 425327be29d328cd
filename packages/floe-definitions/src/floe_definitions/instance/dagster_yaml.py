"""platform.yaml's ``instance:`` section rendered into Dagster's own ``dagster.yaml``.

The rendered file is the one definition of a deployment's Dagster instance: floe's commands open it, and the
webserver, the daemon, the ``dagster`` CLI and a Helm values file read the same text. A Postgres URL named by
``postgres_url_env`` is written as Dagster's ``{env: NAME}`` reference, so it never sits in the file or a log.
"""

from __future__ import annotations

import copy
import os
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from floe_config import PlatformSpec
from floe_definitions.errors import InstanceConfigError

DAGSTER_YAML = "dagster.yaml"
HEADER_PREFIX = "# Rendered by floe from "
"""First line of a ``dagster.yaml`` floe wrote; floe rewrites such a file whenever platform.yaml changes."""
LEGACY_HEADER = "# SQLite storage in this directory (floe's default instance)"
"""What earlier floe versions wrote into a default home: also floe's, so also rewritten."""
COMPUTE_LOGS_MODULE = "dagster.core.storage.local_compute_log_manager"
WARM_LAUNCHER_MODULE = "floe_definitions.warm.launcher"
WARM_LAUNCHER_CLASS = "WarmRunLauncher"
EVENT_LOG_MODULE = "floe_definitions.instance.event_log"
"""floe's event log storages: Dagster's own, writing a batch of events (a run's planned events) at once."""
STORAGE_KEYS = ("run_storage", "event_log_storage", "schedule_storage")
WARM_DEQUEUE_INTERVAL_SECONDS = 1


@dataclass(frozen=True)
class RenderedInstance:
    """A Dagster instance as rendered from platform.yaml.

    Attributes:
        home: The ``DAGSTER_HOME`` the file belongs to.
        config: The ``dagster.yaml`` content.
        source: The platform file it was rendered from (``platform defaults`` when there is none).
        postgres_url_env: The variable Dagster reads the Postgres URL from, when storage is Postgres.
    """

    home: Path
    config: Mapping[str, Any]
    source: str
    postgres_url_env: str | None = None

    @property
    def path(self) -> Path:
        """``<home>/dagster.yaml``."""
        return self.home / DAGSTER_YAML

    def text(self) -> str:
        """The ``dagster.yaml`` text, headed by the file it was rendered from."""
        header = f"{HEADER_PREFIX}{self.source}; edit that file, then run `floe instance --write`.\n"
        return header + yaml.safe_dump(dict(self.config), sort_keys=False, default_flow_style=False)

    def display_text(self) -> str:
        """The text with any password in a literal Postgres URL masked (for printing)."""
        text = self.text()
        for key in STORAGE_KEYS:
            storage = self.config.get(key, {})
            url = storage.get("config", {}).get("postgres_url") if isinstance(storage, Mapping) else None
            if isinstance(url, str):
                text = text.replace(url, mask_url(url))
        return text


def mask_url(url: str) -> str:
    """Return ``url`` with its password (if any) replaced by ``***``."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


def render_instance(
    platform: PlatformSpec,
    home: Path,
    *,
    platform_file: Path | None = None,
    base_dir: Path | None = None,
    locate: Callable[[str], str] | None = None,
) -> RenderedInstance:
    """Render platform.yaml's ``instance:`` section into ``dagster.yaml`` content for ``home``.

    Args:
        platform: The validated platform spec.
        home: The ``DAGSTER_HOME`` the file is for.
        platform_file: The platform file (relative directories resolve against its directory).
        base_dir: floe.yaml's directory, for relative directories when there is no platform file.
        locate: Dotted platform key -> ``file:line:column``, for errors.

    Returns:
        The rendered instance.

    Raises:
        InstanceConfigError: ``postgres`` storage with neither ``postgres_url_env`` nor ``postgres_url``.
    """
    settings = platform.instance
    where = locate or (lambda _key: os.fspath(platform_file) if platform_file else "platform defaults")
    relative_to = platform_file.parent if platform_file is not None else (base_dir or home)
    config: dict[str, Any] = {}
    url_env = None
    if settings.storage == "postgres":
        if settings.postgres_url_env:
            url_env = settings.postgres_url_env
            config.update(_postgres_storages({"env": url_env}))
        elif settings.postgres_url:
            config.update(_postgres_storages(settings.postgres_url))
        else:
            raise InstanceConfigError(
                "instance.storage is 'postgres' but neither postgres_url_env nor postgres_url is set; add "
                "'postgres_url_env: DAGSTER_POSTGRES_URL' (the variable holding the URL)",
                location=where("instance.storage"),
                key="instance.storage",
            )
    else:
        sqlite_dir = _resolve(settings.sqlite_dir, relative_to) if settings.sqlite_dir else home
        config.update(_sqlite_storages(sqlite_dir))
    coordinator = settings.run_coordinator
    run_queue: dict[str, Any] = {"max_concurrent_runs": coordinator.max_concurrent_runs}
    if coordinator.tag_concurrency_limits:
        run_queue["tag_concurrency_limits"] = [
            {"key": limit.key, **({"value": limit.value} if limit.value is not None else {}), "limit": limit.limit}
            for limit in coordinator.tag_concurrency_limits
        ]
    if warm_runs(platform):
        # The daemon takes queued runs every dequeue interval (Dagster's default: 5 s); on the laptop tier a run
        # launched from the UI or through `floe dev` by `floe run` starts within a second (a SQLite query a second).
        run_queue["dequeue_interval_seconds"] = WARM_DEQUEUE_INTERVAL_SECONDS
    config["run_queue"] = run_queue
    monitoring = settings.run_monitoring
    config["run_monitoring"] = {
        "enabled": monitoring.enabled,
        "start_timeout_seconds": monitoring.start_timeout_seconds,
        "cancel_timeout_seconds": monitoring.cancel_timeout_seconds,
    }
    config["run_retries"] = {"enabled": settings.run_retries.enabled, "max_retries": settings.run_retries.max_retries}
    compute_logs = _resolve(settings.compute_logs_dir, relative_to) if settings.compute_logs_dir else home / "storage"
    config["compute_logs"] = {
        "module": COMPUTE_LOGS_MODULE,
        "class": "LocalComputeLogManager",
        "config": {"base_dir": os.fspath(compute_logs)},
    }
    config["telemetry"] = {"enabled": settings.telemetry}
    if warm_runs(platform):
        config["run_launcher"] = {"module": WARM_LAUNCHER_MODULE, "class": WARM_LAUNCHER_CLASS, "config": {}}
    source = os.fspath(platform_file) if platform_file is not None else "platform defaults"
    return RenderedInstance(home=home, config=config, source=source, postgres_url_env=url_env)


def _sqlite_storages(base_dir: Path) -> dict[str, Any]:
    """Dagster's SQLite run and schedule storages and floe's event log storage, in ``base_dir``.

    They are laid out as Dagster's ``storage: {sqlite: {base_dir}}`` lays them out. Dagster's one-key form cannot
    name another event log storage, so the three are named one by one (Dagster's documented per-storage form).
    """
    return {
        "run_storage": _storage("dagster.core.storage.runs", "SqliteRunStorage", {"base_dir": base_dir / "history"}),
        "event_log_storage": _storage(
            EVENT_LOG_MODULE, "BatchedSqliteEventLogStorage", {"base_dir": base_dir / "history" / "runs"}
        ),
        "schedule_storage": _storage(
            "dagster.core.storage.schedules", "SqliteScheduleStorage", {"base_dir": base_dir / "schedules"}
        ),
    }


def _postgres_storages(url: str | Mapping[str, str]) -> dict[str, Any]:
    """dagster-postgres' run and schedule storages and floe's event log storage, all on ``url``."""
    config = {"postgres_url": url}
    return {
        "run_storage": _storage("dagster_postgres", "PostgresRunStorage", config),
        "event_log_storage": _storage(EVENT_LOG_MODULE, "BatchedPostgresEventLogStorage", config),
        "schedule_storage": _storage("dagster_postgres", "PostgresScheduleStorage", config),
    }


def _storage(module: str, name: str, config: Mapping[str, Any]) -> dict[str, Any]:
    # each storage its own copy of every value: a shared one would be dumped as a YAML anchor (&id001 / *id001)
    plain = {
        key: os.fspath(value) if isinstance(value, Path) else copy.deepcopy(value) for key, value in config.items()
    }
    return {"module": module, "class": name, "config": plain}


def warm_runs(platform: PlatformSpec) -> bool:
    """Tell whether runs start warm: ``instance.run_launcher``, else ``warm`` on SQLite and ``default`` on Postgres.

    SQLite is one machine (the laptop tier, ``floe dev``): every launcher shares one warm process per code location.
    A Postgres instance usually serves several machines (the team tier), where Dagster's own launcher, or a
    container launcher, stays the default; ``run_launcher: warm`` opts in.
    """
    settings = platform.instance
    if settings.run_launcher is not None:
        return settings.run_launcher == "warm"
    return settings.storage == "sqlite"


def written_by_floe(text: str) -> bool:
    """Tell whether a ``dagster.yaml``'s text is one floe wrote (and may rewrite)."""
    first = text.lstrip().splitlines()[0] if text.strip() else ""
    return first.startswith(HEADER_PREFIX) or first == LEGACY_HEADER


def _resolve(path: str, relative_to: Path) -> Path:
    candidate = Path(path).expanduser()
    return (candidate if candidate.is_absolute() else relative_to / candidate).resolve()
