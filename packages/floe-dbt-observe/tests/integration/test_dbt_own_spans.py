"""dbt-core 1.12's own spans (``ObservabilityOptions(dbt_spans=True)``) in the step's trace, in process and as a
subprocess.

Real dbt builds of the fixture project on DuckDB. The tracer provider's id generator honours floe's span-id pin (as
floe-definitions' ``RunIdGenerator`` does), so floe's node spans carry the ids dbt's node spans are parented on. In
process dbt's spans reach the step's in-memory exporter; a dbt subprocess exports them itself, through the
provider factory of ``ApplicationHooks.dbt_span_export`` (a JSON-lines exporter the subprocess imports).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dbt_harness import DUCKDB_ENV, FOLDER_GROUPS, copy_project, make_warehouse
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import format_span_id, format_trace_id
from pinning_ids import PinningIdGenerator
from span_lines_exporter import read_span_lines

from floe_dbt_observe import DbtCliOptions, FloeDbtTranslator, ObservabilityOptions, build_dbt_assets
from floe_dbt_observe.dbt_trace import dbt_has_spans
from floe_dbt_observe.integration import ApplicationHooks

pytestmark = pytest.mark.skipif(not dbt_has_spans(), reason="dbt-core before 1.12 has no spans of its own")

TESTS_DIR = Path(__file__).parent.parent


@dataclass
class Span:
    """One exported span, from either exporter."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    attributes: dict[str, Any]


@dataclass
class TracedRun:
    result: dg.ExecuteInProcessResult
    spans: list[Span]

    def named(self, name: str) -> list[Span]:
        return [span for span in self.spans if span.name == name]

    def floe_node_span(self, unique_id: str) -> Span:
        (found,) = [
            s for s in self.spans if s.name.startswith("dbt.") and s.attributes.get("dbt.node.unique_id") == unique_id
        ]
        return found


def _traced_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, invocation: str, *, dbt_spans: bool = True
) -> TracedRun:
    project = copy_project(tmp_path / "project")
    monkeypatch.setenv(DUCKDB_ENV, str(make_warehouse(tmp_path / "warehouse.duckdb")))
    monkeypatch.setenv("PYTHONPATH", str(TESTS_DIR))  # the dbt subprocess imports span_lines_exporter
    ids = PinningIdGenerator()
    exporter = InMemorySpanExporter()
    provider = TracerProvider(id_generator=ids)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    lines = tmp_path / "dbt_spans.jsonl"
    defs = build_dbt_assets(
        project,
        translator=FloeDbtTranslator(folder_groups=FOLDER_GROUPS),
        tracer_provider=provider,
        dbt=DbtCliOptions(invocation=invocation),  # type: ignore[arg-type]
        observability=ObservabilityOptions(dbt_spans=dbt_spans, warehouse_columns=False),
        hooks=ApplicationHooks(
            pin_span_id=ids.pin,
            dbt_span_export={
                "factory": "span_lines_exporter:span_lines_provider",
                "kwargs": {"path": str(lines), "resource": {"service.name": "shop"}},
            },
        ),
    )
    result = dg.materialize(defs, instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    spans = [
        Span(
            s.name,
            format_trace_id(s.context.trace_id),
            format_span_id(s.context.span_id),
            format_span_id(s.parent.span_id) if s.parent else None,
            dict(s.attributes or {}),
        )
        for s in exporter.get_finished_spans()
    ]
    spans += [
        Span(str(line["name"]), str(line["trace_id"]), str(line["span_id"]), line["parent_id"], line["attributes"])  # type: ignore[arg-type]
        for line in read_span_lines(lines)
    ]
    return TracedRun(result, spans)


@pytest.fixture(scope="module", params=["in_process", "subprocess"])
def traced(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TracedRun]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield _traced_run(tmp_path_factory.mktemp(request.param), monkeypatch, request.param)


def test_dbt_invocation_span_is_a_child_of_the_step_span_in_its_trace(traced: TracedRun) -> None:
    assert traced.result.success
    (step,) = [span for span in traced.spans if span.name.startswith("dbt.build")]
    (invocation,) = traced.named("dbt.invocation")
    assert (invocation.trace_id, invocation.parent_id) == (step.trace_id, step.span_id)
    assert invocation.attributes["command"] == "build"


def test_each_dbt_node_span_is_a_child_of_floes_span_of_that_node(traced: TracedRun) -> None:
    (step,) = [span for span in traced.spans if span.name.startswith("dbt.build")]
    dbt_nodes = [span for span in traced.spans if span.name.split(".", 1)[0] in {"model", "seed", "snapshot", "test"}]
    assert {span.name for span in dbt_nodes} >= {
        "model.floe_fixture.stg_orders",
        "model.floe_fixture.customer_orders",
        "seed.floe_fixture.country_codes",
    }
    for node in dbt_nodes:
        floe_span = traced.floe_node_span(node.name)
        assert (node.trace_id, node.parent_id) == (floe_span.trace_id, floe_span.span_id), node.name
        assert floe_span.parent_id == step.span_id


def test_without_dbt_spans_dbt_adds_no_span(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = _traced_run(tmp_path, monkeypatch, "in_process", dbt_spans=False)
    assert run.result.success
    assert not run.named("dbt.invocation")
    assert all(span.name.startswith("dbt.") for span in run.spans)
