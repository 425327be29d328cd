"""A lineage backend that is down, failing or slow never fails or noticeably slows a pipeline run.

The OpenLineage HTTP transport (the client's own, configured through platform.yaml) talks to a real server on
127.0.0.1: nothing listening (connection refused), one answering HTTP 500, one answering after 10 s. The tests
assert the behaviour: the run completes with every materialization, nothing waited for the backend (the flushes say
they stopped waiting because it failed or was slow), and every undelivered event is counted. How much time a faulty
backend adds is measured by the benchmark (``uvx nox -s bench -- lineage``, target < 2 s), not bounded here: a
shared 2-core machine makes any wall-clock bound in a test either flaky or too loose to catch a regression.
A healthy backend that is merely not instant (answering after 0.3 s) still receives every event of the run.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

ALL_ASSETS = {"raw/numbers", "stg_numbers", "total"}
# The Dagster run itself, raw/numbers, stg_numbers, its not_null test and total each emit START and COMPLETE.
EVENTS_PER_RUN = 10
UNDELIVERED = re.compile(
    r"(\d+) OpenLineage event\(s\) not delivered|(\d+) (?:lineage|OpenLineage) events? undelivered"
)


def _eventually(probe: Callable[[], Any], timeout_seconds: float = 30.0) -> Any:
    """Poll ``probe`` until it returns something truthy or the time is up; return its last value."""
    deadline = time.monotonic() + timeout_seconds
    while not (value := probe()) and time.monotonic() < deadline:
        time.sleep(0.2)
    return value


def _undelivered(outcome: Any) -> int:
    """Sum the undelivered-event counts of the run's warnings (floe's Python-asset and dbt emitters each warn)."""
    matches = [UNDELIVERED.search(warning) for warning in outcome.warnings()]
    return sum(int(next(group for group in match.groups() if group)) for match in matches if match)


def _not_waited_for(outcome: Any) -> list[str]:
    """The undelivered-event warnings saying the flush stopped waiting because the backend failed or was slow."""
    return [w for w in outcome.warnings() if UNDELIVERED.search(w) and "not waited for: a send to the lineage" in w]


def _http_lineage(url: str) -> str:
    return f"lineage:\n  transport: {{type: http, url: '{url}', timeout_seconds: 2}}\ntracing: {{type: none}}\n"


def _run_against(url: str, *, fault_project: Callable[..., Any], run_floe_job: Callable[..., Any]) -> Any:
    """Run a fresh copy sending lineage to ``url`` twice; assert each run completed and kept everything.

    The first run also loads the code location (dbt parse); the second runs in a process that has met the backend
    before. Both must complete; the second's outcome is returned for its warnings.
    """
    project = fault_project()
    project.write_platform(_http_lineage(url))
    outcome = None
    for _ in range(2):
        outcome = run_floe_job(project)
        assert outcome.success
        assert outcome.materialized == ALL_ASSETS
    return outcome


def test_lineage_endpoint_refusing_connections_completes_the_run_without_waiting_and_counts_the_loss(
    fault_project: Callable[..., Any],
    refused_url: str,
    run_floe_job: Callable[..., Any],
) -> None:
    outcome = _run_against(
        refused_url,
        fault_project=fault_project,
        run_floe_job=run_floe_job,
    )
    assert _undelivered(outcome) == EVENTS_PER_RUN, outcome.warnings()


def test_lineage_endpoint_answering_500_completes_the_run_without_waiting_and_counts_the_loss(
    fault_project: Callable[..., Any],
    http_endpoints_factory: Callable[..., Any],
    run_floe_job: Callable[..., Any],
) -> None:
    endpoint = http_endpoints_factory(status=500)
    outcome = _run_against(
        endpoint.url,
        fault_project=fault_project,
        run_floe_job=run_floe_job,
    )
    assert _undelivered(outcome) == EVENTS_PER_RUN, outcome.warnings()
    # The HTTP transport really talked to the local server: every event got its 500.
    assert _eventually(lambda: endpoint.recorded.bodies("/api/v1/lineage")), "no lineage request reached the server"


def test_lineage_endpoint_answering_after_10_s_completes_the_run_without_waiting_and_counts_the_loss(
    fault_project: Callable[..., Any],
    http_endpoints_factory: Callable[..., Any],
    run_floe_job: Callable[..., Any],
) -> None:
    endpoint = http_endpoints_factory(status=200, delay_seconds=10.0)
    outcome = _run_against(
        endpoint.url,
        fault_project=fault_project,
        run_floe_job=run_floe_job,
    )
    # No answer comes within the transport's 2 s timeout: every event of the run is counted as not delivered,
    # and the flushes stopped waiting because the backend was slow, not because their timeout ran out.
    assert _undelivered(outcome) == EVENTS_PER_RUN, outcome.warnings()
    assert _not_waited_for(outcome), outcome.warnings()


def test_lineage_endpoint_answering_after_300_ms_receives_every_event_of_the_run(
    fault_project: Callable[..., Any],
    http_endpoints_factory: Callable[..., Any],
    run_floe_job: Callable[..., Any],
) -> None:
    endpoint = http_endpoints_factory(status=200, delay_seconds=0.3)
    project = fault_project()
    project.write_platform(_http_lineage(endpoint.url))
    outcome = run_floe_job(project)
    assert outcome.success
    assert outcome.materialized == ALL_ASSETS
    assert _undelivered(outcome) == 0, outcome.warnings()
    received = [json.loads(body) for body in endpoint.recorded.bodies("/api/v1/lineage")]
    of_run = {
        (event["job"]["name"], event["eventType"])
        for event in received
        if outcome.run_id
        in (event["run"]["runId"], event["run"]["facets"].get("parent", {}).get("run", {}).get("runId"))
    }
    assert len(of_run) == EVENTS_PER_RUN, sorted(of_run)
    assert {state for _, state in of_run} == {"START", "COMPLETE"}
