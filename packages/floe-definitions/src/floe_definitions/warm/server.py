"""The warm process: one per code location and instance, started by floe's ``WarmRunLauncher``.

``python -m floe_definitions.warm.server --socket PATH --origin JSON --parent PID`` binds a Unix socket first (so
launchers can queue runs while it loads), imports Dagster, dagster-dbt, dbt, the OpenTelemetry SDK, the OpenLineage
client and floe, and builds the code location's definitions once. Each launch request (one JSON line: run id,
instance ref, the code location's server id) is served by ``os.fork``: the child is the run's own process and runs
Dagster's run worker on the definitions already built. Before each fork the project's fingerprint
(:mod:`~floe_definitions.warm.fingerprint`) and the code server's id are compared with the load's; a change loads
the definitions again. Each load also starts one step server (Dagster's multiprocess executor's fork server, with
the project built in it: :func:`~floe_definitions.execution.warm_steps.prime_step_server`) that every run forked
from this load adopts, so a run's first step forks at once. A load that fails is kept as failed: forked runs then
load for themselves, so each fails with floe's located error in its event log, and the process keeps serving. It
exits when the process that started it has gone and no run of its own is left; a run's process dies with it
(``PR_SET_PDEATHSIG``), so run monitoring fails that run, and the next launch starts a new warm process.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import select
import signal
import socket
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

POLL_SECONDS = 0.5
READ_TIMEOUT_SECONDS = 10.0
PRELOADED = (
    "dagster",
    "dagster_dbt",
    "dbt.cli.main",
    "dbt.adapters.factory",
    "opentelemetry.sdk.trace",
    "openlineage.client",
    "floe_definitions",
)
"""Imported before the first load, so they stay imported across reloads (a reload drops project modules only)."""


def main(argv: list[str] | None = None) -> int:
    """Serve launch requests until the starting process has gone and no run is left."""
    parser = argparse.ArgumentParser(prog="python -m floe_definitions.warm.server")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--origin", required=True, help="serialized RepositoryPythonOrigin of the code location")
    parser.add_argument("--parent", type=int, required=True, help="pid of the starting process")
    parser.add_argument("--instance-dir", default=None, help="the instance's directory (its dagster.yaml)")
    args = parser.parse_args(argv)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        os.unlink(args.socket)
    except FileNotFoundError:
        pass
    listener.bind(args.socket)
    listener.listen(64)
    me = os.getpid()
    try:
        warm = WarmDefinitions(args.origin, args.instance_dir)
        warm.refresh(None)
        _serve(listener, warm, args.parent)
    except KeyboardInterrupt:
        pass
    finally:
        if os.getpid() == me:
            listener.close()
            try:
                os.unlink(args.socket)
            except FileNotFoundError:
                pass
    return 0


class WarmDefinitions:
    """The code location's definitions, loaded in this process and loaded again when their files change."""

    def __init__(self, origin_json: str, instance_dir: str | None = None) -> None:
        _import_all(PRELOADED)
        from floe_definitions import _compat
        from floe_definitions.execution.warm_steps import forks_runs

        forks_runs()
        # The instance's storage and launcher classes: every run opens the instance, every step too
        self.instance_modules = _instance_modules(instance_dir)
        _import_all(self.instance_modules)

        self.pointer = _compat.repository_pointer(origin_json)
        self.cache = _compat.RepositoryCache()
        self.cache.install()
        self.fingerprint: Any = None
        self.files: Any = None
        self.generations: set[str] = set()
        self.project_modules: list[str] = []
        self.failed = True
        self.loads = 0
        self.retired_step_servers: set[int] = set()
        """Step servers of earlier loads, left to the runs still using them; reaped when they exit."""

    def refresh(self, generation: str | None) -> None:
        """Load the definitions again if never loaded, failed, changed on disk or reloaded by the code server."""
        # The first id seen is the code server the warm process was started for: its load is this one.
        new_generation = generation is not None and bool(self.generations) and generation not in self.generations
        if generation is not None:
            self.generations.add(generation)
        if not self.failed and not new_generation and self.files is not None:
            if self.files.fingerprint() == self.fingerprint:
                if self._step_server_exited():
                    self._prime_step_server()
                return
        self._load()
        self._prime_step_server()

    def _prime_step_server(self) -> None:
        from floe_definitions.execution import warm_steps

        try:
            replaced = warm_steps.prime_step_server(self.instance_modules)
        except Exception:  # the forked runs start their own step servers, as cold runs do
            print(f"floe warm process: starting the step server failed:\n{traceback.format_exc()}", file=sys.stderr)
            return
        if replaced is not None:
            self.retired_step_servers.add(replaced)

    def _step_server_exited(self) -> bool:
        from floe_definitions.execution import warm_steps

        pid = warm_steps.step_server_pid()
        if pid is None:
            return False
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return True
        return bool(done)

    def _load(self) -> None:
        from floe_definitions.execution import warm_steps
        from floe_definitions.warm.fingerprint import project_files

        warm_steps.clear_step_server_request()

        for name in self.project_modules:
            sys.modules.pop(name, None)
        before = set(sys.modules)
        self.loads += 1
        try:
            self.cache.load(self.pointer)
            self.failed = False
        except Exception:
            self.failed = True
            print(f"floe warm process: loading the definitions failed:\n{traceback.format_exc()}", file=sys.stderr)
        added = [name for name in set(sys.modules) - before if _is_project_module(sys.modules.get(name))]
        files = [getattr(sys.modules.get(name), "__file__", None) for name in added]
        self.project_modules = added
        if self.failed:  # half-imported modules stay out of the forked runs, which load (and fail) for themselves
            for name in added:
                sys.modules.pop(name, None)
        working_directory = getattr(self.pointer, "working_directory", None)
        self.files = project_files(os.environ, working_directory, [file for file in files if file])
        self.fingerprint = self.files.fingerprint()
        if self.failed:
            self.cache.definition = None


def _import_all(modules: Sequence[str]) -> None:
    """Import ``modules`` for the forks to inherit, skipping (DEBUG) one this environment lacks (dbt, say)."""
    import importlib

    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            logging.getLogger(__name__).debug("floe warm process: cannot preload %s", module, exc_info=True)


def _instance_modules(instance_dir: str | None) -> list[str]:
    """Return the modules of an instance's classes, for the forks to inherit imported.

    Dagster's default storages, and each ``module:`` the instance's ``dagster.yaml`` names (storages, run launcher,
    coordinator, compute logs); the defaults alone without one.
    """
    import yaml

    from floe_definitions._compat import DEFAULT_INSTANCE_MODULES
    from floe_definitions.instance.dagster_yaml import DAGSTER_YAML

    modules = list(DEFAULT_INSTANCE_MODULES)
    try:
        config = yaml.safe_load((Path(instance_dir) / DAGSTER_YAML).read_text()) if instance_dir else None
    except (OSError, yaml.YAMLError):
        config = None
    pending: list[Any] = [config]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            if isinstance(value.get("module"), str):
                modules.append(value["module"])
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return list(dict.fromkeys(modules))


def _is_project_module(module: Any) -> bool:
    """A module of the project (not of an installed library): its file lies outside every ``site-packages``."""
    file = getattr(module, "__file__", None)
    if not file:
        return False
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix}
    return "site-packages" not in file and not any(file.startswith(prefix + os.sep) for prefix in prefixes)


def _serve(listener: socket.socket, warm: WarmDefinitions, parent: int) -> None:
    children: set[int] = set()
    while True:
        _reap(children)
        _reap(warm.retired_step_servers)
        if os.getppid() != parent and not children:
            return
        ready, _, _ = select.select([listener], [], [], POLL_SECONDS)
        if not ready:
            continue
        connection, _ = listener.accept()
        try:
            request = _read_request(connection)
        except (OSError, ValueError) as exc:
            print(f"floe warm process: unreadable launch request: {exc}", file=sys.stderr)
            connection.close()
            continue
        warm.refresh(request.get("generation"))
        pid = os.fork()
        if pid == 0:
            listener.close()
            _run_child(connection, request)  # never returns
        try:
            connection.sendall(json.dumps({"pid": pid}).encode() + b"\n")
        except OSError:
            pass  # the launcher did not wait for the answer
        connection.close()
        children.add(pid)


def _read_request(connection: socket.socket) -> dict[str, Any]:
    connection.settimeout(READ_TIMEOUT_SECONDS)
    data = b""
    while not data.endswith(b"\n"):
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    request = json.loads(data)
    if not isinstance(request, dict) or "run_id" not in request or "instance_ref" not in request:
        raise ValueError("expected a JSON object with run_id and instance_ref")
    return request


def _run_child(connection: socket.socket, request: dict[str, Any]) -> None:
    """Be the run's process: die with the warm process, run Dagster's run worker, exit without unwinding the loop."""
    import atexit

    code = 1
    try:
        connection.close()
        _die_with_parent()
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        from floe_definitions import _compat
        from floe_definitions.execution.warm_steps import adopt_step_server

        adopt_step_server()  # the load's step server, if any: this run forks its steps from it
        from floe_definitions.warm.launcher import HOST_TAG, PID_TAG, STARTED_TAG, process_stat

        stat = process_stat(os.getpid())
        tags = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname(), STARTED_TAG: stat[1] if stat else ""}
        code = _compat.execute_run_worker(request["instance_ref"], request["run_id"], tags)
    except BaseException:
        traceback.print_exc()
    finally:
        try:
            atexit._run_exitfuncs()  # the exit handlers a cold run worker runs (floe's bounded span flush)
        finally:
            os._exit(code)


def _die_with_parent() -> None:
    """Ask Linux to kill this process when the warm process dies (elsewhere: the run outlives it)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:  # the warm process died before prctl took effect
        os._exit(1)


def _reap(children: set[int]) -> None:
    for pid in list(children):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            children.discard(pid)


if __name__ == "__main__":
    sys.exit(main())
