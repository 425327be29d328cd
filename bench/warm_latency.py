"""Warm vs cold run starts through a run launcher, as the webserver and the daemon launch runs (issue 22).

``.venv/bin/python bench/warm_latency.py [--repeat 3] [--jobs seed_bronze,transform] [--memory-runs 0]
[--executor multiprocess|in_process]``

One code server (a subprocess, as ``floe dev`` runs it) serves a copy of demo/ (the executor given, telemetry to
files). Two SQLite instances share it: one whose ``dagster.yaml`` names floe's ``WarmRunLauncher``, one with
Dagster's default launcher (a run worker started by the code server with ``spawn``). Runs are created from the code
server's snapshots and launched by the instance, alternating cold and warm; each figure is timed from the
``launch_run`` call to the run's first ``STEP_START`` and to ``RUN_SUCCESS`` (event log polled every 20 ms). The
warm process's first load is reported apart (it is paid once per code location and change). ``--memory-runs N``
then launches N more warm runs of the first job one after another and prints the warm process's RSS.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dagster import DagsterEventType, DagsterInstance

from floe_test_support.dagster_internals import ModuleTarget, WorkspaceProcessContext

SOCKET_TAG = "floe/warm_socket"
"""The run tag naming the warm process's socket (its pid file sits beside it)."""

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench" / ".work" / "warm"
TELEMETRY = "tracing: {type: file, path: .floe/traces}\nlineage:\n  transport: {type: file, path: .floe/lineage}\n"
LAUNCHER = "run_launcher: {module: floe_definitions.warm.launcher, class: WarmRunLauncher, config: {}}\n"


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", default="seed_bronze,transform")
    parser.add_argument("--memory-runs", type=int, default=0)
    parser.add_argument("--executor", default="multiprocess", choices=["multiprocess", "in_process"])
    args = parser.parse_args()
    if WORK.exists():
        shutil.rmtree(WORK)
    project = WORK / "demo"
    shutil.copytree(
        REPO / "demo", project, ignore=shutil.ignore_patterns(".floe", "target", "logs", "__pycache__", "tests")
    )
    (project / ".floe").mkdir()
    (project / "platform.yaml").write_text(TELEMETRY + f"execution:\n  executor: {{type: {args.executor}}}\n")
    os.environ.update(
        FLOE_CONFIG=str(project / "floe.yaml"),
        FLOE_PLATFORM_FILE=str(project / "platform.yaml"),
        FLOE_DEMO_WAREHOUSE=str(project / ".floe" / "warehouse.duckdb"),
    )
    instances = {}
    for side, extra in (("cold", ""), ("warm", LAUNCHER)):
        home = WORK / f"{side}_home"
        home.mkdir()
        (home / "dagster.yaml").write_text(
            "telemetry: {enabled: false}\ncode_servers: {local_startup_timeout: 600}\n" + extra
        )
        instances[side] = DagsterInstance.from_config(str(home))
    partition = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    target = ModuleTarget(
        module_name="floe_definitions.code_location",
        attribute="defs",
        working_directory=str(project),
        location_name="shop",
    )
    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with WorkspaceProcessContext(instances["warm"], target) as context:

        def launch(side: str, job: str) -> tuple[float, float, str]:
            instance = instances[side]
            request = context.create_request_context()
            location = request.get_code_location("shop")
            remote_job = location.get_repository("__repository__").get_full_job(job)
            tags = {"dagster/partition": partition} if job == "seed_bronze" else {}
            plan = location.get_execution_plan(
                remote_job, {}, step_keys_to_execute=None, known_state=None, instance=instance
            )
            run = instance.create_run(
                job_name=job,
                run_id=None,
                run_config={},
                status=None,
                tags=tags,
                root_run_id=None,
                parent_run_id=None,
                step_keys_to_execute=None,
                execution_plan_snapshot=plan.execution_plan_snapshot,
                job_snapshot=remote_job.job_snapshot,
                parent_job_snapshot=remote_job.parent_job_snapshot,
                remote_job_origin=remote_job.get_remote_origin(),
                job_code_origin=remote_job.get_python_origin(),
                asset_selection=None,
                asset_check_selection=None,
                op_selection=None,
                resolved_op_selection=None,
                asset_graph=request.asset_graph,
            )
            started = time.monotonic()
            instance.launch_run(run.run_id, request)
            first_step = None
            while True:
                records = instance.all_logs(run.run_id)
                types = [r.dagster_event.event_type for r in records if r.dagster_event is not None]
                if first_step is None and DagsterEventType.STEP_START in types:
                    first_step = time.monotonic() - started
                if DagsterEventType.RUN_SUCCESS in types or DagsterEventType.RUN_FAILURE in types:
                    done = time.monotonic() - started
                    status = "SUCCESS" if DagsterEventType.RUN_SUCCESS in types else "FAILURE"
                    return (first_step or float("nan"), done, status)
                time.sleep(0.02)

        jobs = [job for job in args.jobs.split(",") if job]
        first = launch("warm", jobs[0])
        print(
            f"first warm launch (warm process starts, loads): step {first[0]:.2f} s, run {first[1]:.2f} s, {first[2]}"
        )
        for _ in range(args.repeat):
            for job in jobs:
                for side in ("cold", "warm"):
                    step, done, status = launch(side, job)
                    print(f"{side:4} {job:12} first STEP_START {step:6.2f} s  {status} {done:6.2f} s", flush=True)
                    results.setdefault((side, job), []).append((step, done))
        print("\nmedians (launch -> first STEP_START / launch -> run end)")
        for (side, job), values in sorted(results.items()):
            print(
                f"  {job:12} {side:4} {statistics.median(v[0] for v in values):6.2f} s / "
                f"{statistics.median(v[1] for v in values):6.2f} s  (n={len(values)})"
            )
        if args.memory_runs:
            socket_file = Path(instances["warm"].get_runs(limit=1)[0].tags[SOCKET_TAG])
            pid = int(socket_file.with_suffix(".pid").read_text())
            start_rss = _rss_mib(pid)
            print(f"\nwarm process {pid}: RSS {start_rss:.1f} MiB before {args.memory_runs} more runs")
            for number in range(1, args.memory_runs + 1):
                launch("warm", jobs[0])
                if number % 10 == 0 or number == args.memory_runs:
                    print(f"  after {number:3} runs: RSS {_rss_mib(pid):.1f} MiB", flush=True)
    for instance in instances.values():
        instance.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
