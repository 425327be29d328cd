"""OpenTelemetry helpers: the tracer, the parent context of a Dagster step, dbt timestamps.

Only the OpenTelemetry API is used; with no SDK configured every span is a no-op.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import (
    INVALID_SPAN_ID,
    INVALID_TRACE_ID,
    NonRecordingSpan,
    SpanContext,
    TraceFlags,
    Tracer,
    TracerProvider,
)

INSTRUMENTATION_NAME = "floe_dbt_observe"


def get_tracer(tracer_provider: TracerProvider | None, version: str) -> Tracer:
    """Return floe's tracer from ``tracer_provider`` or the global provider."""
    return trace.get_tracer(INSTRUMENTATION_NAME, version, tracer_provider=tracer_provider)


RUN_SPAN_ID_PREFIX = "dagster-run:"


def run_trace_id(run_id: str) -> int:
    """Return the trace id of a Dagster run: its UUID's 128 bits (the one home of this rule).

    A run id that is not a UUID (only seen in hand-made test runs) is hashed to 128 bits instead.

    Args:
        run_id: The Dagster run id.

    Returns:
        A valid (non-zero) 128-bit trace id, the same in every process.
    """
    try:
        trace_id = uuid.UUID(run_id).int
    except ValueError:
        trace_id = int.from_bytes(hashlib.sha256(run_id.encode()).digest()[:16], "big")
    return trace_id if trace_id != INVALID_TRACE_ID else 1


def run_span_id(run_id: str) -> int:
    """Return the span id of a Dagster run's root span: the first 64 bits of ``sha256("dagster-run:" + run_id)``.

    Args:
        run_id: The Dagster run id.

    Returns:
        A valid (non-zero) 64-bit span id, the same in every process.
    """
    digest = hashlib.sha256(f"{RUN_SPAN_ID_PREFIX}{run_id}".encode()).digest()
    span_id = int.from_bytes(digest[:8], "big")
    return span_id if span_id != INVALID_SPAN_ID else 1


def dagster_run_span_context(run_id: str) -> SpanContext:
    """Return the span context that stands for a whole Dagster run.

    The trace id is the run id's 128 bits (:func:`run_trace_id`) and the span id is derived from it
    (:func:`run_span_id`), so every step of a run -- in any process -- lands in the same trace without
    propagation. An application that records a real run span can give it these ids (custom IdGenerator, as
    floe-definitions does) or make it current instead.
    """
    return SpanContext(
        trace_id=run_trace_id(run_id),
        span_id=run_span_id(run_id),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )


def dagster_step_span_context(run_id: str, step_key: str, attempt: int = 0) -> SpanContext:
    """Return the span context of the span an executor opens for one attempt of a Dagster step.

    Trace id as :func:`dagster_run_span_context`; span id = the first 64 bits of
    ``sha256("dagster-step:<run id>:<step key>:<attempt>")``. An executor that gives its step span these ids
    (floe-definitions' does) lets the dbt node spans of that step, opened in whatever process runs it, be the
    step span's children without any context propagation (``build_dbt_assets(executor_step_spans=True)``).

    Args:
        run_id: The Dagster run id.
        step_key: The step key.
        attempt: The step's retry number (0 for the first attempt).
    """
    run = dagster_run_span_context(run_id)
    digest = hashlib.sha256(f"dagster-step:{run_id}:{step_key}:{attempt}".encode()).digest()
    return SpanContext(
        trace_id=run.trace_id,
        span_id=int.from_bytes(digest[:8], "big") or 1,
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )


def step_parent_context(run_id: str) -> Context:
    """Return the parent for a step span: the current span if valid, else the run's derived context."""
    current = trace.get_current_span()
    if current.get_span_context().is_valid:
        return trace.set_span_in_context(current)
    return trace.set_span_in_context(NonRecordingSpan(dagster_run_span_context(run_id)))


def dbt_time_ns(value: object) -> int | None:
    """Convert one of dbt's ``node_started_at`` / ``node_finished_at`` / ``ts`` strings to epoch ns.

    dbt writes naive UTC (``2024-01-01T12:00:00.123456``) or ``Z``-suffixed strings; empty or
    ``None`` values give None.
    """
    if not isinstance(value, str) or value in ("", "None"):
        return None
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return seconds_to_ns(parsed.timestamp())


def seconds_to_ns(seconds: float) -> int:
    """Convert float epoch seconds (Dagster's event times, dbt's parsed times) to integer epoch ns, at the microsecond.

    floe's one seconds-to-ns conversion. It rounds to the nearest microsecond: a float of epoch seconds holds about
    a quarter of a microsecond today, so the microsecond is what it can honestly carry (dbt's node times are
    microseconds too), and truncating would turn a time stored as ``...456.9`` µs into ``...456`` µs.
    """
    return round(seconds * 1_000_000) * 1_000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def ns_to_iso(value_ns: int) -> str:
    """Format epoch ns as an ISO 8601 UTC timestamp (OpenLineage ``eventTime``, span times), exact to the microsecond.

    floe's one ns-to-ISO formatter (lineage event times, the OTLP/JSON trace file reader).

    Integer arithmetic: a float of epoch seconds (``value_ns / 1e9``) holds only about a quarter of a microsecond
    today, so an event time could differ by one microsecond from the span it belongs to.
    """
    return (_EPOCH + timedelta(microseconds=value_ns // 1_000)).isoformat()


def format_trace_id(trace_id: int) -> str:
    """Return the 32-hex-digit W3C form of a trace id."""
    return trace.format_trace_id(trace_id)


def format_span_id(span_id: int) -> str:
    """Return the 16-hex-digit W3C form of a span id."""
    return trace.format_span_id(span_id)
