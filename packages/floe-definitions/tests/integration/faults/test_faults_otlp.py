"""Spans over the real OTLP wire: a dead or slow collector costs the run nothing, a live one gets every span.

Each test runs once per OTLP protocol platform.yaml offers. For ``http/protobuf`` the receiver is a real HTTP
server on 127.0.0.1 that decodes what the SDK's OTLP/HTTP exporter posts to ``/v1/traces``; for ``grpc`` it is a
real grpcio server serving opentelemetry-proto's ``TraceService``. Both decode ``ExportTraceServiceRequest`` —
what Jaeger or a collector would get.
The dead (connection refused) and slow (answering after 10 s) collectors use platform.yaml's default OTLP timeout
(10 s), where one blocking flush would cost 7-10 s per dbt step plus once per run: the run must succeed, keep every
materialization, and warn with the count of spans not delivered. How much time they add is measured by the
benchmark (``uvx nox -s bench -- otlp``, target < 2 s), not bounded here: on a shared 2-core machine a wall-clock
bound in a test is either flaky or too loose to catch a regression.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from floe_definitions.telemetry.run_trace import run_trace_id

ALL_ASSETS = {"raw/numbers", "stg_numbers", "total"}
RUN_END_UNDELIVERED = re.compile(
    r"^floe: (?P<lost>\d+) span\(s\) not delivered .*; ended=(?P<ended>\d+), exported=(?P<exported>\d+) "
    r"in trace (?P<trace>[0-9a-f]{32})\b.* for run (?P<run>[0-9a-f-]+);"
)
# The run span, raw/numbers' step span, the dbt step span, stg_numbers, its not_null test and total.
MIN_SPANS_PER_RUN = 6


def _otlp(url: str, protocol: str) -> str:
    """platform.yaml sending spans to ``url`` over ``protocol`` with the default OTLP timeout (10 s)."""
    return f"lineage: {{transport: {{type: none}}}}\ntracing: {{type: otlp, endpoint: '{url}', protocol: {protocol}}}\n"


@dataclass(frozen=True)
class Collectors:
    """Starts local span collectors speaking one OTLP protocol."""

    protocol: str
    start: Callable[..., Any]  # start(delay_seconds=0.0)


@pytest.fixture(params=["http/protobuf", "grpc"])
def collectors(
    request: pytest.FixtureRequest,
    http_endpoints_factory: Callable[..., Any],
    grpc_collector_factory: Callable[..., Any],
) -> Collectors:
    if request.param == "grpc":
        return Collectors("grpc", grpc_collector_factory)
    return Collectors("http/protobuf", lambda delay_seconds=0.0: http_endpoints_factory(200, delay_seconds))


def _assert_run_end_counts_its_own_lost_spans(outcome: Any, *, none_delivered: bool = True) -> None:
    """The run end warns once with the count of this run's spans (its trace's) not delivered.

    The project ran in this process before (a warm-up run at least), so a per-process count would be about twice
    a run's spans: the upper bound shows the count is the run's own. A collector that is down accepted none of
    them; one answering after the 10 s timeout might, in a race at the 10 s mark, have accepted a batch.
    """
    found = [match for w in outcome.warnings() if (match := RUN_END_UNDELIVERED.search(w))]
    assert len(found) == 1, f"expected one run-end undelivered-span warning: {outcome.warnings()}"
    warning = found[0]
    assert warning["run"] == outcome.run_id
    assert warning["trace"] == f"{run_trace_id(outcome.run_id):032x}"
    if none_delivered:
        assert int(warning["exported"]) == 0
        assert int(warning["lost"]) == int(warning["ended"])
    assert int(warning["lost"]) >= 1
    assert MIN_SPANS_PER_RUN <= int(warning["ended"]) < 2 * MIN_SPANS_PER_RUN, warning.group(0)


def _decode(bodies: list[bytes]) -> list[dict[str, Any]]:
    """Flatten OTLP export requests into span dicts (hex ids, name, attributes, status code, service name)."""
    spans: list[dict[str, Any]] = []
    for body in bodies:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        for resource_spans in request.resource_spans:
            resource = {kv.key: kv.value.string_value for kv in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    spans.append(
                        {
                            "name": span.name,
                            "trace_id": span.trace_id.hex(),
                            "span_id": span.span_id.hex(),
                            "parent_span_id": span.parent_span_id.hex(),
                            "attributes": {kv.key: kv.value.string_value for kv in span.attributes},
                            "status_code": span.status.code,
                            "service": resource.get("service.name"),
                        }
                    )
    return spans


def _wait_for(probe: Callable[[], Any], timeout_seconds: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_seconds
    while not (value := probe()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return value


def _run_against(
    url: str, protocol: str, *, fault_project: Callable[..., Any], run_floe_job: Callable[..., Any]
) -> Any:
    """Run a fresh copy sending spans to ``url`` twice; assert each run completed and kept everything.

    The first run also loads the code location (dbt parse); the second runs in a process that has met the collector
    before. Both must complete; the second's outcome is returned for its warnings.
    """
    project = fault_project()
    project.write_platform(_otlp(url, protocol))
    outcome = None
    for _ in range(2):
        outcome = run_floe_job(project)
        assert outcome.success
        assert outcome.materialized == ALL_ASSETS
    return outcome


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_otlp_collector_down_completes_the_run_without_waiting_and_counts_lost_spans(
    protocol: str,
    fault_project: Callable[..., Any],
    refused_url: str,
    run_floe_job: Callable[..., Any],
) -> None:
    outcome = _run_against(
        refused_url,
        protocol,
        fault_project=fault_project,
        run_floe_job=run_floe_job,
    )
    _assert_run_end_counts_its_own_lost_spans(outcome)
    assert any("not waited for: a send to the span collector" in w for w in outcome.warnings())


def test_otlp_collector_answering_after_10_s_completes_the_run_without_waiting(
    fault_project: Callable[..., Any],
    collectors: Collectors,
    run_floe_job: Callable[..., Any],
) -> None:
    collector = collectors.start(delay_seconds=10.0)
    outcome = _run_against(
        collector.url,
        collectors.protocol,
        fault_project=fault_project,
        run_floe_job=run_floe_job,
    )
    _assert_run_end_counts_its_own_lost_spans(outcome, none_delivered=False)


def test_otlp_collector_receives_per_model_spans_linked_to_the_run(
    fault_project: Callable[..., Any], collectors: Collectors, run_floe_job: Callable[..., Any]
) -> None:
    collector = collectors.start()
    project = fault_project()
    project.write_platform(_otlp(collector.url, collectors.protocol))
    outcome = run_floe_job(project)
    assert outcome.success
    assert outcome.materialized == ALL_ASSETS
    assert not [w for w in outcome.warnings() if "span(s) not delivered" in w or "span export" in w]

    def model_spans() -> list[dict[str, Any]]:
        spans = _decode(collector.recorded.bodies())
        ids = {span["attributes"].get("dbt.node.unique_id") for span in spans}
        return spans if {"model.faulty.stg_numbers", "model.faulty.total"} <= ids else []

    spans = _wait_for(model_spans)
    assert spans, f"per-model spans never reached the collector: {_decode(collector.recorded.bodies())}"
    by_id = {span["span_id"]: span for span in spans}
    assert {span["service"] for span in spans} == {"faulty"}
    run_spans = [
        span
        for span in spans
        if span["attributes"].get("dagster.run_id") == outcome.run_id and not span["parent_span_id"]
    ]
    assert len(run_spans) == 1, [span["name"] for span in spans]
    run_span = run_spans[0]
    for unique_id in ("model.faulty.stg_numbers", "model.faulty.total", "test.faulty.not_null_stg_numbers_n"):
        matches = [span for span in spans if span["attributes"].get("dbt.node.unique_id", "").startswith(unique_id)]
        assert len(matches) == 1, (unique_id, [span["name"] for span in spans])
        node = matches[0]
        assert node["trace_id"] == run_span["trace_id"]
        # Walk the parent links up to the run span: every hop must have arrived at the collector.
        hops = 0
        current = node
        while current["parent_span_id"]:
            assert current["parent_span_id"] in by_id, f"{current['name']}: parent span never arrived"
            current = by_id[current["parent_span_id"]]
            hops += 1
        assert current is run_span
        assert hops >= 1
    python_asset = [span for span in spans if span["name"] == "raw/numbers"]
    assert len(python_asset) == 1
    assert python_asset[0]["parent_span_id"] == run_span["span_id"]
