"""The latency benchmark's launched sides: runs started by a run launcher, as the webserver and the daemon start them.

``python bench/launched_runs_driver.py PROJECT_DIR BASE_DIR LOCATION --result-fd FD [--postgres-url URL]`` (started by
latency.py with the case's environment, ``FLOE_CONFIG`` and ``FLOE_PLATFORM_FILE`` included) serves the project from one
code server and opens a warm and a cold instance under ``BASE_DIR`` (floe-test-support's ``launched_runs``: the
``dagster.yaml`` floe renders, with its ``WarmRunLauncher``; Dagster's default launcher and storage), on SQLite, or on
fresh databases of the PostgreSQL server ``--postgres-url`` names. It writes ``{"ready": ...}`` to ``FD`` once the code
server has loaded, then answers each JSON line on stdin with one JSON line on ``FD``:

- ``{"launcher": "warm" | "cold", "job": J, "tags": {...}}``: create a run of ``J`` (timed apart: ``create_s``, the run
  and its planned events stored, as the webserver stores them before it launches) and launch it through that instance's
  launcher; answer ``first_step_s`` and ``run_s`` (from the ``launch_run`` call to the run's first ``STEP_START`` and to
  its end: the events' own timestamps) and ``status``; then wait, untimed, for the run's process to exit.
- ``{"memory_runs": N, "job": J, "tags": {...}}``: launch N warm runs one after another; answer the warm process's RSS
  (``/proc/PID/status`` VmRSS) before them and after every 10th.

Results go to their own file descriptor because the warm process and the runs write their output to this process's
stdout, as they write to ``floe dev``'s terminal.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from dagster import DagsterEventType, DagsterInstance

from floe_test_support.launched_runs import LaunchedRuns, launched_runs, wait_finished

POLL_SECONDS = 0.2  # the figures are event timestamps; polling only notices the end
RUN_TIMEOUT_SECONDS = 1800.0
ENDED = {DagsterEventType.RUN_SUCCESS, DagsterEventType.RUN_FAILURE, DagsterEventType.RUN_CANCELED}


def timed_launch(runs: LaunchedRuns, instance: DagsterInstance, job: str, tags: dict[str, str]) -> dict[str, Any]:
    """Launch a run and time it from ``launch_run`` to its first ``STEP_START`` and to its end (event timestamps)."""
    creating = time.monotonic()
    run, request_context = runs.create(instance, job, tags)
    create_s = time.monotonic() - creating
    started = time.time()  # the clock of the event log's timestamps
    instance.launch_run(run.run_id, request_context)
    first_step = None
    wanted = {DagsterEventType.STEP_START, *ENDED}
    deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        events = [r for r in instance.all_logs(run.run_id, of_type=wanted) if r.dagster_event is not None]
        if first_step is None:
            starts = [r.timestamp for r in events if r.dagster_event_type == DagsterEventType.STEP_START]
            first_step = starts[0] if starts else None
        end = next((r for r in events if r.dagster_event_type in ENDED), None)
        if end is not None:
            status = end.dagster_event_type.value if end.dagster_event_type is not None else "?"
            wait_finished(instance, run.run_id, RUN_TIMEOUT_SECONDS)
            return {
                "run_id": run.run_id,
                "create_s": create_s,
                "first_step_s": None if first_step is None else first_step - started,
                "run_s": end.timestamp - started,
                "status": status.removeprefix("PIPELINE_").removeprefix("RUN_"),
            }
        time.sleep(POLL_SECONDS)
    return {"run_id": run.run_id, "create_s": create_s, "first_step_s": None, "run_s": None, "status": "TIMEOUT"}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def memory_runs(runs: LaunchedRuns, count: int, job: str, tags: dict[str, str]) -> dict[str, Any]:
    """Launch ``count`` warm runs one after another; the warm process's RSS before them and after every 10th."""
    pids = runs.warm_server_pids()
    if len(pids) != 1:
        return {"error": f"expected one warm process, found {sorted(pids)}"}
    (pid,) = pids
    rss = [(0, rss_mib(pid))]
    statuses: dict[str, int] = {}
    for number in range(1, count + 1):
        status = timed_launch(runs, runs.warm, job, tags)["status"]
        statuses[status] = statuses.get(status, 0) + 1
        if number % 10 == 0 or number == count:
            rss.append((number, rss_mib(pid)))
    return {"pid": pid, "rss_mib": rss, "statuses": statuses}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("project_dir", type=Path)
    parser.add_argument("base_dir", type=Path)
    parser.add_argument("location")
    parser.add_argument("--result-fd", type=int, required=True)
    parser.add_argument("--postgres-url", help="a PostgreSQL server's URL: the instances store there, not in SQLite")
    args = parser.parse_args()
    with os.fdopen(args.result_fd, "w", buffering=1) as results:
        started = time.monotonic()
        with launched_runs(
            args.base_dir, args.project_dir, args.location, postgres_url=args.postgres_url, rendered=True
        ) as runs:
            results.write(json.dumps({"ready": time.monotonic() - started}) + "\n")
            for line in sys.stdin:
                request = json.loads(line)
                tags = request.get("tags") or {}
                if "memory_runs" in request:
                    answer = memory_runs(runs, int(request["memory_runs"]), request["job"], tags)
                else:
                    instance = runs.warm if request["launcher"] == "warm" else runs.cold
                    answer = timed_launch(runs, instance, request["job"], tags)
                results.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
