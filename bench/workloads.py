"""The measured programs: each subcommand runs in its own process, timed from outside by run.py.

No ``from __future__ import annotations`` here: Dagster reads the resource annotations of the decorated
functions at definition time. Heavy imports happen inside each subcommand, so a process only pays for what its
side really uses. Each subcommand ends by printing one ``BENCH_RESULT {json}`` line that run.py reads back (counts
that prove the work was done, and in-process timings where the whole process is not the thing measured).

Assumed floe APIs (until those packages land; see bench/README.md):

- ``floe_dbt_observe.build_dbt_assets(project_dir, *, manifest=..., dbt=DbtCliOptions(profiles_dir=...),
  tracer_provider=..., lineage=...)`` returning one ``AssetsDefinition`` or a sequence of them; a
  ``DbtCliResource`` is supplied only for required resource keys containing ``dbt``.
- a file-watcher sensor builder in ``floe_loaders.integration`` named one of ``FILE_WATCHER_BUILDER_NAMES``, called with
  the keyword arguments it accepts among ``name, path, pattern, recursive, job_name, job,
  poll_interval_seconds, minimum_interval_seconds``.
"""

import argparse
import inspect
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

RESULT_PREFIX = "BENCH_RESULT "
FILE_WATCHER_BUILDER_NAMES = ("build_file_watcher_sensor", "file_watcher_sensor", "make_file_watcher_sensor")


def _emit(result: dict[str, Any]) -> None:
    import resource

    # the measuring side sees the tree's largest process (often dbt); this is the Dagster process alone
    result.setdefault("self_peak_mib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    sys.stdout.flush()
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def _dbt_executable() -> str:
    return str(Path(sys.executable).parent / "dbt")


def _dbt_resource(project_dir: Path) -> Any:
    from dagster_dbt import DbtCliResource

    return DbtCliResource(project_dir=str(project_dir), profiles_dir=str(project_dir), dbt_executable=_dbt_executable())


def _plain_assets(project_dir: Path) -> Any:
    from dagster import AssetExecutionContext
    from dagster_dbt import DbtCliResource, dbt_assets

    @dbt_assets(manifest=project_dir / "target" / "manifest.json")
    def plain_dbt_assets(context: AssetExecutionContext, dbt: DbtCliResource) -> Any:
        yield from dbt.cli(["build"], context=context).stream()

    return plain_dbt_assets


def _as_list(built: Any) -> list[Any]:
    if isinstance(built, Sequence) and not isinstance(built, str | bytes):
        return list(built)
    return [built]


def _floe_assets(project_dir: Path, **observability: Any) -> list[Any]:
    from floe_dbt_observe import DbtCliOptions, build_dbt_assets

    built = build_dbt_assets(
        project_dir,
        manifest=project_dir / "target" / "manifest.json",
        dbt=DbtCliOptions(profiles_dir=project_dir),
        **observability,
    )
    return _as_list(built)


def _resources_for(assets: list[Any], project_dir: Path) -> dict[str, Any]:
    required: set[str] = set()
    for assets_def in assets:
        required |= set(getattr(assets_def, "required_resource_keys", set()))
    # floe may name its resource key (``dbt_resource_key``); give a DbtCliResource to every dbt-looking key.
    return {key: _dbt_resource(project_dir) for key in sorted(required) if "dbt" in key}


def _graph_counts(assets: list[Any], resources: dict[str, Any]) -> dict[str, Any]:
    from dagster import Definitions

    defs = Definitions(assets=assets, resources=resources)
    graph = defs.resolve_asset_graph()
    Definitions.validate_loadable(defs)
    return {
        "assets_definitions": len(assets),
        "materializable_assets": len(graph.materializable_asset_keys),
        "all_assets": len(graph.get_all_asset_keys()),
        "asset_checks": len(graph.asset_check_keys),
    }


def load_plain(project_dir: Path) -> None:
    """Import, build and resolve plain dagster-dbt definitions (``@dbt_assets(manifest=...)``)."""
    assets = [_plain_assets(project_dir)]
    _emit(_graph_counts(assets, {"dbt": _dbt_resource(project_dir)}))


def load_floe(project_dir: Path) -> None:
    """Import, build and resolve floe-dbt-observe definitions (no tracer provider or lineage client)."""
    assets = _floe_assets(project_dir)
    _emit(_graph_counts(assets, _resources_for(assets, project_dir)))


def _run_counts(result: Any) -> dict[str, Any]:
    return {
        "success": bool(result.success),
        "materializations": len(result.get_asset_materialization_events()),
        "check_evaluations": len(result.get_asset_check_evaluations()),
    }


def run_plain(project_dir: Path, out_dir: Path) -> None:
    """Materialize every dbt node with plain dagster-dbt (``dbt.cli(["build"]).stream()``)."""
    from dagster import DagsterInstance, materialize

    del out_dir  # plain dagster-dbt writes no observability files
    assets = [_plain_assets(project_dir)]
    with DagsterInstance.ephemeral() as instance:
        result = materialize(assets, resources={"dbt": _dbt_resource(project_dir)}, instance=instance)
        _emit(_run_counts(result))


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open("rb") as handle:
        return sum(1 for _ in handle)


def run_floe(project_dir: Path, out_dir: Path) -> None:
    """Materialize every dbt node through floe with the OTel SDK (JSON-lines file) and OpenLineage file transport."""
    from dagster import DagsterInstance, materialize
    from openlineage.client import OpenLineageClient
    from openlineage.client.transport.file import FileConfig, FileTransport
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    out_dir.mkdir(parents=True, exist_ok=True)
    spans_path = out_dir / "spans.jsonl"
    lineage_path = out_dir / "lineage.jsonl"
    with spans_path.open("w", encoding="utf-8") as spans_file:
        provider = TracerProvider(resource=Resource.create({"service.name": "floe-bench"}))
        exporter = ConsoleSpanExporter(out=spans_file, formatter=lambda span: span.to_json(indent=None) + os.linesep)
        provider.add_span_processor(BatchSpanProcessor(exporter))
        lineage = OpenLineageClient(transport=FileTransport(FileConfig(log_file_path=str(lineage_path), append=True)))
        assets = _floe_assets(project_dir, tracer_provider=provider, lineage=lineage)
        with DagsterInstance.ephemeral() as instance:
            result = materialize(assets, resources=_resources_for(assets, project_dir), instance=instance)
        provider.shutdown()
    counts = _run_counts(result)
    counts.update(spans=_count_lines(spans_path), lineage_events=_count_lines(lineage_path))
    _emit(counts)


def run_floe_off(project_dir: Path, out_dir: Path) -> None:
    """Materialize every dbt node through floe with telemetry off: no tracer provider, no lineage client."""
    from dagster import DagsterInstance, materialize

    del out_dir  # nothing is exported
    assets = _floe_assets(project_dir)
    with DagsterInstance.ephemeral() as instance:
        result = materialize(assets, resources=_resources_for(assets, project_dir), instance=instance)
    _emit(_run_counts(result))


def _find_file_watcher_builder() -> Callable[..., Any] | None:
    from floe_loaders.integration import build_file_watcher_sensor

    return build_file_watcher_sensor


def file_watcher_tick(directory: Path, new_files: int) -> None:
    """Time a sensor's ticks over ``directory``: first (nothing seen), after ``new_files`` land, and idle.

    The first tick sees every matching file as new (a builder may cap the run requests per tick). For the steady
    state, an untimed priming tick of the same builder without the cap (when it has a
    ``max_run_requests_per_tick`` parameter) produces a cursor that has seen every file; then ``new_files``
    files land and one tick is timed, then one more tick with nothing new.
    """
    from dagster import DagsterInstance, build_sensor_context, job, op

    builder = _find_file_watcher_builder()
    if builder is None:
        _emit({"skipped": f"floe_loaders exposes none of {', '.join(FILE_WATCHER_BUILDER_NAMES)}"})
        return

    @op
    def bench_noop() -> None:
        """Do nothing: the sensor only needs a target."""

    @job
    def bench_file_job() -> None:
        bench_noop()

    offered = {
        "name": "bench_file_watcher",
        "path": str(directory),
        "pattern": "*.csv",
        "recursive": False,
        "job_name": "bench_file_job",
        "job": bench_file_job,
        "poll_interval_seconds": 30,
        "minimum_interval_seconds": 30,
    }
    signature = inspect.signature(builder)
    params = signature.parameters
    missing = [
        p.name
        for p in params.values()
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        and p.name not in offered
    ]
    if missing:
        _emit({"skipped": f"{builder.__name__}{signature}: cannot supply {missing}"})
        return
    kwargs = {k: v for k, v in offered.items() if k in params}
    if "job" in kwargs and "job_name" in kwargs:
        del kwargs["job_name"]
    sensor = builder(**kwargs)
    uncapped = builder(**kwargs, max_run_requests_per_tick=10**9) if "max_run_requests_per_tick" in params else None

    def tick(sensor_def: Any, cursor: str | None) -> tuple[float, Any]:
        started = time.perf_counter()
        data = sensor_def.evaluate_tick(build_sensor_context(instance=instance, cursor=cursor))
        return time.perf_counter() - started, data

    landed = [directory / f"zz_new_{os.getpid()}_{i:03d}.csv" for i in range(new_files)]
    with DagsterInstance.ephemeral() as instance:
        first_seconds, first = tick(sensor, None)
        primed = tick(uncapped, None)[1] if uncapped is not None else first
        try:
            for path in landed:
                path.write_text("id\n1\n", encoding="utf-8")
            new_seconds, new = tick(sensor, primed.cursor)
            idle_seconds, idle = tick(sensor, new.cursor)
        finally:
            for path in landed:
                path.unlink(missing_ok=True)
    _emit(
        {
            "builder": builder.__name__,
            "primed_uncapped": uncapped is not None,
            "first_tick_seconds": first_seconds,
            "first_tick_run_requests": len(first.run_requests or []),
            "new_files_tick_seconds": new_seconds,
            "new_files_tick_run_requests": len(new.run_requests or []),
            "idle_tick_seconds": idle_seconds,
            "idle_tick_run_requests": len(idle.run_requests or []),
        }
    )


def lineage_run(project_root: Path, runs: int) -> None:
    """Run the lineage project's ``everything`` job ``runs`` times in this process, timing each run in process.

    The code location (and dbt manifest) is loaded before the clock starts; the first run is what a Dagster run
    worker does (one run per fresh process: nothing known about the lineage backend yet), later runs show a
    process that already learnt the backend is down or slow. The platform file comes from ``FLOE_PLATFORM_FILE``.
    """
    import re
    import tempfile

    from dagster import DagsterInstance, execute_job

    from floe_test_support.reconstruct import reconstructable_job

    undelivered = re.compile(r"(\d+) OpenLineage event\(s\) not delivered")
    spans_lost = re.compile(r"(\d+) span\(s\) not delivered")
    started = time.perf_counter()
    job = reconstructable_job(project_root / "definitions.py", "everything")  # loads the code location once
    job.get_definition()
    load_seconds = time.perf_counter() - started
    result: dict[str, Any] = {"load_seconds": load_seconds}
    with tempfile.TemporaryDirectory() as home, DagsterInstance.local_temp(home) as instance:
        for index in range(runs):
            started = time.perf_counter()
            run = execute_job(job, instance=instance, raise_on_error=False)
            seconds = time.perf_counter() - started
            logs = instance.all_logs(run.run_id)
            lost = sum(
                int(match.group(1))
                for record in logs
                if record.level >= 30 and (match := undelivered.search(record.message or ""))
            )
            # Span counts are per run (its trace); the dbt step's and the run end's overlap: take the largest.
            result[f"run{index + 1}_spans_undelivered"] = max(
                (
                    int(match.group(1))
                    for record in logs
                    if record.level >= 30 and (match := spans_lost.search(record.message or ""))
                ),
                default=0,
            )
            result[f"run{index + 1}_seconds"] = seconds
            result[f"run{index + 1}_success"] = bool(run.success)
            result[f"run{index + 1}_materializations"] = len(run.get_asset_materialization_events())
            result[f"run{index + 1}_undelivered"] = lost
    _emit(result)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="floe benchmark workloads (run by bench/run.py)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("load-plain", "load-floe"):
        sub.add_parser(name).add_argument("project_dir", type=Path)
    for name in ("run-plain", "run-floe", "run-floe-off"):
        cmd = sub.add_parser(name)
        cmd.add_argument("project_dir", type=Path)
        cmd.add_argument("out_dir", type=Path)
    lineage = sub.add_parser("lineage-run")
    lineage.add_argument("project_root", type=Path)
    lineage.add_argument("--runs", type=int, default=2)
    tick = sub.add_parser("file-watcher-tick")
    tick.add_argument("directory", type=Path)
    tick.add_argument("--new-files", type=int, default=10)
    args = parser.parse_args(argv)

    if args.command == "load-plain":
        load_plain(args.project_dir)
    elif args.command == "load-floe":
        load_floe(args.project_dir)
    elif args.command == "run-plain":
        run_plain(args.project_dir, args.out_dir)
    elif args.command == "run-floe":
        run_floe(args.project_dir, args.out_dir)
    elif args.command == "run-floe-off":
        run_floe_off(args.project_dir, args.out_dir)
    elif args.command == "lineage-run":
        lineage_run(args.project_root, args.runs)
    else:
        file_watcher_tick(args.directory, args.new_files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
