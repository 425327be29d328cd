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
from dagster import DagsterInstance, RunsFilter

from floe_config import FloeSpec, PlatformSpec
from floe_config.integration import load_platform_document
from floe_definitions.commands.progress import INVOCATION_TAG, ProgressView, RunProgress, TelemetryPlaces
from floe_definitions.commands.run_options import add_run_arguments, parse_tags, partition_tags, unknown_job_error
from floe_definitions.errors import RunCommandError
from floe_definitions.execution.executor_choice import choose_executor
from floe_definitions.execution.reconstruct import RECONSTRUCT_MODULE, load_once, reconstruct_job
from floe_definitions.execution.step_process_console import step_debug_lines_dropped
from floe_definitions.instance.home import open_instance
from floe_definitions.project import FloeProject
from floe_definitions.project_files import find_floe_yaml
from floe_definitions.telemetry.sinks import TelemetryOverrideWarning, lineage_sink, span_sink

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
QUIET_LOGGERS = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
"""Dagster's console logger, raised to errors: the progress view replaces its DEBUG stream."""


def register(commands: Any) -> None:
    """Add the ``run`` subcommand to the ``floe`` parser's subcommands."""
    parser = commands.add_parser("run", help="execute a job in the foreground on the project's instance")
    add_run_arguments(parser)
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
        tags = parse_tags(args.tag)
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


def _job(project: FloeProject, name: str) -> dg.JobDefinition:
    error = unknown_job_error(name, list(project.spec.orchestration.jobs), project.floe_yaml, project.locate)
    if error is not None:
        raise error
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
        return partition_tags(partition, None)
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
    return partition_tags(None, partition_range)


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
    view = ProgressView(verbose=verbose, out=out)
    progress = RunProgress(instance=instance, invocation=invocation, view=view)
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
        view.succeeded(job.name, seconds, result.run_id)
        return EXIT_OK
    failed_assets = sorted(planned_assets(project, view.failed_steps()) - view.materialized)
    view.failed(
        job.name,
        seconds,
        result.run_id,
        failed_assets=failed_assets,
        places=telemetry_places(
            project.spec,
            project.platform,
            project.base_dir,
            lineage_namespace=project.telemetry.lineage_namespace,
            compute_logs=_compute_logs(instance),
        ),
    )
    return EXIT_FAILED


def _fail_unfinished_run(instance: DagsterInstance, invocation: str, error: Exception) -> None:
    runs = instance.get_runs(RunsFilter(tags={INVOCATION_TAG: invocation}), limit=1)
    if runs and not runs[0].is_finished:
        instance.report_run_failed(runs[0], message=f"floe run: the run could not start: {error}")


def planned_assets(project: FloeProject, steps: Sequence[str]) -> set[str]:
    """The assets the given steps materialize (a dbt step fails for its failing models only)."""
    planned: set[str] = set()
    for definition in project.definitions.assets or ():
        if isinstance(definition, dg.AssetsDefinition) and definition.node_def.name in steps:
            planned.update(key.to_user_string() for key in definition.keys)
    return planned


def telemetry_places(
    spec: FloeSpec, platform: PlatformSpec, base_dir: Path, *, lineage_namespace: str, compute_logs: str
) -> TelemetryPlaces:
    """Say where a project's spans and lineage go (for messages), by the rule of ``telemetry.sinks``."""
    with warnings.catch_warnings():  # loading the project already warned about an overridden variable
        warnings.simplefilter("ignore", TelemetryOverrideWarning)
        spans = span_sink(spec, platform, base_dir)
        lineage = lineage_sink(spec, platform, base_dir)
    return TelemetryPlaces(
        spans=spans.describe(),
        lineage=lineage.describe(),
        lineage_namespace=lineage_namespace,
        compute_logs=compute_logs,
    )


def compute_logs_place(base_dir: object) -> str:
    """Say where compute logs are: the compute log manager's ``base_dir``, when it has one."""
    return os.fspath(Path(str(base_dir))) if base_dir else "the instance's compute log storage"


def _compute_logs(instance: DagsterInstance) -> str:
    data = getattr(instance.compute_log_manager, "inst_data", None)  # configurable managers carry their config
    return compute_logs_place(data.config_dict.get("base_dir") if data is not None else None)
