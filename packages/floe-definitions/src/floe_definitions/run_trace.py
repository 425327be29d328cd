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
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.sdk.trace.id_generator import IdGenerator, RandomIdGenerator
from opentelemetry.trace import SpanContext

from floe_dbt_observe.tracing import dagster_run_span_context, run_span_id, run_trace_id

__all__ = ["RunIdGenerator", "run_parent_span_context", "run_span_id", "run_span_ids", "run_trace_id"]

# (trace id, span id) the next root span must use; set only for the duration of ``run_span_ids``.
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


class RunIdGenerator(IdGenerator):
    """Random ids, except for a run span started inside :func:`run_span_ids`.

    The SDK asks for a trace id and then a span id when it starts a root span; inside ``run_span_ids`` both
    come from the run id, once. Every other span gets random ids, exactly as with the SDK's default generator.
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
        return self._random.generate_span_id()
