"""What a platform file needs of the machine floe runs on, checked before anything starts.

The optional extras its instance storage and executor need (dagster-postgres; dagster-celery and, for a Redis
broker, the Redis client; dagster-k8s), each missing one named with the install command for the environment floe
runs in (a uv project, a uv venv, or pip); and, on request, a connection to its PostgreSQL storage and its Celery
broker, failing with the driver's own reason at the platform file's ``file:line: key``.
"""

from __future__ import annotations

import importlib
import json
import os
import shlex
import sys
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from floe_config import PlatformSpec
from floe_config.integration import CeleryExecutor, K8sExecutor
from floe_definitions.errors import ExecutorConfigError, InstanceConfigError, LocatedError
from floe_definitions.instance.dagster_yaml import mask_url

DISTRIBUTION = "floe-definitions"
CONNECT_TIMEOUT_SECONDS = 10
REDIS_SCHEMES = ("redis", "rediss", "sentinel")

Locate = Callable[[str], str]


@dataclass(frozen=True)
class Requirement:
    """One import a platform setting needs, and the extra of floe-definitions that installs it.

    Attributes:
        module: The module imported at run time.
        extra: The extra of floe-definitions that installs it.
        key: The platform key that asks for it.
        needed_by: What needs it, for the message (``storage 'postgres'``).
    """

    module: str
    extra: str
    key: str
    needed_by: str


def requirements(platform: PlatformSpec) -> list[Requirement]:
    """The imports ``platform`` needs beyond floe-definitions' own dependencies."""
    needed = []
    if platform.instance.storage == "postgres":
        needed.append(Requirement("dagster_postgres", "postgres", "instance.storage", "storage 'postgres'"))
    executor = platform.execution.executor
    if isinstance(executor, CeleryExecutor):
        needed.append(Requirement("dagster_celery", "celery", "execution.executor.type", "the 'celery' executor"))
        for key, url in (("broker", executor.broker), ("backend", executor.backend)):
            if url and urllib.parse.urlsplit(url).scheme in REDIS_SCHEMES:
                needed.append(
                    Requirement("redis", "celery", f"execution.executor.{key}", f"the Redis {key} {mask_url(url)}")
                )
                break
    elif isinstance(executor, K8sExecutor):
        needed.append(Requirement("dagster_k8s", "k8s", "execution.executor.type", "the 'k8s' executor"))
    return needed


def missing_extras(platform: PlatformSpec, locate: Locate) -> list[LocatedError]:
    """One located error per import ``platform`` needs that fails here, with the command that installs it."""
    problems: list[LocatedError] = []
    for requirement in requirements(platform):
        try:
            importlib.import_module(requirement.module)
        except ImportError as exc:
            error_type = InstanceConfigError if requirement.key.startswith("instance.") else ExecutorConfigError
            problems.append(
                error_type(
                    f"{requirement.needed_by} needs {requirement.module}, which is not importable here ({exc}); "
                    f"install the extra: {install_command(requirement.extra)}",
                    location=locate(requirement.key),
                    key=requirement.key,
                )
            )
    return problems


def require_extras(platform: PlatformSpec, locate: Locate) -> None:
    """Raise the first missing extra's error (see :func:`missing_extras`)."""
    problems = missing_extras(platform, locate)
    if problems:
        raise problems[0]


def install_command(extra: str) -> str:
    """The command that installs ``floe-definitions[extra]`` into the environment this interpreter runs in.

    A uv project (``pyvenv.cfg`` written by uv, a ``pyproject.toml`` beside the venv) gets ``uv sync --extra`` when
    floe-definitions is one of its workspace members (``--all-packages``: the extra is a member's), else
    ``uv add``; a uv venv outside a project gets ``uv pip install --python``; anything else, this interpreter's pip.
    """
    requirement = shlex.quote(f"{DISTRIBUTION}[{extra}]")
    prefix = Path(sys.prefix)
    if _made_by_uv(prefix):
        project = prefix.parent
        if (project / "pyproject.toml").is_file():
            if _installed_from_within(project):
                return f"uv sync --all-packages --extra {extra} (in {project}; later syncs need --extra {extra} too)"
            return f"uv add {requirement} (in {project})"
        return f"uv pip install --python {shlex.quote(sys.executable)} {requirement}"
    return f"{shlex.quote(sys.executable)} -m pip install {requirement}"


def _made_by_uv(prefix: Path) -> bool:
    """Whether the running environment is a venv uv created (uv writes ``uv = VERSION`` into ``pyvenv.cfg``)."""
    try:
        config = (prefix / "pyvenv.cfg").read_text(encoding="utf-8")
    except OSError:
        return False
    return any(line.split("=", 1)[0].strip() == "uv" for line in config.splitlines() if "=" in line)


def _installed_from_within(project: Path) -> bool:
    """Whether floe-definitions is installed from a directory inside ``project`` (a workspace member)."""
    try:
        direct_url = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return False
    if not direct_url:
        return False
    url = str(json.loads(direct_url).get("url", ""))
    if not url.startswith("file://"):
        return False
    source = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).resolve()
    return source.is_relative_to(project.resolve())


def postgres_url(platform: PlatformSpec, environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """The instance's PostgreSQL URL and the platform key it comes from; ``None`` when unset or not Postgres."""
    settings = platform.instance
    if settings.storage != "postgres":
        return None
    if settings.postgres_url_env:
        url = (os.environ if environ is None else environ).get(settings.postgres_url_env)
        return (url, "instance.postgres_url_env") if url else None
    return (settings.postgres_url, "instance.postgres_url") if settings.postgres_url else None


def check_postgres_connection(url: str, *, key: str, location: str, variable: str | None = None) -> None:
    """Connect once to the instance's PostgreSQL with the driver Dagster uses, and say why it fails.

    Dagster retries a failed connection for 20 s and then reports "too many retries"; the driver's own reason
    (wrong password, unknown database, refused) is what the user acts on.

    Args:
        url: The SQLAlchemy URL, as Dagster receives it.
        key: The platform key the URL comes from.
        location: That key's ``file:line:column``.
        variable: The environment variable holding the URL, when it comes from one.

    Raises:
        InstanceConfigError: The connection fails; the message names host, port, database and user, never the
            password.
    """
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    parts = urllib.parse.urlsplit(url)
    where = (
        f"PostgreSQL at {parts.hostname}:{parts.port or 5432} (database {parts.path.lstrip('/') or '?'}, "
        f"user {parts.username or '?'})"
    )
    try:
        engine = sqlalchemy.create_engine(
            url, poolclass=NullPool, connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        )
        try:
            with engine.connect():
                pass
        finally:
            engine.dispose()
    except Exception as exc:
        reason = driver_reason(exc, url)
        raise InstanceConfigError(
            f"cannot connect to {where}: {reason}; {_postgres_remedy(reason, variable)}", location=location, key=key
        ) from None


def driver_reason(exc: BaseException, url: str) -> str:
    """The driver's own message for a failed connection, on one line, with the URL's password masked."""
    original = getattr(exc, "orig", None) or exc  # SQLAlchemy's wrapper holds the driver's exception
    text = " ".join(str(original).split()) or type(original).__name__
    password = urllib.parse.urlsplit(url).password
    return text.replace(password, "***") if password else text


def _postgres_remedy(reason: str, variable: str | None) -> str:
    source = f"the URL in {variable}" if variable else "instance.postgres_url"
    lowered = reason.lower()
    if "password" in lowered or "authentication" in lowered:
        return f"fix the user or password in {source}"
    if "database" in lowered and "does not exist" in lowered:
        return f"create that database on the server, or fix the database name in {source}"
    if "no module named" in lowered:
        return f"install the driver the URL names, or name an installed one in {source} (postgresql+psycopg2://)"
    return f"start the server, or fix the host and port in {source}"


def require_storage(platform: PlatformSpec, locate: Locate, environ: Mapping[str, str] | None = None) -> None:
    """Raise when the instance storage cannot be opened: its extra missing, its URL unset, or no connection.

    ``floe dev`` calls it before starting Dagster's webserver and daemon, which otherwise each die with a
    traceback of their own.

    Raises:
        LocatedError: The first problem, at the platform file's key.
    """
    problems = [
        problem
        for problem in check_deployment(platform, locate, connect=True, environ=environ, broker=False)
        if (problem.key or "").startswith("instance.")
    ]
    if problems:
        raise problems[0]


def check_broker_connection(platform: PlatformSpec, locate: Locate) -> None:
    """Connect once to the Celery broker (kombu, as Celery does); raise the located reason when it fails.

    Raises:
        ExecutorConfigError: The broker is unreachable or refuses the credentials.
    """
    from floe_definitions.execution.celery_broker import check_celery_broker

    executor = platform.execution.executor
    if not isinstance(executor, CeleryExecutor):
        return
    broker = executor.broker or "pyamqp://guest@localhost//"  # dagster-celery's default broker
    try:
        check_celery_broker(broker)
    except ExecutorConfigError as exc:
        key = exc.key or "execution.executor.broker"
        raise ExecutorConfigError(exc.message, location=locate(key), key=key) from None


def check_deployment(
    platform: PlatformSpec,
    locate: Locate,
    *,
    connect: bool,
    environ: Mapping[str, str] | None = None,
    broker: bool = True,
) -> list[LocatedError]:
    """Every missing extra, and with ``connect`` each connection that fails (storage, broker), located.

    A connection is only tried when the extras it needs are installed; ``broker=False`` leaves the broker out.
    """
    problems = missing_extras(platform, locate)
    if not connect:
        return problems
    missing = {problem.key for problem in problems}
    found = postgres_url(platform, environ)
    variable = platform.instance.postgres_url_env
    if platform.instance.storage == "postgres" and found is None and variable:
        problems.append(
            InstanceConfigError(
                f"environment variable {variable} (the Postgres URL) is not set; export it, e.g. "
                f"{variable}=postgresql+psycopg2://USER:PASSWORD@HOST:5432/DATABASE",
                location=locate("instance.postgres_url_env"),
                key="instance.postgres_url_env",
            )
        )
    if found is not None and "instance.storage" not in missing:
        url, key = found
        try:
            check_postgres_connection(
                url, key=key, location=locate(key), variable=platform.instance.postgres_url_env or None
            )
        except InstanceConfigError as exc:
            problems.append(exc)
    if (
        broker
        and isinstance(platform.execution.executor, CeleryExecutor)
        and not missing
        & {
            "execution.executor.type",
            "execution.executor.broker",
            "execution.executor.backend",
        }
    ):
        try:
            check_broker_connection(platform, locate)
        except ExecutorConfigError as exc:
            problems.append(exc)
    return problems
