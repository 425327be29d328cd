"""The Dagster instance every floe entry point uses: ``dagster.yaml`` rendered from platform.yaml in ``DAGSTER_HOME``.

``DAGSTER_HOME`` is the environment's, else ``.floe/dagster`` beside floe.yaml.

Library code never writes ``DAGSTER_HOME`` into the process environment: :func:`open_instance` builds the
instance from the directory directly, and :func:`dagster_environment` returns an environment *copy* for
subprocesses (``dagster dev``, ``dagster-daemon``) that need the variable.
"""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml
from dagster import DagsterInstance

from floe_config import PlatformSpec
from floe_definitions.errors import InstanceConfigError
from floe_definitions.instance.dagster_yaml import RenderedInstance, render_instance, written_by_floe
from floe_definitions.instance.deployment_checks import check_postgres_connection, missing_extras
from floe_definitions.project_files import dagster_home


def dagster_environment(base_dir: Path, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return a copy of the environment with ``DAGSTER_HOME`` defaulted (for Dagster subprocesses)."""
    env = dict(os.environ if environ is None else environ)
    home = dagster_home(base_dir, env)
    home.mkdir(parents=True, exist_ok=True)
    env["DAGSTER_HOME"] = os.fspath(home)
    return env


def instance_for(
    base_dir: Path,
    platform: PlatformSpec,
    environ: Mapping[str, str] | None = None,
    *,
    platform_file: Path | None = None,
    locate: Callable[[str], str] | None = None,
) -> RenderedInstance:
    """Render the project's instance for its ``DAGSTER_HOME`` (nothing is written).

    Raises:
        InstanceConfigError: The ``instance:`` section cannot be rendered.
    """
    home = dagster_home(base_dir, environ)
    return render_instance(platform, home, platform_file=platform_file, base_dir=base_dir, locate=locate)


def write_instance(rendered: RenderedInstance) -> Path:
    """Write ``rendered`` to ``DAGSTER_HOME/dagster.yaml`` under floe's one rule for an existing file.

    The rule: platform.yaml defines the instance. A ``dagster.yaml`` floe wrote is rewritten; a hand-written one
    is kept only when it says the same thing (same settings, whatever the formatting), and is an error otherwise,
    naming both files: floe never silently runs on an instance other than the one platform.yaml describes.

    Returns:
        The ``dagster.yaml`` path.

    Raises:
        InstanceConfigError: A hand-written ``dagster.yaml`` disagrees with platform.yaml.
    """
    path = rendered.path
    rendered.home.mkdir(parents=True, exist_ok=True)
    if path.is_file():
        existing = path.read_text(encoding="utf-8")
        if not written_by_floe(existing):
            try:
                current = yaml.safe_load(existing) or {}
            except yaml.YAMLError:
                current = None
            if current == dict(rendered.config):
                return path
            if isinstance(current, dict):
                keys = {*current, *rendered.config}
                differing = sorted(key for key in keys if current.get(key) != rendered.config.get(key))
            else:
                differing = ["(not a YAML mapping)"]
            raise InstanceConfigError(
                f"{path} was not written by floe and disagrees with the instance {rendered.source} describes "
                f"(differs at: {', '.join(differing)}); platform.yaml is the one definition of the instance: "
                f"move {path} away (floe then writes its own), or copy its settings into {rendered.source}'s "
                "'instance:' section, or point DAGSTER_HOME at another directory",
                location=rendered.source,
                key="instance",
            )
        if existing == rendered.text():
            return path
    path.write_text(rendered.text(), encoding="utf-8")
    return path


def open_instance(
    base_dir: Path,
    platform: PlatformSpec,
    environ: Mapping[str, str] | None = None,
    *,
    platform_file: Path | None = None,
    locate: Callable[[str], str] | None = None,
) -> DagsterInstance:
    """Open the project's Dagster instance: the ``dagster.yaml`` rendered from platform.yaml, in ``DAGSTER_HOME``.

    The file is written first (see :func:`write_instance` for a hand-written one), then opened with Dagster's
    public ``DagsterInstance.from_config``: exactly what ``dagster-webserver`` and ``dagster-daemon`` open.

    Raises:
        InstanceConfigError: The instance cannot be rendered, written or opened (Postgres URL variable unset,
            dagster-postgres missing, server unreachable: named by host and port, never with the password).
    """
    rendered = instance_for(base_dir, platform, environ, platform_file=platform_file, locate=locate)
    where = locate or (lambda _key: rendered.source)
    write_instance(rendered)
    url = None
    key = "instance.postgres_url_env" if platform.instance.postgres_url_env else "instance.postgres_url"
    if platform.instance.storage == "postgres":
        url = _postgres_url(platform, rendered, environ, where)
        for problem in missing_extras(platform, where):
            if problem.key == "instance.storage":
                raise problem
        # the driver's reason now, rather than Dagster's "too many retries" after 20 s of retrying
        check_postgres_connection(
            url, key=key, location=where(key), variable=platform.instance.postgres_url_env or None
        )
    try:
        return DagsterInstance.from_config(os.fspath(rendered.home))
    except Exception as exc:
        if url is None:
            raise
        parts = urllib.parse.urlsplit(url)
        raise InstanceConfigError(
            f"cannot open the Postgres instance at {parts.hostname}:{parts.port or 5432} "
            f"(database {parts.path.lstrip('/') or '?'}): {type(exc).__name__}: {_first_line(exc, url)}; "
            "check that the server runs and accepts connections from here",
            location=where(key),
            key=key,
        ) from None


def _postgres_url(
    platform: PlatformSpec, rendered: RenderedInstance, environ: Mapping[str, str] | None, where: Callable[[str], str]
) -> str:
    if platform.instance.postgres_url_env:
        name = platform.instance.postgres_url_env
        # Dagster reads {env: NAME} from the process environment, whatever ``environ`` says.
        url = os.environ.get(name)
        if not url:
            raise InstanceConfigError(
                f"environment variable {name} (the Postgres URL) is not set; export it, e.g. "
                f"{name}=postgresql+psycopg2://USER:PASSWORD@HOST:5432/DATABASE",
                location=where("instance.postgres_url_env"),
                key="instance.postgres_url_env",
            )
        return url
    assert platform.instance.postgres_url is not None  # render_instance checked it
    return platform.instance.postgres_url


def _first_line(exc: BaseException, url: str) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    password = urllib.parse.urlsplit(url).password
    return text.replace(password, "***") if password else text
