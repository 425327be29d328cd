"""dbt Fusion's recorded JSON logs (tests/data/dbt-fusion) through floe's event handling.

The same path a subprocess step takes: each raw event goes to ``NodeObserver`` (spans, lineage runs) and to
dagster-dbt's Fusion event class (materializations, check results). tests/integration/test_fusion.py runs a real
Fusion where it is installed; these tests hold wherever it is not.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from importlib.metadata import version
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dbt_harness import FIXTURE_ASSETS, ListTransport
from openlineage.client import OpenLineageClient
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from packaging.version import Version

from floe_dbt_observe import FloeDbtTranslator
from floe_dbt_observe.dbt_engine import DbtEngine, detect_dbt_engine, parse_version_output
from floe_dbt_observe.lineage_emitter import LineageEmitter
from floe_dbt_observe.lineage_events import LineageContext
from floe_dbt_observe.node_observer import NodeObserver, error_type, fusion_message
from floe_test_support.dagster_internals import dbt_fusion_event_class
from floe_test_support.openlineage_conformance import validate_events

RECORDED = Path(__file__).parent.parent / "data" / "dbt-fusion"
FUSION = parse_version_output((RECORDED / "dbt-version.txt").read_text())
REFABLES = {"model", "seed", "snapshot"}

DBT_CORE_VERSION_OUTPUT = """Core:
  - installed: 1.12.6
  - latest:    1.12.6 - Up to date!

Plugins:
  - duckdb:   1.11.1 - Up to date!
"""


def _raw_events(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (RECORDED / name).read_text().splitlines() if line.strip()]


class Replayed:
    """One recorded Fusion log fed through floe's node observer and dagster-dbt's Fusion events."""

    def __init__(self, name: str, manifest: dict[str, Any], *, dagster_events: bool = True) -> None:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        tracer = provider.get_tracer("test")
        transport = ListTransport()
        emitter = LineageEmitter(OpenLineageClient(transport=transport), 1000)
        lineage = LineageContext(
            manifest=manifest,
            job_namespace="dbt",
            dataset_namespace_source="duckdb:///warehouse.duckdb",
            parent=None,
            dbt_version=FUSION.version,
            openlineage_version=version("openlineage-python"),
            target_path=None,
            project_dir=None,
            column_lineage=False,
            dagster_run_id="run-1",
            engine_name=FUSION.lineage_name,
            dbt_runtime=FUSION.runtime,
        )
        asset_keys = {
            unique_id: node["name"]
            for unique_id, node in manifest["nodes"].items()
            if node["resource_type"] in REFABLES
        }
        step = tracer.start_span("dbt.build test")
        observer = NodeObserver(
            tracer,
            trace.set_span_in_context(step),
            emitter,
            lineage,
            asset_keys,
            "run-1",
            manifest=manifest,
            span_attributes={"dbt.engine.name": FUSION.name, "dbt.engine.version": FUSION.version},
        )
        self.dagster_events: list[Any] = []
        for raw in _raw_events(name):
            observer.on_event(raw)
            if not dagster_events:
                continue
            message = dbt_fusion_event_class()(raw_event=raw, event_history_metadata={})
            self.dagster_events += list(
                message.to_default_asset_events(manifest=manifest, dagster_dbt_translator=FloeDbtTranslator())
            )
        observer.close(None)
        step.end()
        emitter.close(10.0)
        self.spans: list[ReadableSpan] = [span for span in exporter.get_finished_spans() if span.name != step.name]
        self.events: list[dict[str, Any]] = transport.events
        self.run_nodes = {
            span.attributes.get("openlineage.run_id"): span.attributes["dbt.node.unique_id"] for span in self.spans
        }

    def span(self, node_name: str) -> ReadableSpan:
        (found,) = [span for span in self.spans if span.attributes["dbt.node.name"] == node_name]
        return found

    def lineage(self, unique_id: str) -> list[dict[str, Any]]:
        return [event for event in self.events if self.run_nodes.get(event["run"]["runId"]) == unique_id]


@pytest.fixture(scope="module")
def success(manifest: dict[str, Any]) -> Replayed:
    return Replayed("build-success.jsonl", manifest)


@pytest.fixture(scope="module")
def broken(manifest: dict[str, Any]) -> Replayed:
    return Replayed("build-broken-model.jsonl", manifest)


@pytest.fixture(scope="module")
def failing(manifest: dict[str, Any]) -> Replayed:
    # the failing test is not in the fixture project's manifest: dagster-dbt cannot place it, floe's spans can
    return Replayed("build-failing-test.jsonl", manifest, dagster_events=False)


def test_version_output_names_fusion_and_its_version() -> None:
    assert FUSION == DbtEngine("dbt-fusion", "2.0.0-preview.196")
    assert FUSION.is_fusion
    assert FUSION.lineage_name == "dbt-fusion"
    assert FUSION.runtime == "fusion"


def test_version_output_names_dbt_core_and_its_version() -> None:
    engine = parse_version_output(DBT_CORE_VERSION_OUTPUT)
    assert engine == DbtEngine("dbt-core", "1.12.6")
    assert (engine.lineage_name, engine.runtime) == ("dbt", "core")


def test_venv_dbt_core_script_is_known_without_asking_it() -> None:
    script = Path(sys.executable).parent / "dbt"
    assert detect_dbt_engine(script) == DbtEngine("dbt-core", version("dbt-core"))


def test_every_executed_node_gets_one_span_labelled_with_fusion(success: Replayed) -> None:
    counts = Counter(span.attributes["dbt.node.unique_id"] for span in success.spans)
    assert len(counts) == 17  # 6 models, 1 seed, 1 snapshot, 9 tests
    assert set(counts.values()) == {1}
    for span in success.spans:
        assert span.attributes["dbt.engine.name"] == "dbt-fusion"
        assert span.attributes["dbt.engine.version"] == "2.0.0-preview.196"
        assert span.status.status_code == StatusCode.UNSET
        assert span.attributes["dbt.node.status"] in {"success", "pass"}


def test_every_node_gets_a_start_and_a_complete_naming_fusion(success: Replayed) -> None:
    validate_events(success.events)
    states = Counter((success.run_nodes[event["run"]["runId"]], event["eventType"]) for event in success.events)
    assert len(states) == 34
    assert set(states.values()) == {1}
    for event in success.events:
        facets = event["run"]["facets"]
        assert facets["processing_engine"]["name"] == "dbt-fusion"
        assert facets["processing_engine"]["version"] == "2.0.0-preview.196"
        assert facets["dbt_version"]["version"] == "2.0.0-preview.196"
        assert facets["dbt_run"]["dbt_runtime"] == "fusion"


def test_fusion_results_become_materializations(success: Replayed) -> None:
    materialized = {
        event.asset_key.to_user_string()
        for event in success.dagster_events
        if isinstance(event, dg.AssetMaterialization)
    }
    assert materialized == FIXTURE_ASSETS


@pytest.mark.skipif(
    Version(version("dagster-dbt")) < Version("0.29.11"),
    reason="dagster-dbt before 0.29.11 reports every passing dbt Fusion test as a failed check (README: dbt Fusion)",
)
def test_fusion_test_results_become_passing_check_evaluations(success: Replayed) -> None:
    checks = [event for event in success.dagster_events if isinstance(event, dg.AssetCheckEvaluation)]
    assert len(checks) == 9  # with context=None dagster-dbt evaluates the source test too
    assert all(check.passed for check in checks)


def test_failed_model_span_carries_fusions_error_without_its_backtrace(broken: Replayed) -> None:
    span = broken.span("stg_payments")
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "DatabaseError"
    message = str(span.attributes["dbt.node.message"])
    assert message.startswith("Database Error in model stg_payments")
    assert "no_such_column" in message
    assert "<unknown>" not in message
    assert "[error]" not in message


def test_failed_model_lineage_run_fails_with_the_message(broken: Replayed) -> None:
    events = broken.lineage("model.floe_fixture.stg_payments")
    assert [event["eventType"] for event in events] == ["START", "FAIL"]
    assert "no_such_column" in events[1]["run"]["facets"]["errorMessage"]["message"]


def test_started_and_unstarted_skipped_nodes_abort(broken: Replayed, manifest: dict[str, Any]) -> None:
    # customer_orders started before Fusion skipped it; country_revenue never started (MarkSkippedChildren only)
    for name in ("customer_orders", "country_revenue"):
        span = broken.span(name)
        assert span.attributes["dbt.node.status"] == "skipped"
        assert span.status.status_code == StatusCode.UNSET
        unique_id = f"model.floe_fixture.{name}"
        assert [event["eventType"] for event in broken.lineage(unique_id)] == ["START", "ABORT"]
    assert broken.span("country_revenue").attributes["dbt.node.resource_type"] == "model"
    assert broken.span("country_revenue").attributes["dbt.node.materialization"] == "table"


def test_failing_test_span_says_how_many_rows_failed(failing: Replayed) -> None:
    (span,) = [span for span in failing.spans if str(span.attributes["dbt.node.name"]).startswith("accepted_values")]
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "dbt.test.fail"
    assert span.attributes["dbt.test.failures"] == 1
    assert span.attributes["dbt.node.message"] == "Got 1 result, dbt reported status 'fail'"


def test_fusion_error_text_is_reworded_as_dbt_core_words_it() -> None:
    text = (
        "[error] [DbDriverFailed (dbt1308)]: Compilation Error in model m (models/m.sql)\n  bad\n   0: <unknown>\n"
        "  14: start_thread\n             at ./nptl/pthread_create.c:442:8\n"
    )
    assert fusion_message(text) == "Compilation Error in model m (models/m.sql)\n  bad"
    assert error_type("error", text) == "CompilationError"
