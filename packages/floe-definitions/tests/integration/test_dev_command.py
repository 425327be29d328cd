"""``floe dev``: starts Dagster's webserver and daemon on 127.0.0.1, serves the project's location, stops cleanly."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from floe_test_support.http_endpoints import free_port

FLOE = str(Path(sys.executable).with_name("floe"))
STARTUP_TIMEOUT_SECONDS = 300


def _graphql(port: int, query: str) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.load(response)["data"])


LOCATIONS = (
    "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus locationOrLoadError { __typename "
    "... on RepositoryLocation { repositories { name jobs { name } } } ... on PythonError { message } } } } } }"
)


def _loaded_location(port: int, process: subprocess.Popen[str]) -> dict[str, Any] | None:
    if process.poll() is not None:
        pytest.fail(f"floe dev exited with {process.returncode}")
    try:
        entries = _graphql(port, LOCATIONS)["workspaceOrError"]["locationEntries"]
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, KeyError):
        return None
    for entry in entries:
        if entry["loadStatus"] == "LOADED":
            return dict(entry)
    return None


def _processes_with(marker: str) -> list[int]:
    """Pids of live processes whose environment mentions ``marker`` (the test's private DAGSTER_HOME)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if marker.encode() in (proc / "environ").read_bytes():
                status = (proc / "status").read_text()
                if "\nState:\tZ" not in status:
                    found.append(int(proc.name))
    return found


@pytest.mark.parametrize(
    ("stop_signal", "sigint_ignored"),
    [(signal.SIGTERM, False), (signal.SIGINT, False), (signal.SIGTERM, True)],
    ids=["SIGTERM", "SIGINT", "SIGTERM_started_with_SIGINT_ignored"],
)
def test_floe_dev_serves_the_location_on_127_0_0_1_and_stops_cleanly(
    tmp_path_factory: pytest.TempPathFactory, copy_project: Any, stop_signal: signal.Signals, sigint_ignored: bool
) -> None:
    # sigint_ignored: floe dev started as a background job of a shell without job control (a script's `&`), which
    # inherits SIGINT ignored; dagster dev must still get the SIGINT floe dev forwards to it.
    label = f"{stop_signal.name}{'_ignored' if sigint_ignored else ''}"
    copy = copy_project(tmp_path_factory.mktemp(f"dev_{label}"), package=f"dev_{label}_assets")
    home = copy.root / ".floe" / "dagster"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOE_", "DAGSTER_", "OTEL_", "OPENLINEAGE"))
    }
    env.update({**copy.env, "PYTHONUNBUFFERED": "1"})
    port = free_port()
    log = (copy.root / "floe-dev.log").open("w")
    process = subprocess.Popen(
        [FLOE, "dev", str(copy.root), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None,
    )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        entry = None
        while entry is None and time.monotonic() < deadline:
            entry = _loaded_location(port, process)
            if entry is None:
                time.sleep(2)
        assert entry is not None, (copy.root / "floe-dev.log").read_text()[-3000:]
        assert entry["name"] == "tiny"
        (repository,) = entry["locationOrLoadError"]["repositories"]
        assert {"everything", "transform"} <= {job["name"] for job in repository["jobs"]}
        printed = (copy.root / "floe-dev.log").read_text()
        assert f"Dagster UI at http://127.0.0.1:{port}" in printed
        assert "SupersessionWarning" not in printed  # `dagster dev` is floe's choice: its `dg dev` hint is noise
        assert (home / "dagster.yaml").read_text().startswith("# Rendered by floe from")
        assert _processes_with(str(home))  # webserver, daemon, code server: all on this DAGSTER_HOME
        state = json.loads((home / "floe-dev.json").read_text())  # where floe run finds this floe dev
        assert (state["pid"], state["url"]) == (process.pid, f"http://127.0.0.1:{port}")
        assert state["floe_yaml"] == str(copy.floe_yaml.resolve())
        process.send_signal(stop_signal)
        assert process.wait(timeout=120) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        log.close()
    printed = (copy.root / "floe-dev.log").read_text()
    assert "floe dev: stopped" in printed
    assert "did not stop in time" not in printed  # dagster dev stopped on the SIGINT, not killed after the grace
    assert not (home / "floe-dev.json").exists()
    deadline = time.monotonic() + 30  # SIGKILLed children vanish asynchronously
    while _processes_with(str(home)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _processes_with(str(home)) == []
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more


def test_floe_dev_on_a_port_in_use_exits_1_with_one_located_line_and_starts_nothing(
    tmp_path_factory: pytest.TempPathFactory, copy_project: Any
) -> None:
    copy = copy_project(tmp_path_factory.mktemp("dev_port_taken"), package="dev_port_taken_assets")
    home = copy.root / ".floe" / "dagster"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOE_", "DAGSTER_", "OTEL_", "OPENLINEAGE"))
    }
    env.update({**copy.env, "PYTHONUNBUFFERED": "1"})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        process = subprocess.Popen(
            [FLOE, "dev", str(copy.root), "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=120)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # on today's code: the daemon it started, still ticking
        finished = subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)

        assert finished.returncode == 1, finished.stdout + finished.stderr
        assert finished.stderr.splitlines() == [
            f"error: --port: 127.0.0.1:{port} is already in use by another program; stop that program or pass a "
            "free port (--port N)"
        ]
        assert "Dagster UI at" not in finished.stdout
        assert _processes_with(str(home)) == []  # no daemon, no webserver, no code server was left running
