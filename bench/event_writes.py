"""What the Dagster event log costs a run of a 1,000-model dbt project, on SQLite and on PostgreSQL.

One process per measurement (``--one STORAGE BATCH``) times, in process, on a fresh instance:

- ``planned``: ``instance.create_run_for_job`` for the project's one dbt job, which stores the run and one
  ``ASSET_MATERIALIZATION_PLANNED`` / ``ASSET_CHECK_EVALUATION_PLANNED`` event per model and test (what Dagster
  writes before a run starts);
- ``per_node``: one ``ASSET_MATERIALIZATION`` per model stored through ``instance.report_dagster_event``, as a dbt
  step reports them (one event per node, no batch metadata);

on three instances: Dagster's own storage with its batched writes off (``dagster``: ``DAGSTER_EVENT_BATCH_SIZE``
unset) and on (``dagster-batch``: ``DAGSTER_EVENT_BATCH_SIZE=1000``: events Dagster sends with batch metadata, the
planned ones, go to ``EventLogStorage.store_event_batch``), and the storage floe renders into ``dagster.yaml``
(``floe``: :mod:`floe_definitions.instance.event_log`, which sets ``DAGSTER_EVENT_BATCH_SIZE`` itself and writes a
batch in one transaction per database). The driver (no ``--one``) interleaves the cases and prints medians;
``bench/run.py events`` runs it (``--cases`` picks some, ``--no-per-node`` times the planned events only).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
POSTGRES_URL_ENV = "FLOE_BENCH_POSTGRES_URL"
"""A PostgreSQL server URL (a fresh database on it per measurement); PostgreSQL is skipped without it."""


def _job(project_dir: Path) -> Any:
    import dagster as dg
    from workloads import _dbt_resource, _plain_assets

    defs = dg.Definitions(
        assets=[_plain_assets(project_dir)],
        jobs=[dg.define_asset_job("everything", selection="*")],
        resources={"dbt": _dbt_resource(project_dir)},
    )
    return defs.resolve_job_def("everything")


CASES = ("dagster", "dagster-batch", "floe")


def _instance(storage: str, case: str, home: Path, postgres_url: str | None) -> Any:
    import dagster as dg
    import yaml

    if case == "floe":  # the dagster.yaml floe renders from platform.yaml, opened as floe's commands open it
        from floe_config import load_platform_spec
        from floe_definitions.integration import open_instance

        platform_file = home / "platform.yaml"
        url = f", postgres_url: '{postgres_url}'" if postgres_url else ""
        platform_file.write_text(f"instance: {{storage: {storage}{url}, telemetry: false}}\n")
        environ = {"DAGSTER_HOME": str(home / "dagster")}
        platform = load_platform_spec(platform_file, environ=environ)
        return open_instance(home, platform, environ, platform_file=platform_file)
    config: dict[str, Any] = {"telemetry": {"enabled": False}}
    if storage == "postgres":
        config["storage"] = {"postgres": {"postgres_url": postgres_url}}
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return dg.DagsterInstance.from_config(str(home))


def measure_one(storage: str, case: str, models: int, per_node: bool = True) -> dict[str, Any]:
    """Time the planned and per-node writes of one run on a fresh instance (see the module docstring)."""
    import dagster as dg
    from dagster import DagsterEvent, DagsterEventType
    from generate_dbt_project import ensure_project

    from floe_test_support.dagster_internals import StepMaterializationData
    from floe_test_support.postgres import PostgresServer

    project = ensure_project(models, log=False)
    job = _job(project.project_dir)
    server_url = os.environ.get(POSTGRES_URL_ENV)
    server = PostgresServer(server_url) if storage == "postgres" and server_url else None
    database = server.create_database("events_bench") if server is not None else None
    postgres_url = database.sqlalchemy_url if database is not None else None
    try:
        with tempfile.TemporaryDirectory() as home, _instance(storage, case, Path(home), postgres_url) as instance:
            instance.get_runs_count()  # create the storage before timing
            started = time.perf_counter()
            run = instance.create_run_for_job(job_def=job)
            planned_s = time.perf_counter() - started
            records = instance.get_records_for_run(run.run_id, limit=1_000_000).records
            planned = sum(1 for r in records if r.event_log_entry.dagster_event_type is not None)
            keys = sorted(job.asset_layer.executable_asset_keys, key=lambda key: key.to_user_string())
            keys = keys if per_node else []
            step_key = next(iter(job.nodes)).name
            started = time.perf_counter()
            for key in keys:
                event = DagsterEvent(
                    event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
                    job_name=job.name,
                    step_key=step_key,
                    event_specific_data=StepMaterializationData(
                        dg.AssetMaterialization(asset_key=key, metadata={"unique_id": key.to_user_string()})
                    ),
                    message="bench",
                )
                instance.report_dagster_event(event, run.run_id)
            per_node_s = time.perf_counter() - started
    finally:
        if server is not None and database is not None:
            server.drop_database(database)
    return {
        "storage": storage,
        "case": case,
        "batch": os.environ.get("DAGSTER_EVENT_BATCH_SIZE", "0"),
        "planned_events": planned,
        "planned_s": planned_s,
        "per_node_events": len(keys),
        "per_node_s": per_node_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", nargs=2, metavar=("STORAGE", "CASE"), help="measure once: sqlite|postgres, a case")
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of: {', '.join(CASES)}")
    parser.add_argument("--no-per-node", action="store_true", help="time the planned events only")
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(measure_one(args.one[0], args.one[1], args.models, per_node=not args.no_per_node)))
        return 0
    storages = ["sqlite"] + (["postgres"] if os.environ.get(POSTGRES_URL_ENV) else [])
    if len(storages) == 1:
        print(f"  PostgreSQL skipped: set {POSTGRES_URL_ENV} to a server URL")
    chosen = [case for case in args.cases.split(",") if case]
    unknown = sorted(set(chosen) - set(CASES))
    if unknown:
        raise SystemExit(f"unknown --cases {', '.join(unknown)}; choose from {', '.join(CASES)}")
    cases = [(storage, case) for storage in storages for case in chosen]
    results: dict[tuple[str, str], list[dict[str, Any]]] = {case: [] for case in cases}
    print(f"  load average at start: {os.getloadavg()[0]:.1f}", flush=True)
    for index in range(args.repeat):
        for storage, case in cases if index % 2 == 0 else list(reversed(cases)):
            env = {key: value for key, value in os.environ.items() if key != "DAGSTER_EVENT_BATCH_SIZE"}
            if case == "dagster-batch":
                env["DAGSTER_EVENT_BATCH_SIZE"] = "1000"
            env["DAGSTER_DISABLE_TELEMETRY"] = "yes"
            extra = ["--no-per-node"] if args.no_per_node else []
            out = subprocess.run(
                [sys.executable, __file__, "--one", storage, case, "--models", str(args.models), *extra],
                cwd=BENCH_DIR,
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                raise SystemExit(f"{storage} {case} failed:\n{out.stderr[-3000:]}")
            results[(storage, case)].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(f"  {storage} {case}: {results[(storage, case)][-1]}", flush=True)
    print(f"  load average at end: {os.getloadavg()[0]:.1f}")
    print("| storage | case | planned events | planned writes s (min-max) | per-node events | per-node s (min-max) |")
    print("|---|---|---|---|---|---|")
    for (storage, case), runs in results.items():
        planned = [r["planned_s"] for r in runs]
        per_node = [r["per_node_s"] for r in runs]
        print(
            f"| {storage} | {case} | {runs[0]['planned_events']} | {statistics.median(planned):.2f} "
            f"({min(planned):.2f}-{max(planned):.2f}) | {runs[0]['per_node_events']} | "
            f"{statistics.median(per_node):.2f} ({min(per_node):.2f}-{max(per_node):.2f}) |"
        )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH_DIR))
    sys.exit(main())
