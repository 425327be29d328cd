"""``floe run JOB``: execute one floe job in the foreground, on the project's instance, through the platform's executor.

The job runs with Dagster's public ``execute_job`` on a reconstructable job
(:func:`~floe_definitions.execution.reconstruct.reconstruct_job`, importable in every step process and Celery
worker). Instead of Dagster's DEBUG event stream, a progress view (:mod:`floe_definitions.commands.progress`) reads
the run's events from the instance and prints one line per step and per materialized asset; ``--verbose`` prints
every event.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import dagster as dg
from dagster import DagsterEventType, DagsterInstance, RunsFilter

from floe_config.integration import did_you_mean, load_platform_document
from floe_dbt_observe.integration import format_trace_id
from floe_definitions.commands.progress import INVOCATION_TAG, RunProgress
from floe_definitions.errors import RunCommandError
from floe_definitions.execution.executor_choice import choose_executor
from floe_definitions.execution.reconstruct import RECONSTRUCT_MODULE, load_once, reconstruct_job
from floe_definitions.execution.step_process_console import step_debug_lines_dropped
from floe_definitions.instance.home import open_instance
from floe_definitions.project import FloeProject, find_floe_yaml
from floe_definitions.telemetry.run_trace import run_trace_id
from floe_definitions.telemetry.sinks import TelemetryOverrideWarning, lineage_sink, span_sink

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
QUIET_LOGGERS = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
"""Dagster's console logger, raised to errors: the progress view replaces its DEBUG stream."""


def register(commands: Any) -> None:
    """Add the ``run`` subcommand to the ``floe`` parser's subcommands."""
    parser = commands.add_parser("run", help="execute a job in the foreground on the project's instance")
    parser.add_argument("job", help="name of an orchestration.jobs entry")
    parser.add_argument("path", nargs="?", default=None, help="floe.yaml or its directory (default: FLOE_CONFIG, ./)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--partition", default=None, help="the partition key to run")
    which.add_argument("--partition-range", default=None, metavar="START...END", help="a range of partition keys")
    parser.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="a run tag (repeatable)")
    parser.add_argument("--platform", default=None, help="platform file (default: FLOE_PLATFORM_FILE / _ENV)")
    parser.add_argument("--verbose", action="store_true", help="print every Dagster event instead of the summary")
    executor = parser.add_mutually_exclusive_group()
    executor.add_argument(
        "--in-process",
        action="store_true",
        help="run every step in this process (Dagster's in-process executor) instead of the platform's executor: "
        "no process start-up per step; for development",
    )
    executor.add_argument(
        "--platform-executor",
        action="store_true",
        help="use the platform's executor even for a single-step run (which floe otherwise runs in this process "
        "when the platform's executor is the default multiprocess one)",
    )
    parser.set_defaults(handler=run_run_command)


@contextlib.contextmanager
def _without_dagster_notices(verbose: bool) -> Iterator[None]:
    """Keep Dagster's beta, preview and supersession notices about floe's own calls off the progress view.

    Only those three categories, only in this process and only until the command returns: the user's warnings
    and every other warning still show, and step processes inherit no ``PYTHONWARNINGS`` from floe.
    """
    with warnings.catch_warnings():
        if not verbose:
            for category in (dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning):
                warnings.simplefilter("ignore", category)
        yield


def run_run_command(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``floe run``; return its exit code (0 success, 1 run failed, 2 usage error)."""
    try:
        tags = _parse_tags(args.tag)
    except RunCommandError as exc:
        print(f"error: {exc.located_message}", file=sys.stderr)
        return EXIT_USAGE
    with _without_dagster_notices(args.verbose):
        return _run(args, tags, out)


def _run(args: argparse.Namespace, tags: dict[str, str], out: TextIO) -> int:
    floe_yaml = find_floe_yaml(args.path).resolve()
    # The platform file is resolved (cheaply: no asset import, no dbt) before the one project load, so that the
    # load here and Dagster's reconstruction of the job in this process share one key (see load_once).
    platform_path = load_platform_document(args.platform, floe_yaml=floe_yaml).path
    platform_file = os.fspath(platform_path.resolve()) if platform_path is not None else None
    project = load_once(os.fspath(floe_yaml), platform_file)
    try:
        job = _job(project, args.job)
    except RunCommandError as exc:
        print(f"error: {exc.located_message}", file=sys.stderr)
        return EXIT_USAGE
    choice = choose_executor(
        job,
        project.platform.execution.executor,
        in_process=args.in_process,
        platform_executor=args.platform_executor,
    )
    if choice.automatic:
        print(
            f"floe run: {job.name}: {choice.reason}; running it in this process (--platform-executor: the platform's)",
            file=out,
            flush=True,
        )
    instance = open_instance(
        project.base_dir, project.platform, platform_file=project.platform_file, locate=project.platform_locate
    )
    with instance:
        try:
            tags.update(_partition_tags(project, job, instance, args.partition, args.partition_range))
        except RunCommandError as exc:
            print(f"error: {exc.located_message}", file=sys.stderr)
            return EXIT_USAGE
        return _execute(
            project,
            job,
            instance,
            tags,
            platform_file=platform_file,
            verbose=args.verbose,
            in_process=choice.in_process,
            out=out,
        )


def _parse_tags(values: Sequence[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for value in values:
        key, sep, tag_value = value.partition("=")
        if not sep or not key:
            raise RunCommandError(f"--tag {value!r} is not KEY=VALUE; write e.g. --tag team=data", key="--tag")
        tags[key] = tag_value
    return tags


def _job(project: FloeProject, name: str) -> dg.JobDefinition:
    jobs = list(project.spec.orchestration.jobs)
    if name not in jobs:
        known = ", ".join(jobs) or "(none)"
        raise RunCommandError(
            f"unknown job {name!r}{did_you_mean(name, jobs)}; the jobs of {project.floe_yaml or 'floe.yaml'}: {known}",
            location=project.locate("orchestration.jobs"),
            key="orchestration.jobs",
        )
    return project.definitions.resolve_job_def(name)


def _partition_tags(
    project: FloeProject,
    job: dg.JobDefinition,
    instance: DagsterInstance,
    partition: str | None,
    partition_range: str | None,
) -> dict[str, str]:
    """Return the run tags selecting ``partition`` or ``partition_range``, checked against the job's partitions."""
    if partition is None and partition_range is None:
        return {}
    partitions_def = job.partitions_def
    flag = "--partition" if partition is not None else "--partition-range"
    if partitions_def is None:
        raise RunCommandError(
            f"job {job.name!r} is not partitioned, so {flag} does not apply; run it without {flag}",
            location=project.locate(f"orchestration.jobs.{job.name}"),
            key=f"orchestration.jobs.{job.name}",
        )
    keys = list(partitions_def.get_partition_keys(dynamic_partitions_store=instance))
    name = {str(definition): name for name, definition in project.orchestration.partitions.items()}.get(
        str(partitions_def)
    )
    key = f"orchestration.partitions.{name}" if name else f"orchestration.jobs.{job.name}"

    def check(value: str) -> None:
        if value in keys:
            return
        span = f"keys {keys[0]} ... {keys[-1]}, {len(keys)} in all" if keys else "no keys yet"
        label = f"partitions {name!r}" if name else f"the partitions of job {job.name!r}"
        raise RunCommandError(
            f"partition {value!r} is not in {label} ({str(partitions_def).rstrip('.')}; {span}); "
            "pass a key in that range",
            location=project.locate(key),
            key=key,
        )

    if partition is not None:
        check(partition)
        return {"dagster/partition": partition}
    assert partition_range is not None
    start, sep, end = partition_range.partition("...")
    if not sep or not start or not end:
        raise RunCommandError(
            f"--partition-range {partition_range!r} is not START...END; write e.g. 2024-01-01...2024-01-31",
            key="--partition-range",
        )
    check(start)
    check(end)
    if keys.index(start) > keys.index(end):
        raise RunCommandError(
            f"--partition-range {partition_range!r}: {start!r} comes after {end!r}; swap them", key="--partition-range"
        )
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}


def _execute(
    project: FloeProject,
    job: dg.JobDefinition,
    instance: DagsterInstance,
    tags: Mapping[str, str],
    *,
    platform_file: str | None,
    verbose: bool,
    out: TextIO,
    in_process: bool = False,
) -> int:
    assert project.floe_yaml is not None
    invocation = uuid.uuid4().hex
    recon = dg.build_reconstructable_job(
        RECONSTRUCT_MODULE,
        reconstruct_job.__name__,
        reconstructable_args=(  # type: ignore[arg-type]  # Dagster types the tuple as one element
            os.fspath(project.floe_yaml.resolve()),
            platform_file,
            job.name,
            in_process,
        ),
    )
    progress = RunProgress(instance=instance, invocation=invocation, verbose=verbose, out=out)
    follower = threading.Thread(target=progress.follow, name="floe-run-progress", daemon=True)
    follower.start()
    started = time.monotonic()
    console = contextlib.nullcontext() if verbose else step_debug_lines_dropped(job.name)
    try:
        with console:
            result = dg.execute_job(
                recon,
                instance=instance,
                run_config=None if verbose else QUIET_LOGGERS,
                tags={**tags, INVOCATION_TAG: invocation},
                raise_on_error=False,
            )
    except Exception as exc:
        # Raised before the run's own failure handling (e.g. the executor could not be created: broker down):
        # Dagster leaves the run STARTED; mark it failed so no run of this command stays unfinished.
        _fail_unfinished_run(instance, invocation, exc)
        raise
    finally:
        progress.finish()
        follower.join(timeout=10)
    seconds = time.monotonic() - started
    if result.success:
        print(f"floe run: {job.name} succeeded in {seconds:.1f} s (run {result.run_id})", file=out)
        return EXIT_OK
    failed = [step for step, (status, _) in progress.steps.items() if status == "FAILED"]
    failed_assets = sorted(_failed_assets(project, result, failed))
    print(f"floe run: {job.name} FAILED in {seconds:.1f} s (run {result.run_id})", file=out)
    print(f"  failed steps: {', '.join(failed) or '(none: the run itself failed)'}", file=out)
    for reason in _run_errors(result):
        print(f"  error: {reason}", file=out)
    if failed_assets:
        print(f"  failed assets: {', '.join(failed_assets)}", file=out)
    spans, lineage = telemetry_destinations(project)
    print(f"  spans: trace {format_trace_id(run_trace_id(result.run_id))} in {spans}", file=out)
    print(
        f"  lineage: parent run {result.run_id} (namespace {project.telemetry.lineage_namespace}) in {lineage}",
        file=out,
    )
    print(f"  logs: floe dev, then the run's page; compute logs under {_compute_logs(instance)}", file=out)
    return EXIT_FAILED


def _fail_unfinished_run(instance: DagsterInstance, invocation: str, error: Exception) -> None:
    runs = instance.get_runs(RunsFilter(tags={INVOCATION_TAG: invocation}), limit=1)
    if runs and not runs[0].is_finished:
        instance.report_run_failed(runs[0], message=f"floe run: the run could not start: {error}")


def _failed_assets(project: FloeProject, result: dg.ExecuteJobResult, failed_steps: Sequence[str]) -> set[str]:
    """The assets of failed steps that did not materialize (a dbt step fails for its failing models only)."""
    planned: set[str] = set()
    for definition in project.definitions.assets or ():
        if isinstance(definition, dg.AssetsDefinition) and definition.node_def.name in failed_steps:
            planned.update(key.to_user_string() for key in definition.keys)
    materialized = {
        event.asset_key.to_user_string()
        for event in result.all_events
        if event.event_type == DagsterEventType.ASSET_MATERIALIZATION and event.asset_key is not None
    }
    return planned - materialized


def _run_errors(result: dg.ExecuteJobResult) -> list[str]:
    """The innermost error messages of the run-level failures (executor creation, run worker), deduplicated."""
    reasons: list[str] = []
    for event in result.all_events:
        if event.step_key is not None or event.event_type not in (
            DagsterEventType.RUN_FAILURE,
            DagsterEventType.ENGINE_EVENT,
        ):
            continue
        error = getattr(event.event_specific_data, "error", None)
        while error is not None and error.cause is not None:
            error = error.cause
        if error is not None:
            lines = [line.strip() for line in error.message.splitlines() if line.strip()]
            text = lines[0] if lines else error.cls_name or "error"
            if text.endswith(":") and len(lines) > 1:  # a heading over the errors (dagster-celery's): add the first
                text = f"{text} {lines[1]}"
            if text not in reasons:
                reasons.append(text)
    return reasons


def telemetry_destinations(project: FloeProject) -> tuple[str, str]:
    """Say where the project's spans and lineage events go (for messages), by the rule of ``telemetry.sinks``."""
    with warnings.catch_warnings():  # loading the project already warned about an overridden variable
        warnings.simplefilter("ignore", TelemetryOverrideWarning)
        spans = span_sink(project.spec, project.platform, project.base_dir)
        lineage = lineage_sink(project.spec, project.platform, project.base_dir)
    return spans.describe(), lineage.describe()


def _compute_logs(instance: DagsterInstance) -> str:
    data = getattr(instance.compute_log_manager, "inst_data", None)  # configurable managers carry their config
    base = data.config_dict.get("base_dir") if data is not None else None
    return os.fspath(Path(base)) if base else "the instance's compute log storage"
