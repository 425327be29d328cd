"""Run the demo medallion pipeline through Dagster, print its observability summary and verify it.

``nox -s demo`` runs this from ``demo/`` with the repository root on ``PYTHONPATH``. It parses the dbt project
(absolute ``--project-dir``), materializes bronze for the latest daily partition, then silver and gold, on the
persistent Dagster instance under ``demo/.floe/dagster`` (``DAGSTER_HOME`` wins when set), with the executor of
the platform file (``platform/local.yaml`` unless ``FLOE_PLATFORM_FILE`` / ``FLOE_PLATFORM_ENV`` say otherwise).
While the jobs run it shows a progress view (one line per finished step); Dagster's event log (its DEBUG events),
dbt's output and anything else the runs print go to ``.floe/logs/<job>.log``, and ``--verbose`` shows them on the
terminal instead. It then prints, per asset, status, rows, duration, span and lineage run; the lineage graph
bronze -> silver -> gold; and where spans and lineage went. It exits 1 with the list of what failed when any
check fails: every dbt model ran as its own asset, each asset execution has exactly one span and one START plus
one COMPLETE lineage event, every span of a run shares the run's trace id, and lineage connects bronze to gold
per model.

The checks read what was emitted from the sink actually used (``floe_definitions.telemetry.sinks`` decides):
the files, or a local OTLP/HTTP + OpenLineage receiver the demo starts on 127.0.0.1 when the standard
``OTEL_EXPORTER_OTLP_*ENDPOINT`` / ``OTEL_TRACES_EXPORTER=otlp`` / ``OPENLINEAGE_URL`` variables send telemetry
over the network (or with ``--receiver``); the receiver relays every request to the endpoints the variables named,
so the data still reaches them. Sinks the demo cannot read back (a platform file's own OTLP or HTTP endpoint, the
console) are reported as not checked.
Running it again works (partitions are replaced, dbt rebuilds).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

DEMO_DIR = Path(__file__).resolve().parent
REPO_ROOT = DEMO_DIR.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from dagster import (  # noqa: E402
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    JobDefinition,
    RunsFilter,
    build_reconstructable_job,
    execute_job,
)

from demo.otlp_spans import read_spans  # noqa: E402
from demo.telemetry_receiver import TelemetryReceiver  # noqa: E402
from floe_config import load_floe_spec, load_platform_spec  # noqa: E402
from floe_definitions import FloeProject, load_project  # noqa: E402
from floe_definitions.integration import (  # noqa: E402  # noqa: E402
    OTLP_ENDPOINT_VARS,
    OTLP_PROTOCOL_VARS,
    LineageSink,
    SpanSink,
    dagster_home,
    display_path,
    format_trace_id,
    lineage_sink,
    open_instance,
    run_trace_id,
    span_sink,
)

BRONZE_JOB = "seed_bronze"
TRANSFORM_JOB = "transform"
DEFINITIONS_MODULE = "demo.definitions"
RECONSTRUCTOR_MODULE = "demo.run_demo"
"""Where step processes find :func:`demo_job` (importable from the repository root, whatever ran this file)."""
PROGRESS_EVENTS = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE, DagsterEventType.STEP_SKIPPED}


@dataclass
class AssetRow:
    """One asset execution as the summary shows it."""

    key: str
    layer: str
    status: str = "not run"
    rows: int | None = None
    duration_s: float | None = None
    span_ids: list[str] = field(default_factory=list)
    lineage_run_ids: set[str] = field(default_factory=set)
    lineage_states: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Emitted:
    """What the demo's runs emitted, read back from the sinks used; None where a sink cannot be read back."""

    spans: list[dict[str, Any]] | None
    events: list[dict[str, Any]] | None
    spans_from: str
    lineage_from: str


@dataclass(frozen=True)
class DemoRun:
    """A Dagster run the demo launched."""

    job: str
    run_id: str
    success: bool
    seconds: float


def main(argv: Sequence[str] | None = None) -> int:
    """Run, summarize and verify the demo; return the exit code."""
    parser = argparse.ArgumentParser(prog="run_demo", description="Run the floe demo and verify its observability.")
    parser.add_argument(
        "--verbose", action="store_true", help="show Dagster's events and dbt's output instead of writing them to logs"
    )
    parser.add_argument(
        "--receiver",
        action="store_true",
        help="send spans and lineage to a local OTLP/OpenLineage receiver on 127.0.0.1 and check them there",
    )
    options = parser.parse_args(argv)
    started = time.monotonic()
    environ = _environment()
    _forget_manifest()
    with ExitStack() as stack:
        receiver = None
        sinks = standard_sinks(environ)
        if options.receiver or wants_receiver(sinks):
            receiver = stack.enter_context(relaying_receiver(sinks).running())
            environ = receiver_environment(environ, receiver.url)
            print(f"Telemetry: a local receiver on {receiver.url} checks what the runs send", flush=True)
        with _patched_environ(environ):
            project = load_project(DEMO_DIR / "floe.yaml", environ=environ)
            instance = open_instance(
                project.base_dir,
                project.platform,
                environ,
                platform_file=project.platform_file,
                locate=project.platform_locate,
            )
            with instance:
                log_dir = None if options.verbose else project.base_dir / ".floe" / "logs"
                runs = materialize(project, instance, log_dir=log_dir)
                emitted = read_emitted(project, environ, receiver)
                rows = collect(project, instance, runs, emitted)
    failures = verify(project, runs, rows, emitted)
    if receiver is not None and receiver.received.relay_errors:
        print(f"\nRelaying to your endpoints failed: {receiver.received.relay_errors[0]}", file=sys.stderr)
    _print_summary(project, runs, rows, emitted, time.monotonic() - started)
    if failures:
        print("\nDEMO FAILED:", file=sys.stderr)
        for failure in failures:
            print(f"  - {failure}", file=sys.stderr)
        return 1
    print(f"\nDemo OK in {time.monotonic() - started:.1f} s.")
    return 0


def _environment() -> dict[str, str]:
    """The environment of the demo: the caller's, with the local platform file unless one is chosen."""
    env = dict(os.environ)
    if not any(key.startswith("FLOE_PLATFORM_") for key in env):
        env["FLOE_PLATFORM_FILE"] = str(DEMO_DIR / "platform" / "local.yaml")
    env.setdefault("DAGSTER_HOME", str(dagster_home(DEMO_DIR, env)))
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    Path(env["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
    return env


@dataclass(frozen=True)
class StandardSinks:
    """Where the demo's spans and lineage go when the standard variables decide, by floe's own rule."""

    spans: SpanSink | None
    """The span sink, if the standard variables send spans over OTLP (the platform file sets no endpoint)."""
    lineage: LineageSink | None
    """The lineage sink, if ``OPENLINEAGE_URL`` sends events over HTTP (the platform file sets no transport)."""
    environ: Mapping[str, str]
    """The environment the sinks were decided in."""


def standard_sinks(environ: Mapping[str, str]) -> StandardSinks:
    """Decide, as floe does for the demo's floe.yaml and platform file, which telemetry the standard variables send."""
    spec = load_floe_spec(DEMO_DIR / "floe.yaml", environ=environ)
    platform = load_platform_spec(floe_yaml=DEMO_DIR / "floe.yaml", environ=environ)
    with warnings.catch_warnings():  # a variable the platform file overrides is reported when the project loads
        warnings.simplefilter("ignore")
        spans = span_sink(spec, platform, DEMO_DIR, environ)
        lineage = lineage_sink(spec, platform, DEMO_DIR, environ)
    return StandardSinks(
        spans=spans if spans.kind == "otlp" and spans.endpoint is None else None,
        lineage=lineage if lineage.kind == "http" and lineage.decided_by == "OPENLINEAGE_URL" else None,
        environ=environ,
    )


def wants_receiver(sinks: StandardSinks) -> bool:
    """Whether the standard variables send spans or lineage over the network (the demo then checks a receiver)."""
    return sinks.spans is not None or sinks.lineage is not None


def relaying_receiver(sinks: StandardSinks) -> TelemetryReceiver:
    """A receiver that relays to the OTLP traces URL and OpenLineage URL the standard variables name, if any."""
    traces = sinks.spans.http_traces_url(sinks.environ) if sinks.spans is not None else None
    lineage = sinks.lineage.http_url if sinks.lineage is not None else None
    return TelemetryReceiver(relay_traces=traces, relay_lineage=lineage)


def receiver_environment(environ: Mapping[str, str], url: str) -> dict[str, str]:
    """The demo's environment with spans (OTLP/HTTP) and lineage (HTTP) sent to the receiver at ``url``."""
    env = {key: value for key, value in environ.items() if key not in (*OTLP_ENDPOINT_VARS, *OTLP_PROTOCOL_VARS)}
    env.pop("OPENLINEAGE_ENDPOINT", None)
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = url
    env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf"
    env["OPENLINEAGE_URL"] = url
    return env


def read_emitted(
    project: FloeProject, environ: Mapping[str, str], receiver: TelemetryReceiver | None = None
) -> Emitted:
    """Read back what the runs emitted from the sinks the project used: files, or the receiver.

    Args:
        project: The loaded demo project.
        environ: The environment the runs had (the standard variables).
        receiver: The receiver the standard variables pointed at, if the demo started one.

    Returns:
        Spans and lineage events; None for a sink that cannot be read back (the console, a platform file's own
        endpoint).
    """
    spans_sink = span_sink(project.spec, project.platform, project.base_dir, environ)
    events_sink = lineage_sink(project.spec, project.platform, project.base_dir, environ)
    by_receiver = receiver is not None and (
        (spans_sink.kind == "otlp" and spans_sink.endpoint is None)
        or (events_sink.kind == "http" and events_sink.url == receiver.url)
    )
    if by_receiver and receiver is not None:
        receiver.wait_until_quiet()
    spans: list[dict[str, Any]] | None = None
    spans_from = f"{spans_sink.describe(environ)} (not read back: not checked)"
    if spans_sink.kind == "file" and spans_sink.path is not None:
        spans, spans_from = read_spans(spans_sink.path), os.fspath(spans_sink.path)
    elif receiver is not None and spans_sink.kind == "otlp" and spans_sink.endpoint is None:
        spans, spans_from = receiver.spans, f"the local OTLP receiver {receiver.url}"
    events: list[dict[str, Any]] | None = None
    lineage_from = f"{events_sink.describe(environ)} (not read back: not checked)"
    if events_sink.kind == "file" and events_sink.path is not None:
        events, lineage_from = _read_json_lines(events_sink.path), os.fspath(events_sink.path)
    elif receiver is not None and events_sink.kind == "http" and events_sink.url == receiver.url:
        events, lineage_from = receiver.events, f"the local OpenLineage receiver {receiver.url}"
    return Emitted(spans=spans, events=events, spans_from=spans_from, lineage_from=lineage_from)


@contextmanager
def _patched_environ(environ: Mapping[str, str]) -> Iterator[None]:
    """Expose the demo's environment to this script's own process while it runs (a script, not a library).

    The multiprocess executor's step processes and dbt read ``FLOE_PLATFORM_FILE`` and ``DAGSTER_HOME`` from the
    environment they inherit; the previous values come back afterwards.
    """
    saved = dict(os.environ)
    os.environ.update(environ)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _forget_manifest() -> None:
    """Remove the demo's ``manifest.json`` so that loading the project parses it again, fresh.

    floe runs that ``dbt parse`` with the project's own ``--target`` and profiles directory (floe.yaml's
    ``dbt.target``, ``${DBT_TARGET:dev}``), the same the runs' ``dbt build`` gets. A parse with other arguments
    would leave a ``partial_parse.msgpack`` that every run rejects ("config vars, config profile, or config target
    have changed"), and each dbt step would parse the whole project again.
    """
    manifest = (DEMO_DIR / "dbt" / "target" / "manifest.json").resolve()
    manifest.unlink(missing_ok=True)
    print(f"floe demo: {manifest} is parsed again with the project's dbt target")


def demo_job(job_name: str) -> JobDefinition:
    """Return one of ``demo.definitions``' jobs: what each step process calls to rebuild the job it runs."""
    job: JobDefinition = importlib.import_module(DEFINITIONS_MODULE).defs.resolve_job_def(job_name)
    return job


def _demo_reconstructable_job(job_name: str) -> Any:
    """The job, reconstructable in Dagster's step processes through its public API (:func:`demo_job`)."""
    return build_reconstructable_job(
        RECONSTRUCTOR_MODULE,
        demo_job.__name__,
        reconstructable_args=(job_name,),
        reconstructor_working_directory=str(REPO_ROOT),
    )


def materialize(
    project: FloeProject,
    instance: DagsterInstance,
    reconstructable_job: Callable[[str], Any] | None = None,
    *,
    log_dir: Path | None = None,
    progress: TextIO | None = None,
) -> list[DemoRun]:
    """Bronze for the latest daily partition, then silver and gold, through Dagster with floe's executor.

    Args:
        project: The loaded demo project.
        instance: The Dagster instance.
        reconstructable_job: Returns a job by name, reconstructable in step processes; ``demo.definitions``' jobs
            when omitted.
        log_dir: Where each job's output (Dagster's events, dbt's lines, warnings) goes, as ``<job>.log``;
            None shows it on the terminal.
        progress: Where the progress view goes; the terminal when omitted.

    Returns:
        The runs, stopping after the first failed one.
    """
    reconstructable_job = reconstructable_job or _demo_reconstructable_job
    bronze = project.definitions.resolve_job_def(BRONZE_JOB)
    partitions = bronze.partitions_def
    tags = {}
    if partitions is not None:
        latest = partitions.get_last_partition_key()
        if latest is not None:
            tags["dagster/partition"] = latest
    runs = []
    with _terminal(progress) as out:
        for job, job_tags in ((BRONZE_JOB, tags), (TRANSFORM_JOB, {})):
            label = f" (partition {job_tags['dagster/partition']})" if job_tags else ""
            print(f"Running job {job!r}{label} ...", file=out, flush=True)
            began = time.monotonic()
            log_file = None if log_dir is None else log_dir / f"{job}.log"
            with _job_output(log_file), _progress_view(instance, job, out):
                result = execute_job(reconstructable_job(job), instance=instance, tags=job_tags, raise_on_error=False)
            runs.append(DemoRun(job, result.run_id, result.success, time.monotonic() - began))
            status = "SUCCESS" if result.success else "FAILURE"
            where = "" if log_file is None else f" (log: {log_file})"
            print(f"  run {result.run_id}: {status} in {runs[-1].seconds:.1f} s{where}", file=out, flush=True)
            if not result.success:
                break
    return runs


@contextmanager
def _terminal(progress: TextIO | None) -> Iterator[TextIO]:
    """The progress view's stream: ``progress``, or a copy of the terminal that survives redirecting fd 1."""
    if progress is not None:
        yield progress
        return
    sys.stdout.flush()
    with os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8") as terminal:
        yield terminal


@contextmanager
def _job_output(log_file: Path | None) -> Iterator[None]:
    """Send everything the job prints (this process and its step processes) to ``log_file``; None: leave it."""
    if log_file is None:
        yield
        return
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    with log_file.open("a", encoding="utf-8") as sink:
        try:
            for fd in saved:
                os.dup2(sink.fileno(), fd)
            with redirect_stdout(sink), redirect_stderr(sink):
                yield
        finally:
            sink.flush()
            for fd, copy in saved.items():
                os.dup2(copy, fd)
                os.close(copy)


@contextmanager
def _progress_view(instance: DagsterInstance, job: str, out: TextIO) -> Iterator[None]:
    """Print one line per finished step of the job's newest run while the job runs."""
    created_after = datetime.now(UTC)
    done = threading.Event()

    def poll() -> None:
        run_id: str | None = None
        cursor: str | None = None
        marks = {"STEP_SUCCESS": "ok", "STEP_FAILURE": "FAILED", "STEP_SKIPPED": "skipped"}
        while True:
            finished = done.wait(0.5)
            if run_id is None:
                found = instance.get_run_records(RunsFilter(job_name=job, created_after=created_after), limit=1)
                run_id = found[0].dagster_run.run_id if found else None
            if run_id is not None:
                connection = instance.get_records_for_run(run_id, cursor=cursor, of_type=PROGRESS_EVENTS)
                cursor = connection.cursor
                for record in connection.records:
                    entry = record.event_log_entry
                    mark = marks[entry.dagster_event_type.value] if entry.dagster_event_type else "-"
                    print(f"    {mark:<8} {entry.step_key}", file=out, flush=True)
            if finished:
                return

    watcher = threading.Thread(target=poll, name="demo-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


def _read_json_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _layer(key: str, project: FloeProject, graph: Any) -> str:
    group = graph.get(AssetKey.from_user_string(key)).group_name
    return str(group or "-")


def collect(
    project: FloeProject, instance: DagsterInstance, runs: list[DemoRun], emitted: Emitted
) -> dict[str, AssetRow]:
    """Join materializations, spans and lineage events of the demo's runs by asset."""
    graph = project.definitions.resolve_asset_graph()
    rows: dict[str, AssetRow] = {}
    run_ids = {run.run_id for run in runs}
    for run in runs:
        records = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
        for record in records:
            if record.asset_key is None:
                continue
            key = record.asset_key.to_user_string()
            row = rows.setdefault(key, AssetRow(key, _layer(key, project, graph)))
            row.status = "materialized"
            materialization = record.asset_materialization
            metadata = materialization.metadata if materialization else {}
            for name in ("dagster/row_count", "row_count", "rows_affected"):
                value = metadata.get(name)
                raw: Any = getattr(value, "value", value)
                if isinstance(raw, int):
                    row.rows = raw
                    break
    for span in emitted.spans or []:
        attributes = span.get("attributes", {})
        if attributes.get("dagster.run_id") not in run_ids:
            continue
        key = attributes.get("dagster.asset_key")
        keys = attributes.get("dagster.asset_keys")
        if key is None and isinstance(keys, list) and len(keys) == 1 and attributes.get("floe.step_kind") == "asset":
            key = keys[0]
        if key is None or attributes.get("dbt.node.resource_type") not in (None, "model", "seed", "snapshot"):
            continue
        row = rows.setdefault(key, AssetRow(key, _layer(key, project, graph)))
        row.span_ids.append(span["context"]["span_id"])
        row.duration_s = _duration(span)
        if span["status"]["status_code"] == "ERROR":
            row.status = "failed"
    keys_by_job = _lineage_jobs(project, rows, emitted.events or [])
    for event in emitted.events or []:
        parent = event.get("run", {}).get("facets", {}).get("parent", {}).get("run", {}).get("runId")
        if parent not in run_ids:
            continue
        lineage_key = keys_by_job.get(event["job"]["name"])
        if lineage_key is None:
            continue
        rows[lineage_key].lineage_run_ids.add(event["run"]["runId"])
        rows[lineage_key].lineage_states.append(event["eventType"])
    return rows


def _lineage_jobs(project: FloeProject, keys: Iterable[str], events: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """OpenLineage job name -> asset key.

    A dbt node's events name their asset in floe's ``floe_dbt_node`` run facet (their job name is dbt-ol's,
    ``<database>.<schema>.<project>.<model>``, or ``<project>.<model>`` under ``lineage.dbt_job_names: floe``); a
    Python asset step's job is ``<pipeline>.<key path>``.
    """
    mapping = {f"{project.spec.name}." + ".".join(AssetKey.from_user_string(key).path): key for key in keys}
    for event in events:
        asset_key = event.get("run", {}).get("facets", {}).get("floe_dbt_node", {}).get("assetKey")
        if asset_key is not None:
            mapping[event["job"]["name"]] = asset_key
    return mapping


def _duration(span: Mapping[str, Any]) -> float | None:
    from datetime import datetime

    try:
        start = datetime.fromisoformat(str(span["start_time"]).replace("Z", "+00:00"))
        end = datetime.fromisoformat(str(span["end_time"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None
    return (end - start).total_seconds()


def _lineage_graph(events: Sequence[Mapping[str, Any]]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per job of the latest COMPLETE events: inputs and outputs as ``namespace/name`` strings."""
    inputs: dict[str, set[str]] = {}
    outputs: dict[str, set[str]] = {}
    for event in events:
        if event["eventType"] != "COMPLETE":
            continue
        job = event["job"]["name"]
        inputs[job] = {f"{d['namespace']}/{d['name']}" for d in event.get("inputs", [])}
        outputs[job] = {f"{d['namespace']}/{d['name']}" for d in event.get("outputs", [])}
    return inputs, outputs


def verify(project: FloeProject, runs: list[DemoRun], rows: Mapping[str, AssetRow], emitted: Emitted) -> list[str]:
    """Return what is wrong with the demo's runs (empty when every check passes).

    Span checks need the spans read back, lineage checks the events; a sink that cannot be read back skips them.
    """
    failures: list[str] = []
    for run in runs:
        if not run.success:
            failures.append(f"run {run.run_id} of job {run.job!r} failed")
    if len(runs) < 2:
        failures.append("the transform job did not run")
    graph = project.definitions.resolve_asset_graph()
    expected = {
        key.to_user_string()
        for job in (BRONZE_JOB, TRANSFORM_JOB)
        for key in project.definitions.resolve_job_def(job).asset_layer.selected_asset_keys
    }
    dbt_models = {key.to_user_string() for key in project.dbt_asset_keys}
    if not dbt_models:
        failures.append("no dbt model was loaded as an asset")
    for key in sorted(expected):
        row = rows.get(key)
        if row is None or row.status != "materialized":
            failures.append(f"{key}: not materialized")
            continue
        if emitted.spans is not None and len(row.span_ids) != 1:
            failures.append(f"{key}: {len(row.span_ids)} span(s) in {emitted.spans_from}, expected exactly one")
        lineage_ok = sorted(row.lineage_states) == ["COMPLETE", "START"] and len(row.lineage_run_ids) == 1
        if emitted.events is not None and not lineage_ok:
            failures.append(
                f"{key}: lineage events {row.lineage_states} in {emitted.lineage_from}, expected one START and one "
                "COMPLETE"
            )
    trace_files = emitted.spans or []
    for run in runs:
        if emitted.spans is None:
            break
        expected_trace = f"0x{format_trace_id(run_trace_id(run.run_id))}"
        spans = [s for s in trace_files if s.get("attributes", {}).get("dagster.run_id") == run.run_id]
        traces = {s["context"]["trace_id"] for s in spans}
        if traces != {expected_trace}:
            failures.append(f"run {run.run_id}: spans carry trace ids {sorted(traces)}, expected {expected_trace}")
    inputs, outputs = _lineage_graph(emitted.events or [])
    produced_by = {dataset: job for job, datasets in outputs.items() for dataset in datasets}
    key_of_job = _lineage_jobs(project, expected, emitted.events or [])
    job_of_key = {key: job for job, key in key_of_job.items()}
    for key in sorted(dbt_models) if emitted.events is not None else []:
        chain = _upstream_layers(job_of_key.get(key, key), inputs, produced_by)
        if "bronze" not in {_layer_of_job(j, key_of_job, graph) for j in chain}:
            failures.append(f"{key}: lineage does not lead back to a bronze asset (upstream jobs: {sorted(chain)})")
    return failures


def _upstream_layers(job: str, inputs: Mapping[str, set[str]], produced_by: Mapping[str, str]) -> set[str]:
    """Every job upstream of ``job`` through lineage datasets."""
    seen: set[str] = set()
    frontier = [job]
    while frontier:
        current = frontier.pop()
        for dataset in inputs.get(current, set()):
            producer = produced_by.get(dataset)
            if producer is not None and producer not in seen:
                seen.add(producer)
                frontier.append(producer)
    return seen


def _layer_of_job(job: str, key_of_job: Mapping[str, str], graph: Any) -> str:
    key = key_of_job.get(job)
    return "" if key is None else str(graph.get(AssetKey.from_user_string(key)).group_name or "")


def _print_summary(
    project: FloeProject, runs: list[DemoRun], rows: Mapping[str, AssetRow], emitted: Emitted, seconds: float
) -> None:
    print("\nRuns:")
    for run in runs:
        print(f"  {run.job:<12} {run.run_id}  {'SUCCESS' if run.success else 'FAILURE'}  {run.seconds:6.1f} s")
    print("\nAssets:")
    header = f"  {'asset':<28} {'layer':<7} {'status':<13} {'rows':>7} {'duration':>9}  {'span':<18}  lineage run"
    print(header)
    order = {"bronze": 0, "silver": 1, "gold": 2}
    for row in sorted(rows.values(), key=lambda r: (order.get(r.layer, 3), r.key)):
        rows_text = "-" if row.rows is None else str(row.rows)
        duration = "-" if row.duration_s is None else f"{row.duration_s:.2f} s"
        span = row.span_ids[0] if row.span_ids else "-"
        lineage = ", ".join(sorted(row.lineage_run_ids)) or "-"
        states = "/".join(row.lineage_states)
        cells = f"{row.key:<28} {row.layer:<7} {row.status:<13} {rows_text:>7} {duration:>9}"
        print(f"  {cells}  {span:<18}  {lineage} {states}")
    inputs, outputs = _lineage_graph(emitted.events or [])
    produced_by = {dataset: job for job, datasets in outputs.items() for dataset in datasets}
    print("\nLineage (bronze -> silver -> gold):")
    graph = project.definitions.resolve_asset_graph()
    key_of_job = _lineage_jobs(project, rows, emitted.events or [])
    gold = sorted(job for job in outputs if _layer_of_job(job, key_of_job, graph) == "gold")
    for job in gold:
        print(f"  {job}")
        for silver in sorted({produced_by[d] for d in inputs.get(job, set()) if d in produced_by}):
            bronze = sorted({produced_by[d] for d in inputs.get(silver, set()) if d in produced_by})
            print(f"    <- {silver} <- {', '.join(bronze) or '(no bronze producer)'}")
    print("\nTelemetry (checked where it was sent):")
    print(f"  spans:    {emitted.spans_from}")
    print(f"  lineage:  {emitted.lineage_from}")
    print(f"  instance: {dagster_home(project.base_dir)}")
    print(f"  total:    {seconds:.1f} s")
    platform_file = os.fspath(project.platform_file) if project.platform_file else None
    platform = f" --platform {display_path(Path(platform_file))}" if platform_file else ""
    print("\nOpen these runs in Dagster's UI (webserver + daemon on this instance, 127.0.0.1):")
    print(f"  floe dev {display_path(project.base_dir)}{platform}")


def _main_or_located_error() -> int:
    """Run :func:`main`; a located floe or config error is printed without a traceback."""
    from floe_config import ConfigError
    from floe_definitions import FloeDefinitionsError

    try:
        return main(sys.argv[1:])
    except ConfigError as exc:
        for issue in exc.issues:
            print(f"{issue.file}:{issue.line}:{issue.column}: {issue.path}: {issue.message}", file=sys.stderr)
    except FloeDefinitionsError as exc:
        print(f"floe demo: {exc}", file=sys.stderr)
    print("DEMO FAILED: the project did not load", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(_main_or_located_error())
