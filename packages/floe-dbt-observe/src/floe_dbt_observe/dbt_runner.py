"""The body of each dbt ``AssetsDefinition``: run ``dbt build`` and observe it node by node.

Reads ``DbtCliInvocation.stream_raw_events()`` -- dbt's own node events -- and turns each raw
event both into spans / lineage runs and into the Dagster events ``stream()`` would have
yielded, with the trace, span and lineage ids added to their metadata.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dagster import AssetCheckResult, AssetExecutionContext, AssetKey, AssetMaterialization, AssetObservation, Output
from dagster_dbt import DbtCliResource
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode, TracerProvider

from floe_dbt_observe.dbt_engine import DbtEngine, detect_dbt_engine, installed_dbt_core, refuse_in_process_fusion
from floe_dbt_observe.dbt_trace import (
    DBT_OTEL_FLAG,
    DbtTraceSettings,
    dbt_core_version,
    dbt_has_spans,
    write_launch_file,
)
from floe_dbt_observe.errors import DbtEngineVersionError
from floe_dbt_observe.lineage_emitter import EmissionReport, LineageEmitter
from floe_dbt_observe.lineage_run_ids import StepAttempt, run_created
from floe_dbt_observe.link_metadata import (
    CHECK_NAME_KEY,
    DBT_MESSAGE_KEY,
    DBT_STATUS_KEY,
    DBT_UNIQUE_ID_KEY,
    NodeLink,
)
from floe_dbt_observe.manifest import manifest_adapter_type
from floe_dbt_observe.options import DbtInvocation, JobNames, Observability, PartitionVarsFn, PinSpanId, SpanFlush
from floe_dbt_observe.tracing import (
    dagster_step_span_context,
    format_span_id,
    format_trace_id,
    get_tracer,
    ns_to_iso,
    step_parent_context,
)
from floe_dbt_observe.warehouse_columns import columns_reader
from floe_dbt_observe.warehouse_namespace import credentials_namespace, profile_credentials

if TYPE_CHECKING:
    # openlineage-python takes ~0.8 s to import: loaded only when a step runs with lineage on
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import RunState

    from floe_dbt_observe.lineage_context import LineageContext
    from floe_dbt_observe.node_observer import NodeObserver

logger = logging.getLogger(__name__)


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"


PACKAGE_VERSION = _version("floe-dbt-observe")


@dataclass(frozen=True)
class RunnerConfig:
    """Everything a dbt step needs besides its context.

    Attributes:
        dbt: The dbt CLI resource (used when ``dbt_resource_key`` is None).
        dbt_resource_key: Dagster resource key to take the dbt resource from instead.
        project_dir: Absolute dbt project directory.
        build_args: dbt command and flags (``["build"]`` plus extras).
        partition_vars: Returns the dbt vars for the step's partitions.
        observability: ``per_model``, ``job_level`` or ``off``.
        tracer_provider: Tracer provider, None for the global one.
        lineage: OpenLineage client, None to emit no lineage.
        lineage_namespace: OpenLineage namespace of dbt jobs.
        parent_namespace: OpenLineage namespace of the Dagster job (parent run).
        dataset_namespace: Warehouse namespace, None to derive it from the dbt profile.
        job_names: ``dbt_ol`` (dbt-ol's job names) or ``floe`` (``<project>.<node name>``), see
            ``LineageContext.job_name``.
        column_lineage: Compute column lineage with sqlglot.
        warehouse_columns: Read the built relations' columns and types from the warehouse once dbt has exited.
        max_queue: Most lineage events held in memory.
        flush_timeout_seconds: Longest wait for lineage and span export at the end of the step (neither is
            waited for at all once its backend is known to be failing or slow).
        span_flush: The application's end-of-step span flush (see ``SpanFlush``), None to flush nothing.
        asset_keys: dbt unique id -> asset key string for the whole selection.
        executor_step_spans: The executor opens the step span (ids from ``dagster_step_span_context``); node
            spans are its children and the step opens no ``dbt.build`` span.
        dbt_invocation: ``subprocess`` (dagster-dbt's ``DbtCliResource.cli``) or ``in_process`` (``dbtRunner`` in
            the step's process, see ``dbt_in_process``; the subprocess when its probe fails).
        dbt_spans: Turn dbt-core 1.12's own spans on, in the step's trace (``dbt_trace``).
        query_comment: Add ``traceparent`` to dbt's query comment (``dbt_trace``).
        pin_span_id: The application's span-id pin for node spans (``options.PinSpanId``), or None.
        dbt_span_export: The exporter spec a dbt subprocess exports dbt's spans with (``dbt_launcher``), or None.
    """

    dbt: DbtCliResource | None
    dbt_resource_key: str | None
    project_dir: Path
    build_args: tuple[str, ...]
    partition_vars: PartitionVarsFn
    observability: Observability
    tracer_provider: TracerProvider | None
    lineage: OpenLineageClient | None
    lineage_namespace: str
    parent_namespace: str
    dataset_namespace: str | None
    column_lineage: bool
    max_queue: int
    flush_timeout_seconds: float
    asset_keys: Mapping[str, str]
    executor_step_spans: bool = False
    span_flush: SpanFlush | None = None
    warehouse_columns: bool = True
    dbt_invocation: DbtInvocation = "subprocess"
    job_names: JobNames = "dbt_ol"
    dbt_spans: bool = False
    query_comment: bool = False
    pin_span_id: PinSpanId | None = None
    dbt_span_export: Mapping[str, Any] | None = None


def _decorate(event: Any, link: NodeLink | None) -> Any:
    if link is None:
        return event
    metadata = link.as_metadata()
    if isinstance(event, Output):
        return event.with_metadata({**(event.metadata or {}), **metadata})
    if isinstance(event, AssetMaterialization | AssetCheckResult | AssetObservation):
        return event.with_metadata({**(event.metadata or {}), **metadata})
    return event


def _credentials_source(
    dbt: DbtCliResource, adapter: object, dbt_vars: Mapping[str, Any]
) -> Callable[[], object | None]:
    """Return a callable giving the dbt profile's credentials: the in-process adapter's, else read once, lazily."""
    known = getattr(getattr(adapter, "config", None), "credentials", None)
    cache: list[object | None] = [known] if known is not None else []

    def credentials() -> object | None:
        if not cache:
            cache.append(
                profile_credentials(
                    Path(dbt.project_dir),
                    profiles_dir=Path(dbt.profiles_dir) if dbt.profiles_dir else None,
                    profile=dbt.profile,
                    target=dbt.target,
                    cli_vars=dbt_vars,
                )
            )
        return cache[0]

    return credentials


def _dataset_namespace_source(
    config: RunnerConfig, credentials: Callable[[], object | None], manifest: Mapping[str, Any]
) -> str | Callable[[], str]:
    """Return the warehouse namespace, or a callable reading it from the dbt profile on first use."""
    if config.dataset_namespace:
        return config.dataset_namespace

    def from_profile() -> str:  # the same as warehouse_namespace.dataset_namespace, with the step's credentials
        return credentials_namespace(manifest, credentials())

    return from_profile


def _nominal_time(context: AssetExecutionContext) -> tuple[str, str | None] | None:
    """Return the ISO time window of the step's partition(s) (the ``nominalTime`` of its node runs), or None."""
    from floe_dbt_observe.partition_vars import partition_time_window

    try:
        window = partition_time_window(context)
    except Exception:  # a partition the definition cannot place in time: no nominal time, never a failed step
        logger.debug("cannot compute the partition's time window", exc_info=True)
        return None
    return (window.start.isoformat(), window.end.isoformat()) if window is not None else None


def _asset_owners_and_tags(
    context: AssetExecutionContext, asset_keys: Mapping[str, str]
) -> tuple[dict[str, Sequence[str]], dict[str, Mapping[str, str]]]:
    """Return dbt unique id -> owners and -> tags of the step's asset specs (floe.yaml's patterns applied)."""
    unique_ids = {key: unique_id for unique_id, key in asset_keys.items()}
    owners: dict[str, Sequence[str]] = {}
    tags: dict[str, Mapping[str, str]] = {}
    for spec in context.assets_def.specs:
        unique_id = unique_ids.get(spec.key.to_user_string())
        if unique_id is None:
            continue
        if spec.owners:
            owners[unique_id] = tuple(spec.owners)
        if spec.tags:
            tags[unique_id] = dict(spec.tags)
    return owners, tags


def _node_span_pin(
    pin_span_id: PinSpanId | None, settings: DbtTraceSettings | None
) -> Callable[[str], AbstractContextManager[None]] | None:
    """Return ``unique id -> pin`` giving a node span the id dbt's query comments name, None when not pinned."""
    if pin_span_id is None or settings is None or not settings.node_span_ids:
        return None
    return lambda unique_id: pin_span_id(settings.node_span_id(unique_id))


def _launch_traced(
    dbt: DbtCliResource,
    args: Sequence[str],
    context: AssetExecutionContext,
    settings: DbtTraceSettings,
    span_export: Mapping[str, Any] | None,
) -> Any | None:
    """Run dbt as ``floe-dbt`` (``dbt_launcher``) with the step's trace settings; None when dbt cannot be wrapped.

    The settings go into a file in the invocation's own target path, which dagster-dbt gives dbt as
    ``DBT_TARGET_PATH``; the step's environment is left alone.
    """
    import uuid

    from floe_dbt_observe.dbt_launcher import launcher_beside

    launcher = launcher_beside(dbt.dbt_executable)
    if launcher is None:
        context.log.debug(f"floe-dbt-observe: {dbt.dbt_executable} is not wrapped; dbt runs without trace settings")
        return None
    base = Path(os.environ.get("DBT_TARGET_PATH", "target"))
    base = base if base.is_absolute() else Path(dbt.project_dir) / base
    target_path = base / f"floe-{context.run.run_id[:8]}-{uuid.uuid4().hex[:12]}"
    write_launch_file(target_path, settings, dict(span_export) if span_export else None)
    wrapped = dbt.model_copy(update={"dbt_executable": launcher})
    return wrapped.cli(list(args), context=context, target_path=target_path)


def unreported_node_records(observer: NodeObserver) -> Iterator[AssetObservation]:
    """Yield an observation for each node that ended without a Dagster record of its own.

    dagster-dbt reports a materialization for a model that succeeded and a check evaluation for a test that ran;
    a model that failed or was skipped, and a test that was skipped, get neither. Each gets an
    ``AssetObservation`` on its asset (a test: on the asset it checks, with ``floe/check_name``) carrying its
    span and lineage ids, dbt's status and message, so the Dagster UI reaches its telemetry too.
    """
    for unique_id, status in observer.unreported():
        record = observer.record_target(unique_id)
        link = observer.links.get(unique_id)
        if record is None or link is None:
            continue
        asset_key, check_name = record
        metadata: dict[str, str] = {**link.as_metadata(), DBT_STATUS_KEY: status, DBT_UNIQUE_ID_KEY: unique_id}
        if check_name is not None:
            metadata[CHECK_NAME_KEY] = check_name
        message = observer.message(unique_id)
        if message:
            metadata[DBT_MESSAGE_KEY] = message[:4000]
        yield AssetObservation(asset_key=AssetKey.from_user_string(asset_key), metadata=metadata)


@dataclass
class _ObservedStep:
    """What an observed step holds from its start to its end (``DbtStepRunner._finish``)."""

    op_name: str
    span: trace.Span
    emitter: LineageEmitter | None
    invocation_run_id: str | None
    """The job-level lineage run of the whole invocation (``job_level``), None without lineage."""
    attempt: StepAttempt | None = None
    """The step attempt the lineage run ids derive from (None without lineage)."""
    lineage_ctx: LineageContext | None = None
    observer: NodeObserver | None = None
    """``per_model``: spans and lineage runs node by node."""
    link: NodeLink | None = None
    """``job_level``: the ids every Dagster event of the invocation carries."""
    executed: list[str] = field(default_factory=list)
    """``job_level``: the nodes dbt started, for the invocation's end event."""


class DbtStepRunner:
    """Run one dbt invocation for a step of a dbt ``AssetsDefinition``."""

    def __init__(self, config: RunnerConfig) -> None:
        self.config = config

    def _resource(self, context: AssetExecutionContext) -> DbtCliResource:
        if self.config.dbt_resource_key is not None:
            resource = getattr(context.resources, self.config.dbt_resource_key)
            if not isinstance(resource, DbtCliResource):
                raise TypeError(
                    f"resource {self.config.dbt_resource_key!r} must be a DbtCliResource, got {type(resource).__name__}"
                )
            return resource
        assert self.config.dbt is not None
        return self.config.dbt

    def _engine(self, dbt: DbtCliResource) -> DbtEngine:
        """Return the engine the step runs: dbt-core's ``dbtRunner`` in process, else the executable's.

        Raises:
            FusionInProcessError: An in-process invocation with a dbt Fusion executable.
        """
        if self.config.dbt_invocation == "in_process":
            refuse_in_process_fusion(dbt.dbt_executable)
            return installed_dbt_core()
        try:
            return detect_dbt_engine(dbt.dbt_executable)
        except DbtEngineVersionError as exc:  # a label only: dbt itself says what is wrong with the executable
            logger.warning("floe-dbt-observe: %s", exc)
            return DbtEngine("dbt", "unknown")

    def _invoke(
        self,
        dbt: DbtCliResource,
        args: Sequence[str],
        context: AssetExecutionContext,
        trace_settings: DbtTraceSettings | None = None,
    ) -> Any:
        """Start dbt: a ``DbtCliInvocation`` (subprocess) or an ``InProcessDbtInvocation`` (``dbtRunner``)."""
        if self.config.dbt_invocation == "in_process":
            from floe_dbt_observe.dbt_in_process import start_in_process

            invocation = start_in_process(dbt, args, context, trace_settings)
            if invocation is not None:
                return invocation
        if trace_settings is not None:
            launched = _launch_traced(dbt, args, context, trace_settings, self.config.dbt_span_export)
            if launched is not None:
                return launched
        return dbt.cli(args, context=context)

    def _trace_settings(self, context: AssetExecutionContext, step_span: trace.Span) -> DbtTraceSettings | None:
        """Return what this step's dbt does with traces (dbt's spans, query comments), None for nothing."""
        config = self.config
        spans = config.dbt_spans
        if spans and not dbt_has_spans():
            context.log.warning(
                f"floe-dbt-observe: dbt's own spans need dbt-core 1.12 or later (installed: {dbt_core_version()}); "
                "the step runs without them. Upgrade dbt-core or turn dbt_spans off."
            )
            spans = False
        span_context = step_span.get_span_context()
        if not (spans or config.query_comment) or not span_context.is_valid:
            return None
        return DbtTraceSettings(
            trace_id=span_context.trace_id,
            step_span_id=span_context.span_id,
            spans=spans,
            query_comment=config.query_comment,
            node_span_ids=config.pin_span_id is not None and config.observability == "per_model",
            tracer_provider=config.tracer_provider,
        )

    def run(self, context: AssetExecutionContext) -> Iterator[Any]:
        """Run dbt for the step's selection and yield its Dagster events."""
        config = self.config
        args = list(config.build_args)
        dbt_vars = dict(config.partition_vars(context))
        if dbt_vars:
            args += ["--vars", json.dumps(dbt_vars, sort_keys=True, default=str)]
        dbt = self._resource(context)
        engine = self._engine(dbt)  # refuses an in-process invocation with dbt Fusion, whatever the observability
        if config.observability == "off":
            yield from self._run_unobserved(context, dbt, args)
        else:
            yield from self._run_observed(context, dbt, engine, args, dbt_vars)

    def _run_unobserved(self, context: AssetExecutionContext, dbt: DbtCliResource, args: list[str]) -> Iterator[Any]:
        """Run dbt as plain dagster-dbt would (``observability="off"``): no span, no lineage, no floe metadata."""
        if self.config.dbt_invocation == "subprocess":
            yield from dbt.cli(args, context=context).stream()
            return
        plain = self._invoke(dbt, args, context)
        for raw in plain.stream_raw_events():
            yield from raw.to_default_asset_events(
                manifest=plain.manifest,
                dagster_dbt_translator=plain.dagster_dbt_translator,
                context=context,
                target_path=plain.target_path,
                project=plain.project,
            )

    def _run_observed(
        self,
        context: AssetExecutionContext,
        dbt: DbtCliResource,
        engine: DbtEngine,
        args: list[str],
        dbt_vars: dict[str, Any],
    ) -> Iterator[Any]:
        """Run dbt under the step span, observe it node by node (or as one invocation), then close it all."""
        config = self.config
        engine_attributes = {"dbt.engine.name": engine.name, "dbt.engine.version": engine.version}
        tracer = get_tracer(config.tracer_provider, PACKAGE_VERSION)
        op_name = context.op_execution_context.op.name
        step_span = self._step_span(context, tracer, op_name, args, engine_attributes)
        trace_settings = self._trace_settings(context, step_span)
        if trace_settings is not None and trace_settings.spans:
            args.append(DBT_OTEL_FLAG)
        emitter = LineageEmitter(config.lineage, config.max_queue) if config.lineage is not None else None
        # derived lineage run ids: the run worker ends the runs of a step whose worker was lost (lineage_run_ids)
        step_key = context.op_execution_context.get_step_execution_context().step.key
        attempt = (
            StepAttempt(
                context.run.run_id, step_key, context.retry_number, run_created(context.instance, context.run.run_id)
            )
            if emitter is not None
            else None
        )
        step = _ObservedStep(
            op_name=op_name,
            span=step_span,
            emitter=emitter,
            invocation_run_id=attempt.invocation_run_id() if attempt is not None else None,
            attempt=attempt,
        )
        error: BaseException | None = None
        try:
            with trace.use_span(step_span, end_on_exit=False):
                invocation = self._invoke(dbt, args, context, trace_settings)
            if emitter is not None:
                step.lineage_ctx = self._lineage_context(context, dbt, engine, invocation, dbt_vars)
            self._start_observing(step, context, tracer, invocation.manifest, trace_settings, engine_attributes)
            yield from self._observed_events(context, dbt, invocation, step, bool(dbt_vars))
            if step.observer is not None:
                yield from unreported_node_records(step.observer)
        except Exception as exc:
            error = exc
            if step.observer is not None:  # before the step fails: the failed and skipped nodes' ids reach Dagster
                yield from unreported_node_records(step.observer)
            raise
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._finish(context, step, error)

    def _step_span(
        self,
        context: AssetExecutionContext,
        tracer: trace.Tracer,
        op_name: str,
        args: Sequence[str],
        engine_attributes: Mapping[str, str],
    ) -> trace.Span:
        """Return the step span: the executor's (not recording here, same ids) or a ``dbt.build`` span of its own."""
        config = self.config
        if config.executor_step_spans:
            # the executor's step span (same ids in its process) is the one step span: nodes hang under it
            step_key = context.op_execution_context.get_step_execution_context().step.key
            return trace.NonRecordingSpan(dagster_step_span_context(context.run.run_id, step_key, context.retry_number))
        return tracer.start_span(
            f"dbt.build {op_name}",
            context=step_parent_context(context.run.run_id),
            attributes={
                "dagster.run_id": context.run.run_id,
                "dagster.job": context.run.job_name or "",
                "dagster.op": op_name,
                "dbt.command": " ".join(args),
                "floe.observability": config.observability,
                **engine_attributes,
            },
        )

    def _lineage_context(
        self,
        context: AssetExecutionContext,
        dbt: DbtCliResource,
        engine: DbtEngine,
        invocation: Any,
        dbt_vars: dict[str, Any],
    ) -> LineageContext:
        """Return what the step's lineage events are built from: the invocation's manifest, namespaces, parent run."""
        from floe_dbt_observe.lineage_context import LineageContext, ParentRun, project_info_source

        config = self.config
        manifest = invocation.manifest
        owners, tags = _asset_owners_and_tags(context, config.asset_keys)
        credentials = _credentials_source(dbt, invocation.adapter, dbt_vars)
        adapter_type = manifest_adapter_type(manifest)
        return LineageContext(
            manifest=manifest,
            job_namespace=config.lineage_namespace,
            dataset_namespace_source=_dataset_namespace_source(config, credentials, manifest),
            parent=ParentRun(
                run_id=context.run.run_id,
                job_name=context.run.job_name or "__ASSET_JOB",
                namespace=config.parent_namespace,
            ),
            dbt_version=engine.version,
            engine_name=engine.lineage_name,
            dbt_runtime=engine.runtime,
            openlineage_version=_version("openlineage-python"),
            target_path=invocation.target_path,
            project_dir=config.project_dir,
            column_lineage=config.column_lineage,
            asset_keys=config.asset_keys,
            dagster_run_id=context.run.run_id,
            nominal_time=_nominal_time(context),
            asset_owners=owners,
            asset_tags=tags,
            job_names=config.job_names,
            project_info_source=project_info_source(Path(dbt.project_dir), dbt.profile, dbt_vars),
            columns_reader_source=(
                (lambda: columns_reader(adapter_type, credentials(), project_dir=config.project_dir))
                if config.warehouse_columns
                else None
            ),
        )

    def _start_observing(
        self,
        step: _ObservedStep,
        context: AssetExecutionContext,
        tracer: trace.Tracer,
        manifest: Mapping[str, Any],
        trace_settings: DbtTraceSettings | None,
        engine_attributes: dict[str, str],
    ) -> None:
        """Set up ``per_model`` observation (a node observer), or ``job_level``'s one link and lineage START."""
        from openlineage.client.event_v2 import RunState

        from floe_dbt_observe.node_observer import NodeObserver

        config = self.config
        if config.observability == "per_model":
            step.observer = NodeObserver(
                tracer,
                trace.set_span_in_context(step.span),
                step.emitter,
                step.lineage_ctx,
                config.asset_keys,
                context.run.run_id,
                manifest=manifest,
                pin_span_id=_node_span_pin(config.pin_span_id, trace_settings),
                span_attributes=engine_attributes,
                node_run_id=step.attempt.node_run_id if step.attempt is not None else None,
            )
            return
        span_context = step.span.get_span_context()
        job_name = f"{step.lineage_ctx.project_name}.{step.op_name}" if step.lineage_ctx is not None else None
        step.link = NodeLink(
            trace_id=format_trace_id(span_context.trace_id),
            span_id=format_span_id(span_context.span_id),
            openlineage_run_id=step.invocation_run_id,
            openlineage_job=f"{config.lineage_namespace}/{job_name}" if job_name else None,
        )
        if step.invocation_run_id is not None:
            step.span.set_attribute("openlineage.run_id", step.invocation_run_id)
        self._emit_invocation(step, RunState.START)

    def _observed_events(
        self,
        context: AssetExecutionContext,
        dbt: DbtCliResource,
        invocation: Any,
        step: _ObservedStep,
        partition_vars: bool,
    ) -> Iterator[Any]:
        """Yield dagster-dbt's events for each of dbt's raw events, with the node's (or step's) ids added."""
        from floe_dbt_observe.reparse_notice import reparse_notice

        reparse_said = False
        for raw in invocation.stream_raw_events():
            if not reparse_said:
                notice = reparse_notice(raw.raw_event, dbt.target, partition_vars)
                if notice is not None:
                    context.log.log(*notice)
                    reparse_said = True
            link = step.observer.on_event(raw.raw_event) if step.observer is not None else step.link
            if step.observer is None:
                node_info = (raw.raw_event.get("data") or {}).get("node_info") or {}
                if node_info.get("unique_id") and raw.raw_event.get("info", {}).get("name") == "LogStartLine":
                    step.executed.append(str(node_info["unique_id"]))
            for event in raw.to_default_asset_events(
                manifest=invocation.manifest,
                dagster_dbt_translator=invocation.dagster_dbt_translator,
                context=context,
                target_path=invocation.target_path,
                project=invocation.project,
            ):
                yield _decorate(event, link)

    def _emit_invocation(self, step: _ObservedStep, state: RunState, message: str | None = None) -> None:
        """Submit the job-level lineage event of the whole invocation (its START, or its end over the nodes run)."""
        emitter, ctx, run_id = step.emitter, step.lineage_ctx, step.invocation_run_id
        if emitter is None or ctx is None or run_id is None:
            return
        import time

        from floe_dbt_observe.lineage_events import invocation_event

        event_time = ns_to_iso(time.time_ns())
        nodes = list(step.executed)
        job_name = f"{ctx.project_name}.{step.op_name}"
        link = step.link
        trace_id = link.trace_id if link else None
        span_id = link.span_id if link else None
        emitter.submit(
            lambda: invocation_event(
                ctx,
                run_id=run_id,
                job_name=job_name,
                state=state,
                event_time=event_time,
                node_ids=nodes,
                trace_id=trace_id,
                span_id=span_id,
                message=message,
            )
        )

    def _finish(self, context: AssetExecutionContext, step: _ObservedStep, error: BaseException | None) -> None:
        """End the observation: close the nodes, end the step span, flush lineage and spans, report what was lost."""
        from openlineage.client.event_v2 import RunState

        config = self.config
        step_span = step.span
        try:
            if step.observer is not None:
                step.observer.close(error if not isinstance(error, GeneratorExit) else None)
            if config.observability == "job_level":
                state = RunState.COMPLETE if error is None else RunState.FAIL
                self._emit_invocation(step, state, message=str(error) if error is not None else None)
            if error is not None and not isinstance(error, GeneratorExit):
                # OpenTelemetry's conventions: ERROR with error.type and an exception event; success stays UNSET
                step_span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"[:2000]))
                step_span.set_attribute("error.type", type(error).__qualname__)
                step_span.record_exception(error)
        except Exception:  # observability must never replace the step's own outcome
            logger.warning("floe-dbt-observe: closing spans/lineage failed", exc_info=True)
        finally:
            step_span.end()
        # COMPLETE events held for the warehouse's columns are built only now (column lineage included): the flush
        # waits for them while they keep being delivered (a failing or slow backend is not waited for at all)
        held = step.lineage_ctx.released if step.lineage_ctx is not None else 0
        emitter = step.emitter
        report = (
            emitter.close(config.flush_timeout_seconds, while_progressing=held > 0) if emitter is not None else None
        )
        span_problem = None
        if config.span_flush is not None:
            try:
                span_problem = config.span_flush(step_span.get_span_context().trace_id, config.flush_timeout_seconds)
            except Exception:  # the application's flush hook must never fail the step
                logger.warning("floe-dbt-observe: the span flush hook failed", exc_info=True)
        self._report(context, report, span_problem)

    @staticmethod
    def _report(context: AssetExecutionContext, report: EmissionReport | None, span_problem: str | None) -> None:
        problems: list[str] = []
        if report is not None and report.problems:
            why = f", not waited for: {report.gave_up}" if report.gave_up else ""
            problems.append(
                f"{report.problems} OpenLineage event(s) not delivered "
                f"(failed={report.failed}, dropped={report.dropped}, still pending at the step's end={report.pending}; "
                f"sent={report.sent}{why})"
            )
        if span_problem is not None:
            problems.append(span_problem)
        if problems:
            context.log.warning("floe-dbt-observe: " + "; ".join(problems) + ". The dbt run itself is unaffected.")
