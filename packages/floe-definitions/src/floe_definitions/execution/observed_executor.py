"""Executor-level instrumentation: a span and a lineage run per step, with no code in the asset.

:class:`ObservedExecutor` wraps one of Dagster's own executors (in-process, multiprocess, Celery, Kubernetes)
and watches the event stream its ``execute`` yields. That stream is produced in the run worker for every
executor, whatever process or pod a step runs in, so one wrapper observes them all:

* execution starts -> the run span opens (trace id = the Dagster run id, see
  :mod:`floe_definitions.telemetry.run_trace`) and the Dagster run's own OpenLineage run STARTs (run id = the Dagster
  run id: the ``parent`` and ``root`` of every step and dbt node run);
* ``STEP_START`` -> a step span (child of the run span) and, unless the step's assets are dbt models (which
  floe-dbt-observe gives per-model lineage), an OpenLineage run START (an op step of an ops job too: job type
  TASK, no datasets);
* ``ASSET_MATERIALIZATION`` -> the table an asset reports is remembered for the COMPLETE event's outputs;
* ``STEP_SUCCESS`` / ``STEP_FAILURE`` / ``STEP_UP_FOR_RETRY`` -> span UNSET / ERROR (with ``error.type`` and an
  ``exception`` event) and COMPLETE / FAIL (ABORT for a step failed by the run's termination); a dbt step whose
  Celery worker was lost (``CeleryWorkerLostError``) also gets its open node runs ended
  (:mod:`floe_definitions.execution.lost_step_records`), which its dead process cannot do;
* execution ends (or is interrupted) -> open steps end as ERROR / ABORT, the Dagster run's lineage run ends
  COMPLETE, FAIL (a step failed, or the executor raised) or ABORT (terminated: Dagster raises
  ``DagsterExecutionInterruptedError`` in the run worker), the run span ends, spans and lineage are flushed.

This lives in the run worker, not in a run-status sensor: it needs no daemon and sees every executor. A run
worker killed with SIGKILL runs no code at all, so its Dagster run keeps a START without a terminal event (its
steps' and nodes' runs too); Dagster's run monitoring marks the run failed, but no lineage says so.

A step span starts and ends, and a step's lineage events are timed, when the step's events happened. With the
in-process executor that is when they reach the run worker. The multiprocess executor's run worker drains step
processes' queues between its own work, dagster-celery hands over a step's events only when its task returns, and
a step-delegating executor (Kubernetes) reads them back from the event log on a polling tick: for those
(``recorded_step_times``), the times are those the step's process stored with the events, read from the run's
instance (:mod:`floe_definitions.execution.step_event_times`), so the dbt node spans a worker emits lie within their
step's span.

Telemetry never fails or blocks the run: every emission is guarded, failures are counted, logged once, and
reported in one warning when the run ends.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dagster import (
    AssetKey,
    DagsterEvent,
    DagsterEventType,
    DagsterExecutionInterruptedError,
    Executor,
    JobDefinition,
)
from dagster import __version__ as dagster_version
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import RunState
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode, TracerProvider

from floe_dbt_observe.integration import DbtStepLineage, LineageEmitter, ParentRun, ns_to_iso
from floe_definitions.errors import CeleryWorkerLostError
from floe_definitions.execution.lost_step_records import lost_dbt_step_events
from floe_definitions.execution.run_partitions import PARTITION_TAG, run_time_window
from floe_definitions.execution.step_assets import StepAssets, job_owners, step_assets
from floe_definitions.execution.step_event_times import RecordedStepTimes
from floe_definitions.execution.step_lineage import DatasetNaming, dagster_run_event, lineage_job_name, step_event
from floe_definitions.telemetry.run_trace import run_span_ids, run_trace_id, step_lineage_run_id, step_span_ids
from floe_definitions.telemetry.span_delivery import flush_spans

if TYPE_CHECKING:
    from floe_definitions._compat import ExecutionPlan, PlanOrchestrationContext, RetryMode, StepDependencyConfig

logger = logging.getLogger(__name__)

INSTRUMENTATION_NAME = "floe_definitions"
_INTERRUPTS = (DagsterExecutionInterruptedError, KeyboardInterrupt, GeneratorExit)
_INTERRUPT_NAMES = frozenset(cls.__name__ for cls in _INTERRUPTS)
_LOST_STEP_ERRORS = frozenset({CeleryWorkerLostError.__name__})
"""Failures made in the run worker for a step whose process is gone: nothing else ends its dbt node runs."""


@dataclass(frozen=True)
class RunTelemetry:
    """Where a run's spans and lineage go.

    Attributes:
        tracer_provider: The SDK provider, or ``None`` for no spans.
        lineage_client: The OpenLineage client, or ``None`` for no lineage.
        lineage_namespace: OpenLineage job namespace.
        naming: How assets become datasets.
        flush_timeout_seconds: Longest wait for span export to a healthy collector, and for lineage delivery to a
            healthy backend, when a run ends.
        dbt_lineage: How the dbt steps name their node lineage runs (to end those a lost step left open), or None
            without dbt assets.
    """

    tracer_provider: TracerProvider | None
    lineage_client: OpenLineageClient | None
    lineage_namespace: str
    naming: DatasetNaming
    flush_timeout_seconds: float = 1.0
    dbt_lineage: DbtStepLineage | None = None


class ObservedExecutor(Executor):
    """One of Dagster's executors, with a span and a lineage run per step.

    Args:
        inner: The Dagster executor that actually runs the steps.
        telemetry: Where spans and lineage go.
        recorded_step_times: Time step spans and lineage events by the times stored with the step events in the
            run's instance, not by their arrival: for executors that hand the run worker a step's events after
            the fact (multiprocess, Celery, Kubernetes). Costs a query per batch of step events; off for the
            in-process executor, whose events arrive as they happen.
        ignored_warnings: Messages (regular expressions) of the inner executor's warnings that tell the user
            nothing, silenced while the steps run (and only then).
    """

    def __init__(
        self,
        inner: Executor,
        telemetry: RunTelemetry,
        *,
        recorded_step_times: bool = False,
        ignored_warnings: Sequence[str] = (),
    ) -> None:
        self._inner = inner
        self._telemetry = telemetry
        self._recorded_step_times = recorded_step_times
        self._ignored_warnings = tuple(ignored_warnings)

    @property
    def inner(self) -> Executor:
        """The wrapped Dagster executor."""
        return self._inner

    @property
    def recorded_step_times(self) -> bool:
        """Whether step times are read from the run's instance rather than taken when events arrive."""
        return self._recorded_step_times

    @property
    def retries(self) -> RetryMode:
        """The inner executor's retry mode."""
        return self._inner.retries

    @property
    def step_dependency_config(self) -> StepDependencyConfig:
        """The inner executor's step dependency config."""
        return self._inner.step_dependency_config

    def __getattr__(self, name: str) -> Any:
        """Expose the inner executor's own attributes.

        Dagster's executors read their settings back from the run's context (``plan_context.executor``), which
        is this wrapper: dagster-celery's execution loop calls ``executor.app_args()`` (broker, backend, config),
        so hiding them failed every Celery run with ``AttributeError``. Only names this class does not define
        get here; private names stay private.
        """
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def execute(self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan) -> Iterator[DagsterEvent]:
        """Run the plan with the inner executor, observing its events.

        Args:
            plan_context: The run's orchestration context.
            execution_plan: The plan to execute.

        Yields:
            Every event of the inner executor, unchanged.
        """
        observer = RunObserver(
            self._telemetry, plan_context, execution_plan, recorded_step_times=self._recorded_step_times
        )
        observer.run_started()
        interrupted: BaseException | None = None
        try:
            with warnings.catch_warnings():
                for message in self._ignored_warnings:
                    warnings.filterwarnings("ignore", message=message)
                for event in self._inner.execute(plan_context, execution_plan):
                    observer.observe(event)
                    yield event
        except BaseException as exc:  # including GeneratorExit on termination: close the telemetry, re-raise
            interrupted = exc
            raise
        finally:
            observer.run_finished(interrupted)


@dataclass
class _OpenStep:
    assets: StepAssets
    span: Span | None
    lineage_run_id: str | None
    outputs: dict[AssetKey, tuple[str, str]] = field(default_factory=dict)


class RunObserver:
    """Turn one run's event stream into spans and lineage runs (never raising).

    Args:
        telemetry: Where spans and lineage go.
        plan_context: The run's orchestration context.
        execution_plan: The plan being executed.
        recorded_step_times: Read step event times from the run's instance (see :class:`ObservedExecutor`).
    """

    def __init__(
        self,
        telemetry: RunTelemetry,
        plan_context: PlanOrchestrationContext,
        execution_plan: ExecutionPlan,
        *,
        recorded_step_times: bool = False,
    ) -> None:
        self._telemetry = telemetry
        self._plan_context = plan_context
        self._plan = execution_plan
        self._run_id = plan_context.run_id
        self._job_name = plan_context.dagster_run.job_name
        self._partition = plan_context.dagster_run.tags.get(PARTITION_TAG)
        self._tracer = telemetry.tracer_provider.get_tracer(INSTRUMENTATION_NAME) if telemetry.tracer_provider else None
        self._run_span: Span | None = None
        self._emitter: LineageEmitter | None = None
        self._job_definition: JobDefinition | None = None
        self._open: dict[str, _OpenStep] = {}
        self._attempts: dict[str, int] = {}
        self._failed_steps = 0
        self._errors = 0
        self._parent = ParentRun(run_id=self._run_id, job_name=self._job_name, namespace=telemetry.lineage_namespace)
        self._nominal_time: tuple[str, str | None] | None = None
        self._owners: tuple[str, ...] = ()
        self._first_failure: str | None = None
        self._recorded: RecordedStepTimes | None = None
        if recorded_step_times and (telemetry.tracer_provider is not None or telemetry.lineage_client is not None):
            self._recorded = RecordedStepTimes(plan_context.instance, self._run_id)

    def _job_def(self) -> JobDefinition:
        if self._job_definition is None:
            self._job_definition = self._plan_context.job.get_definition()
        return self._job_definition

    @property
    def emission_errors(self) -> int:
        """Telemetry operations that raised (and were swallowed) so far."""
        return self._errors

    def run_started(self) -> None:
        """Open the run span, with the run-derived trace and span ids, and START the Dagster run's lineage run."""
        if self._tracer is not None:
            self._guard(self._open_run_span)
        if self._telemetry.lineage_client is not None:
            self._guard(self._start_lineage_run)

    def _start_lineage_run(self) -> None:
        try:
            self._nominal_time = run_time_window(self._job_def(), self._plan_context.dagster_run.tags)
        except Exception:  # a partition key the job cannot place in time: no nominal time, never a failed run
            logger.debug("cannot compute the run's partition time window", exc_info=True)
        try:
            self._owners = job_owners(self._job_def())
        except Exception:  # owners are a facet: never a failed run
            logger.debug("cannot read the owners of the job's assets", exc_info=True)
        self._emit_run(RunState.START, None)

    def _emit_run(self, state: RunState, error: str | None) -> None:
        dagster_run = self._plan_context.dagster_run
        tags = dict(dagster_run.tags)
        job_tags = {key: str(value) for key, value in self._job_def().tags.items()}
        nominal = self._nominal_time
        parent = self._parent
        owners = self._owners
        self._submit(
            lambda: dagster_run_event(
                state,
                run=parent,
                run_tags=tags,
                job_tags=job_tags,
                nominal_time=nominal,
                error=error,
                dagster_version=dagster_version,
                owners=owners,
            )
        )

    def _submit(self, factory: Any) -> None:
        client = self._telemetry.lineage_client
        assert client is not None
        if self._emitter is None:
            # A daemon thread sends the run's events: a slow or dead backend never holds a step or the process.
            self._emitter = LineageEmitter(client)
        self._emitter.submit(factory)

    def observe(self, event: DagsterEvent) -> None:
        """Update spans and lineage for one event of the inner executor."""
        self._guard(self._observe, event)

    def run_finished(self, interrupted: BaseException | None) -> None:
        """End whatever is still open, end the run span and flush spans (bounded)."""
        self._guard(self._finish, interrupted)
        if self._errors:
            message = (
                f"floe: {self._errors} telemetry operation(s) failed during run {self._run_id}; the run itself "
                "was not affected (see the first error logged above)"
            )
            logger.warning(message)
            try:
                self._plan_context.log.warning(message)
            except Exception:  # the log manager is Dagster's; never let it fail the run
                logger.debug("could not log the telemetry warning to Dagster", exc_info=True)

    def _guard(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            self._errors += 1
            if self._errors == 1:
                logger.warning("floe: telemetry emission failed (counted; logged once per run)", exc_info=True)

    def _open_run_span(self) -> None:
        assert self._tracer is not None
        with run_span_ids(self._run_id):
            self._run_span = self._tracer.start_span(
                f"dagster run {self._job_name}",
                context=otel_context.Context(),  # a root span, so the id generator's run ids apply
                attributes=self._common_attributes(),
            )

    def _common_attributes(self) -> dict[str, str]:
        attributes = {"dagster.run_id": self._run_id, "dagster.job_name": self._job_name}
        if self._partition:
            attributes["dagster.partition_key"] = self._partition
        return attributes

    def _observe(self, event: DagsterEvent) -> None:
        event_type = event.event_type
        step_key = event.step_key
        if step_key is None:
            return
        if event_type == DagsterEventType.STEP_START:
            self._step_started(step_key, self._event_time_ns(event))
        elif event_type == DagsterEventType.ASSET_MATERIALIZATION:
            self._materialized(step_key, event)
        elif event_type == DagsterEventType.STEP_SUCCESS:
            self._step_ended(step_key, None, at_ns=self._event_time_ns(event))
        elif event_type == DagsterEventType.STEP_FAILURE:
            failure = _failure(event)
            at_ns = self._event_time_ns(event)
            if failure[2] in _INTERRUPT_NAMES:  # terminated, not failed: its lineage run is aborted
                self._step_ended(step_key, failure, state=RunState.ABORT, at_ns=at_ns)
                return
            self._failed_steps += 1
            if self._first_failure is None:
                self._first_failure = f"step {step_key!r} failed: {failure[0]}"
            self._guard(self._end_lost_dbt_nodes, step_key, failure, at_ns)
            self._step_ended(step_key, failure, at_ns=at_ns)
        elif event_type == DagsterEventType.STEP_UP_FOR_RETRY:
            failure = _failure(event, default="step failed and is up for retry")
            at_ns = self._event_time_ns(event)
            self._guard(self._end_lost_dbt_nodes, step_key, failure, at_ns)
            self._step_ended(step_key, failure, at_ns=at_ns)

    def _end_lost_dbt_nodes(self, step_key: str, failure: tuple[str, str | None, str], at_ns: int) -> None:
        """End the node runs a dbt step lost with its process left open (a step that failed itself ended them)."""
        lineage = self._telemetry.dbt_lineage
        if failure[2] not in _LOST_STEP_ERRORS or lineage is None or self._telemetry.lineage_client is None:
            return
        step = self._open.get(step_key)
        if step is not None:
            assets, attempt = step.assets, self._attempts.get(step_key, 0)
        else:  # dagster-celery's loop raised before the step's events reached the run: the attempt after the last seen
            assets, attempt = step_assets(self._job_def(), self._plan, step_key), self._attempts.get(step_key, -1) + 1
        if not assets.is_dbt:
            return
        events = lost_dbt_step_events(
            lineage,
            self._plan_context.instance,
            assets,
            attempt=attempt,
            parent=self._parent,
            message=failure[0],
            at_ns=at_ns,
            nominal_time=self._nominal_time,
        )
        for event in events:
            self._submit(lambda event=event: event)

    def _event_time_ns(self, event: DagsterEvent) -> int:
        """When a step event happened: its stored time when recorded times are on and found, else now."""
        if self._recorded is not None:
            stored = self._recorded.time_ns(event)
            if stored is not None:
                return stored
        return time.time_ns()

    def _step_started(self, step_key: str, at_ns: int) -> None:
        if step_key in self._open:  # a restart without an end event: close the previous attempt first
            restarted = ("step restarted before it finished", None, "dagster.step_restarted")
            self._step_ended(step_key, restarted, at_ns=at_ns)
        assets = step_assets(self._job_def(), self._plan, step_key)
        attempt = self._attempts[step_key] = self._attempts.get(step_key, -1) + 1
        span = None
        if self._tracer is not None:
            parent = trace.set_span_in_context(self._run_span) if self._run_span else None
            name = assets.outputs[0].to_user_string() if len(assets.outputs) == 1 else step_key
            attributes: dict[str, Any] = {
                **self._common_attributes(),
                "dagster.step_key": step_key,
                "dagster.asset_keys": [key.to_user_string() for key in assets.outputs],
                "floe.step_kind": "dbt" if assets.is_dbt else ("asset" if assets.outputs else "op"),
            }
            attributes["dagster.step_attempt"] = attempt
            # derived ids: a dbt step, in whatever process runs it, parents its node spans on this span
            with step_span_ids(self._run_id, step_key, attempt):
                span = self._tracer.start_span(name, context=parent, attributes=attributes, start_time=at_ns)
        lineage_run_id = None
        if self._telemetry.lineage_client is not None and not assets.is_dbt:
            # derived, so the step's own process can put it on the asset's materialization (asset_links)
            lineage_run_id = step_lineage_run_id(self._run_id, step_key, attempt)
            if span is not None:
                span.set_attribute("openlineage.run_id", lineage_run_id)
        step = _OpenStep(assets=assets, span=span, lineage_run_id=lineage_run_id)
        self._open[step_key] = step
        if lineage_run_id is not None:
            self._emit(step, RunState.START, None, at_ns)

    def _materialized(self, step_key: str, event: DagsterEvent) -> None:
        step = self._open.get(step_key)
        if step is None or step.lineage_run_id is None:
            return
        materialization = event.step_materialization_data.materialization
        key = materialization.asset_key
        step.outputs[key] = self._telemetry.naming.dataset(
            key, {**step.assets.metadata.get(key, {}), **materialization.metadata}, step.assets.kinds.get(key, ())
        )

    def _step_ended(
        self,
        step_key: str,
        error: tuple[str, str | None, str] | None,
        *,
        state: RunState | None = None,
        at_ns: int | None = None,
    ) -> None:
        step = self._open.pop(step_key, None)
        if step is None:
            return
        if at_ns is None:
            at_ns = time.time_ns()
        if step.span is not None:
            if error is not None:  # success stays UNSET (OpenTelemetry's conventions for instrumentation)
                step.span.set_status(Status(StatusCode.ERROR, error[0]))
                step.span.set_attribute("error.type", error[2])
                step.span.add_event(
                    "exception",
                    {
                        "exception.type": error[2],
                        "exception.message": error[0],
                        "exception.stacktrace": error[1] or "",
                    },
                )
            step.span.end(end_time=at_ns)
        if step.lineage_run_id is not None:
            self._emit(step, state or (RunState.COMPLETE if error is None else RunState.FAIL), error, at_ns)

    def _emit(self, step: _OpenStep, state: RunState, error: tuple[str, str | None, str] | None, at_ns: int) -> None:
        assert step.lineage_run_id is not None
        naming = self._telemetry.naming
        metadata = step.assets.metadata
        outputs = [step.outputs.get(key) or naming.dataset(key, metadata.get(key, {})) for key in step.assets.outputs]
        inputs = [naming.dataset(key, metadata.get(key, {})) for key in step.assets.inputs]
        event = step_event(
            state,
            run_id=step.lineage_run_id,
            job_name=lineage_job_name(naming.pipeline, step.assets.step_key, step.assets.outputs),
            parent=self._parent,
            inputs=inputs,
            outputs=outputs,
            error=error[:2] if error is not None else None,
            dagster_version=dagster_version,
            nominal_time=self._nominal_time,
            owners=step.assets.owners,
            tags=step.assets.tags,
            job_type="ASSET" if step.assets.outputs else "TASK",
            event_time=ns_to_iso(at_ns),
        )
        self._submit(lambda: event)

    def _finish(self, interrupted: BaseException | None) -> None:
        reason = "run ended before the step finished"
        kind = "dagster.run_ended"
        if interrupted is not None:
            reason = f"run interrupted ({type(interrupted).__name__}) before the step finished"
            kind = type(interrupted).__qualname__
        if isinstance(interrupted, CeleryWorkerLostError):  # dagster-celery's loop raised it: no step failure event
            lost = (str(interrupted), None, type(interrupted).__name__)
            self._guard(self._end_lost_dbt_nodes, interrupted.step_key, lost, time.time_ns())
        for step_key in list(self._open):
            self._step_ended(step_key, (reason, None, kind), state=RunState.ABORT)
        if self._telemetry.lineage_client is not None:
            self._guard(self._end_lineage_run, interrupted)
        if self._run_span is not None:
            if interrupted is not None or self._failed_steps:
                detail = f"{self._failed_steps} step(s) failed" if self._failed_steps else reason
                self._run_span.set_status(Status(StatusCode.ERROR, detail))
                self._run_span.set_attribute("error.type", "dagster.step_failure" if self._failed_steps else kind)
            self._run_span.end()
        self._report_undelivered_spans()
        self._report_undelivered_lineage()

    def _end_lineage_run(self, interrupted: BaseException | None) -> None:
        """End the Dagster run's lineage run: ABORT when terminated, FAIL when a step failed or the executor raised."""
        if interrupted is not None and isinstance(interrupted, _INTERRUPTS):
            self._emit_run(RunState.ABORT, f"run interrupted ({type(interrupted).__name__})")
        elif interrupted is not None:
            self._emit_run(RunState.FAIL, f"{type(interrupted).__name__}: {interrupted}")
        elif self._failed_steps:
            detail = f"{self._failed_steps} step(s) failed; first: {self._first_failure}"
            self._emit_run(RunState.FAIL, detail)
        else:
            self._emit_run(RunState.COMPLETE, None)

    def _report_undelivered_spans(self) -> None:
        """Flush spans (bounded; not waited for once the collector failed or was slow) and warn with the count lost.

        The SDK's ``force_flush`` ignores its timeout; ``flush_spans`` runs it on a daemon thread and waits at most
        the flush timeout, and not at all once an export failed or was slow (in any flush of the process).
        """
        provider = self._telemetry.tracer_provider
        if provider is None:
            return
        trace_id = run_trace_id(self._run_id)  # the run's trace: what its spans were counted under
        problem = flush_spans(provider, self._telemetry.flush_timeout_seconds, trace_id=trace_id).problem()
        if problem is None:
            return
        self._warn(f"floe: {problem} for run {self._run_id}; the run itself is not affected")

    def _report_undelivered_lineage(self) -> None:
        """Wait briefly for queued lineage events, then warn with the count of those not delivered.

        The wait is skipped once the backend is known to be failing or slow: the emitter shares that knowledge
        with every other emitter of the process using the same client (the dbt steps' included), so a dead or
        slow backend is waited for at most once per process rather than once per step plus once per run.
        """
        if self._emitter is None:
            return
        report = self._emitter.close(self._telemetry.flush_timeout_seconds)
        if report.problems:
            why = f"; not waited for: {report.gave_up}" if report.gave_up else ""
            message = (
                f"floe: {report.problems} OpenLineage event(s) not delivered for run {self._run_id} "
                f"({report.failed} failed, {report.dropped} dropped, {report.pending} still pending when the run "
                f"ended{why}); the run itself is not affected"
            )
            self._warn(message)

    def _warn(self, message: str) -> None:
        """Log ``message`` as a warning to Python logging and to the Dagster run's log."""
        logger.warning(message)
        try:
            self._plan_context.log.warning(message)
        except Exception:  # the log manager is Dagster's; never let it fail the run
            logger.debug("could not log a warning to the Dagster run", exc_info=True)


def _failure(event: DagsterEvent, default: str = "step failed") -> tuple[str, str | None, str]:
    """Return ``(message, stack trace, error type)`` of a failure event; the message is the user's own exception."""
    data = event.event_specific_data
    error = getattr(data, "error", None)
    if error is None:
        return (event.message or default, None, "dagster.step_failure")
    root = error
    # Dagster wraps the user's exception (DagsterExecutionStepExecutionError -> cause); report the innermost one.
    while getattr(root, "cause", None) is not None:
        root = root.cause
    text = root.message.strip()
    message = text if not root.cls_name or text.startswith(root.cls_name) else f"{root.cls_name}: {text}"
    return (message, error.to_string(), root.cls_name or "dagster.step_failure")
