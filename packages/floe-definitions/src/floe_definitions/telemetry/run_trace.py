"""One trace per Dagster run: trace and run-span ids derived from the run id, in every process.

A Dagster run id is a UUID (128 bits), exactly the size of a trace id. floe uses it as the trace id and derives
the run span's id from it (the rule lives in ``floe_dbt_observe.tracing``; this module re-exports it), so any
process taking part in the run (step subprocesses of the multiprocess executor, Celery workers, Kubernetes step
pods, floe-dbt-observe's per-model spans) can parent its spans on :func:`run_parent_span_context` without any
context propagation. :class:`RunIdGenerator` is the SDK id
generator that hands these ids to the run span when it is opened inside :func:`run_span_ids`.
"""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import SpanContext

from floe_dbt_observe.integration import dagster_run_span_context, dagster_step_span_context, run_span_id, run_trace_id

__all__ = [
    "RunIdGenerator",
    "pinned_span_id",
    "run_parent_span_context",
    "run_span_id",
    "run_span_ids",
    "run_trace_id",
    "step_lineage_run_id",
    "step_span_ids",
]

# (trace id, span id) the next root span must use; set only for the duration of ``run_span_ids``.
# The span id the next child span must use; set only for the duration of ``step_span_ids`` / ``pinned_span_id``.
_PENDING_STEP_SPAN_ID: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "floe_pending_step_span_id", default=None
)
_PENDING_RUN_IDS: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar(
    "floe_pending_run_span_ids", default=None
)


def run_parent_span_context(run_id: str) -> SpanContext:
    """Return the remote span context that spans of a run's steps and dbt nodes use as parent.

    Args:
        run_id: The Dagster run id.

    Returns:
        ``SpanContext(trace_id=run_trace_id(run_id), span_id=run_span_id(run_id), is_remote=True)``, sampled.
    """
    return dagster_run_span_context(run_id)


@contextmanager
def run_span_ids(run_id: str) -> Iterator[None]:
    """Make the next root span started in this context use the run's trace id and run-span id.

    Args:
        run_id: The Dagster run id.

    Yields:
        Nothing; start the run span inside the ``with`` block.
    """
    token = _PENDING_RUN_IDS.set((run_trace_id(run_id), run_span_id(run_id)))
    try:
        yield
    finally:
        _PENDING_RUN_IDS.reset(token)


@contextmanager
def step_span_ids(run_id: str, step_key: str, attempt: int) -> Iterator[None]:
    """Make the next span started in this context use the step's derived span id.

    The id is floe-dbt-observe's ``dagster_step_span_context(run_id, step_key, attempt)``, which a dbt step
    computes in its own process to hang its node spans under this step span.

    Args:
        run_id: The Dagster run id.
        step_key: The step key.
        attempt: The step's retry number (0 for the first attempt).

    Yields:
        Nothing; start the step span (a child of the run span) inside the ``with`` block.
    """
    token = _PENDING_STEP_SPAN_ID.set(dagster_step_span_context(run_id, step_key, attempt).span_id)
    try:
        yield
    finally:
        _PENDING_STEP_SPAN_ID.reset(token)


@contextmanager
def pinned_span_id(span_id: int) -> Iterator[None]:
    """Make the next span started in this context use ``span_id``.

    floe-dbt-observe pins its dbt node spans (``ApplicationHooks.pin_span_id``): dbt's query comments name them
    before the spans exist.

    Args:
        span_id: The span id to give the next span.

    Yields:
        Nothing; start the span inside the ``with`` block.
    """
    token = _PENDING_STEP_SPAN_ID.set(span_id)
    try:
        yield
    finally:
        _PENDING_STEP_SPAN_ID.reset(token)


def step_lineage_run_id(run_id: str, step_key: str, attempt: int) -> str:
    """Return the OpenLineage run id of one attempt of a Python asset step, the same in every process.

    A name-based UUID (version 5) of the run, step and attempt: the executor emits the step's lineage run with
    it, and the step's own process puts it on the asset's materialization (``floe/openlineage_run_id``).

    Args:
        run_id: The Dagster run id.
        step_key: The step key.
        attempt: The step's retry number (0 for the first attempt).
    """
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"floe:dagster-step:{run_id}:{step_key}:{attempt}"))


class RunIdGenerator(IdGenerator):
    """Random ids, except inside :func:`run_span_ids`, :func:`step_span_ids` and :func:`pinned_span_id`.

    The SDK asks for a trace id and then a span id when it starts a root span; inside ``run_span_ids`` both
    come from the run id, once; inside ``step_span_ids`` the next span id comes from the run id and step, once.
    Every other span gets random ids, exactly as with the SDK's default generator.
    """

    def __init__(self) -> None:
        self._random = RandomIdGenerator()

    def generate_trace_id(self) -> int:
        """Return the pending run's trace id, else a random one."""
        pending = _PENDING_RUN_IDS.get()
        return pending[0] if pending else self._random.generate_trace_id()

    def generate_span_id(self) -> int:
        """Return the pending run's span id (once), else a random one."""
        pending = _PENDING_RUN_IDS.get()
        if pending:
            _PENDING_RUN_IDS.set(None)
            return pending[1]
        step = _PENDING_STEP_SPAN_ID.get()
        if step is not None:
            _PENDING_STEP_SPAN_ID.set(None)
            return step
        return self._random.generate_span_id()
