"""The Dagster instance floe's CLI and the demo use: ``DAGSTER_HOME``, else ``.floe/dagster`` beside floe.yaml.

Library code never writes ``DAGSTER_HOME`` into the process environment: :func:`open_instance` builds the
instance from the directory directly, and :func:`dagster_environment` returns an environment *copy* for
subprocesses (``dagster dev``, ``dagster-daemon``) that need the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dagster import DagsterInstance

from floe_config import PlatformSpec
from floe_definitions.errors import FloeDefinitionsError

DEFAULT_DAGSTER_HOME = ".floe/dagster"
"""``DAGSTER_HOME`` when unset, relative to floe.yaml's directory."""


def dagster_home(base_dir: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Return ``DAGSTER_HOME`` if set, else ``<base_dir>/.floe/dagster`` (absolute)."""
    env = os.environ if environ is None else environ
    configured = env.get("DAGSTER_HOME")
    return Path(configured).expanduser().resolve() if configured else (base_dir / DEFAULT_DAGSTER_HOME).resolve()


def dagster_environment(base_dir: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return a copy of the environment with ``DAGSTER_HOME`` defaulted (for Dagster subprocesses)."""
    env = dict(os.environ if environ is None else environ)
    home = dagster_home(base_dir, env)
    home.mkdir(parents=True, exist_ok=True)
    env["DAGSTER_HOME"] = os.fspath(home)
    return env


def open_instance(base_dir: Path, platform: PlatformSpec, environ: Mapping[str, str] | None = None) -> DagsterInstance:
    """Open the persistent Dagster instance for a project.

    A ``dagster.yaml`` in the home directory wins; otherwise SQLite storage in it, or Postgres when the platform
    says ``instance.storage: postgres`` (needs ``floe-definitions[postgres]``).

    Raises:
        FloeDefinitionsError: Postgres storage without a URL or without dagster-postgres.
    """
    home = dagster_home(base_dir, environ)
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if config.is_file() or platform.instance.storage == "sqlite":
        if not config.exists():
            config.write_text("# SQLite storage in this directory (floe's default instance)\n", encoding="utf-8")
        return DagsterInstance.from_config(os.fspath(home))
    if not platform.instance.postgres_url:
        raise FloeDefinitionsError("instance.storage is 'postgres' but instance.postgres_url is not set")
    try:
        import dagster_postgres  # noqa: F401
    except ImportError as exc:
        raise FloeDefinitionsError(
            "instance.storage 'postgres' needs dagster-postgres: pip install 'floe-definitions[postgres]'"
        ) from exc
    return DagsterInstance.local_temp(
        os.fspath(home),
        overrides={"storage": {"postgres": {"postgres_url": platform.instance.postgres_url}}},
    )
