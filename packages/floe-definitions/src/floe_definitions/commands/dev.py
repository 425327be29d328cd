"""``floe dev [PATH] [--platform FILE] [--port N]``: Dagster's webserver and daemon on the project's instance.

``dagster dev`` runs underneath, on 127.0.0.1, with ``DAGSTER_HOME`` holding the ``dagster.yaml`` rendered from
platform.yaml and a ``workspace.yaml`` that loads :mod:`floe_definitions.code_location` for this floe.yaml. Ctrl-C
or SIGTERM stops it and everything it started (its process group). While it runs, ``DAGSTER_HOME/floe-dev.json``
says where it serves (:mod:`~floe_definitions.commands.dev_state`), for ``floe run`` to launch through it.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from floe_config import FloeSpec
from floe_config.integration import load_floe_document
from floe_definitions.commands.dev_state import SINGLETON_REPOSITORY, DevServer, remove_dev_state, write_dev_state
from floe_definitions.commands.instance import ProjectInstance, project_instance, write_workspace
from floe_definitions.commands.run import compute_logs_place, telemetry_places
from floe_definitions.errors import DevCommandError
from floe_definitions.instance.deployment_checks import require_storage
from floe_definitions.instance.home import write_instance
from floe_definitions.project_files import FLOE_CONFIG_ENV, find_floe_yaml
from floe_definitions.telemetry.lineage_client import lineage_namespace

HOST = "127.0.0.1"
DEFAULT_PORT = 3000
STOP_GRACE_SECONDS = 30.0


def register(commands: Any) -> None:
    """Add the ``dev`` subcommand to the ``floe`` parser's subcommands."""
    parser = commands.add_parser("dev", help="start Dagster's webserver and daemon on the project's instance")
    parser.add_argument("path", nargs="?", default=None, help="floe.yaml or its directory (default: FLOE_CONFIG, ./)")
    parser.add_argument("--platform", default=None, help="platform file (default: FLOE_PLATFORM_FILE / _ENV)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"webserver port (default {DEFAULT_PORT})")
    parser.set_defaults(handler=run_dev_command)


def dev_command(instance: ProjectInstance, floe_yaml: Path, location_name: str, port: int) -> list[str]:
    """Write the workspace file into ``DAGSTER_HOME`` and return the ``dagster dev`` command line."""
    workspace = write_workspace(instance.rendered.home, floe_yaml, location_name)
    return [sys.executable, "-m", "dagster", "dev", "-w", os.fspath(workspace), "-h", HOST, "-p", str(port)]


DEV_SUPERSEDED_WARNING_FILTER = "ignore:Function `dev_command` is superseded"


def dev_environment(instance: ProjectInstance, floe_yaml: Path) -> dict[str, str]:
    """Return the environment of ``dagster dev``: this one, plus the instance's home, floe.yaml and platform file."""
    env = dict(os.environ)
    env["DAGSTER_HOME"] = os.fspath(instance.rendered.home)
    env[FLOE_CONFIG_ENV] = os.fspath(floe_yaml)
    # `dagster dev` warns that `dg dev` supersedes it; floe chose it (dg needs a dg project), so the user cannot act
    # on that warning. Only this one message is silenced; the user's own PYTHONWARNINGS still apply to the rest.
    env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), DEV_SUPERSEDED_WARNING_FILTER]))
    if instance.platform_file is not None:
        env["FLOE_PLATFORM_FILE"] = os.fspath(instance.platform_file.resolve())
    return env


def run_dev_command(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``dagster dev`` in the foreground until it exits or this process is asked to stop."""
    floe_yaml = find_floe_yaml(args.path).resolve()
    spec = load_floe_document(floe_yaml).spec
    name = spec.name
    instance = project_instance(os.fspath(floe_yaml), args.platform)
    require_free_port(HOST, args.port)
    require_storage(instance.platform, instance.locate)
    write_instance(instance.rendered)
    command = dev_command(instance, floe_yaml, name, args.port)
    home = instance.rendered.home
    stopping: list[int] = []
    process: subprocess.Popen[bytes] | None = None

    def forward(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)
        if process is not None:
            _signal_group(process, signal.SIGINT)  # dagster dev shuts its services down on SIGINT

    # Installed before dagster dev starts: a handler is reset to the default in the child, whereas an inherited
    # "ignore" (floe dev started in the background by a shell without job control) would stay, and dagster dev
    # would never see the SIGINT forwarded to it.
    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    code: int | None = None
    try:
        process = subprocess.Popen(command, env=dev_environment(instance, floe_yaml), start_new_session=True)
        if stopping:
            _signal_group(process, signal.SIGINT)
        print(f"floe dev: Dagster UI at http://{HOST}:{args.port} (location {name!r})", file=out)
        print(f"floe dev: instance DAGSTER_HOME={instance.rendered.home} ({instance.rendered.source})", file=out)
        print("floe dev: Ctrl-C stops the webserver and the daemon", file=out, flush=True)
        write_dev_state(home, _dev_server(instance, spec, floe_yaml, args.port))
        while code is None and not stopping:
            try:
                code = process.wait(timeout=1.0)
            except subprocess.TimeoutExpired:
                continue
        if code is None:
            try:
                code = process.wait(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                print("floe dev: dagster dev did not stop in time; killing it", file=sys.stderr)
                _signal_group(process, signal.SIGKILL)
                code = process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if process is not None:
            _signal_group(process, signal.SIGKILL)  # whatever is left of the group (code server, run workers)
        remove_dev_state(home, os.getpid())
    if stopping:
        print("floe dev: stopped", file=out)
        return 0
    print(f"floe dev: dagster dev exited with {code}", file=sys.stderr)
    return 1 if code else 0


def _dev_server(instance: ProjectInstance, spec: FloeSpec, floe_yaml: Path, port: int) -> DevServer:
    """Describe this ``floe dev`` for ``floe run`` (which launches its runs through it)."""
    compute_logs = instance.rendered.config.get("compute_logs", {}).get("config", {}).get("base_dir")
    return DevServer(
        pid=os.getpid(),
        url=f"http://{HOST}:{port}",
        floe_yaml=os.fspath(floe_yaml),
        platform_file=os.fspath(instance.platform_file.resolve()) if instance.platform_file is not None else None,
        location=spec.name,
        repository=SINGLETON_REPOSITORY,
        places=telemetry_places(
            spec,
            instance.platform,
            instance.base_dir,
            lineage_namespace=lineage_namespace(instance.platform),
            compute_logs=compute_logs_place(compute_logs),
        ),
    )


def require_free_port(host: str, port: int) -> None:
    """Raise when ``host:port`` cannot be bound, before anything starts.

    ``dagster dev`` starts the daemon whatever happens to the webserver: a webserver that cannot bind logs the error
    and keeps running without serving, and the daemon's schedules and sensors tick on behind a URL that another
    program answers. The probe binds as uvicorn does (``SO_REUSEADDR``), so a port left in TIME_WAIT counts as free.

    Raises:
        DevCommandError: The port is in use (or cannot be bound), keyed on ``--port``.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = (
                "is already in use by another program"
                if exc.errno == errno.EADDRINUSE
                else f"cannot be bound ({exc.strerror})"
            )
            raise DevCommandError(
                f"{host}:{port} {reason}; stop that program or pass a free port (--port N)", key="--port"
            ) from exc


def _signal_group(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass
