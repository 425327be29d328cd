from __future__ import annotations

import uuid

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from floe_definitions.telemetry.run_trace import (
    RunIdGenerator,
    run_parent_span_context,
    run_span_id,
    run_span_ids,
    run_trace_id,
    step_span_ids,
)

RUN_ID = "6f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f"


def test_trace_id_is_the_run_uuid() -> None:
    assert run_trace_id(RUN_ID) == uuid.UUID(RUN_ID).int


def test_run_span_id_is_deterministic_and_64_bit() -> None:
    assert run_span_id(RUN_ID) == run_span_id(RUN_ID)
    assert 0 < run_span_id(RUN_ID) < 2**64
    assert run_span_id(RUN_ID) != run_span_id(str(uuid.uuid4()))


def test_non_uuid_run_id_still_gets_a_valid_trace_id() -> None:
    assert 0 < run_trace_id("not-a-uuid") < 2**128


def test_parent_span_context_is_remote_and_sampled() -> None:
    parent = run_parent_span_context(RUN_ID)
    assert parent.is_remote
    assert parent.trace_flags.sampled
    assert (parent.trace_id, parent.span_id) == (run_trace_id(RUN_ID), run_span_id(RUN_ID))


def _provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(id_generator=RunIdGenerator(), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_run_span_gets_run_ids_and_children_parented_elsewhere_join_its_trace() -> None:
    provider, exporter = _provider()
    tracer = provider.get_tracer("test")
    with run_span_ids(RUN_ID):
        run_span = tracer.start_span("run", context=otel_context.Context())
    # Another process only knows the run id:
    child = tracer.start_span(
        "model", context=trace.set_span_in_context(trace.NonRecordingSpan(run_parent_span_context(RUN_ID)))
    )
    child.end()
    run_span.end()
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert spans["run"].context.trace_id == run_trace_id(RUN_ID)
    assert spans["run"].context.span_id == run_span_id(RUN_ID)
    assert spans["model"].parent is not None
    assert spans["model"].parent.span_id == spans["run"].context.span_id
    assert spans["model"].context.trace_id == spans["run"].context.trace_id


def test_step_span_gets_the_span_id_a_dbt_step_derives_from_run_and_step() -> None:
    from floe_dbt_observe.tracing import dagster_step_span_context

    provider, exporter = _provider()
    tracer = provider.get_tracer("test")
    with run_span_ids(RUN_ID):
        run_span = tracer.start_span("run", context=otel_context.Context())
    with step_span_ids(RUN_ID, "dbt_step", 1):
        step = tracer.start_span("step", context=trace.set_span_in_context(run_span))
        other = tracer.start_span("other", context=trace.set_span_in_context(run_span))
    # The dbt step's process only knows the run id, the step key and the attempt:
    derived = dagster_step_span_context(RUN_ID, "dbt_step", 1)
    node = tracer.start_span("model", context=trace.set_span_in_context(trace.NonRecordingSpan(derived)))
    for span in (node, other, step, run_span):
        span.end()
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert spans["step"].context.span_id == derived.span_id
    assert spans["step"].context.trace_id == derived.trace_id
    assert spans["model"].parent is not None
    assert spans["model"].parent.span_id == spans["step"].context.span_id
    assert spans["other"].context.span_id != derived.span_id  # only the first span in the block
    assert dagster_step_span_context(RUN_ID, "dbt_step", 0).span_id != derived.span_id


def test_spans_outside_run_span_ids_get_random_ids() -> None:
    provider, exporter = _provider()
    tracer = provider.get_tracer("test")
    with run_span_ids(RUN_ID):
        tracer.start_span("run", context=otel_context.Context()).end()
        # only the first root span in the block takes the run's span id
        tracer.start_span("second", context=otel_context.Context()).end()
    tracer.start_span("other", context=otel_context.Context()).end()
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert spans["second"].context.span_id != run_span_id(RUN_ID)
    assert spans["other"].context.trace_id != run_trace_id(RUN_ID)
