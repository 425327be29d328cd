"""A lineage backend that is down, failing or slow never fails or noticeably slows a pipeline run.

The OpenLineage HTTP transport (the client's own, configured through platform.yaml) talks to a real server on
127.0.0.1: nothing listening (connection refused), one answering HTTP 500, one answering after 10 s. Each run is
compared with a run of the same project with lineage off; the added time is printed and bounded generously
(the machine is shared; ``bench/run.py lineage`` measures it), and the run's materializations are all kept.
A healthy backend that is merely not instant (answering after 0.3 s) still receives every event of the run.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

ALL_ASSETS = {"raw/numbers", "stg_numbers", "total"}
# Generous on a loaded 2-core machine: the design goal is < 2 s, the point here is "never waits for the backend".
MAX_ADDED_SECONDS = 15.0  # blocking on the backend would add 40 s or more; the figure itself is printed
# raw/numbers, stg_numbers, its not_null test and total each emit START and COMPLETE.
EVENTS_PER_RUN = 8
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


LINEAGE_OFF = "lineage: {transport: {type: none}}\ntracing: {type: none}\n"


@pytest.fixture(scope="module")
def lineage_off(tmp_path_factory: pytest.TempPathFactory, project_in_module: Callable[..., Any]) -> Any:
    """A project copy with lineage and tracing off (a code location is loaded once per copy, platform included)."""
    project = project_in_module(tmp_path_factory.mktemp("lineage_off"))
    project.write_platform(LINEAGE_OFF)
    return project


@pytest.fixture(scope="module")
def baseline(lineage_off: Any, run_in_module: Callable[..., Any]) -> list[float]:
    """Durations of the lineage-off run (after a warm-up run that loads the code location and parses dbt)."""
    run_in_module(lineage_off)
    outcome = run_in_module(lineage_off)
    assert outcome.success
    return [outcome.seconds]


def _run_against(
    url: str,
    *,
    fault_project: Callable[..., Any],
    lineage_off: Any,
    baseline: list[float],
    run_floe_job: Callable[..., Any],
    label: str,
) -> Any:
    """Run a fresh copy sending lineage to ``url``; assert the run kept everything and added little time.

    The first run of the copy loads the code location (dbt parse) and is not timed. Timing on a shared machine
    is noisy, so when a round exceeds the bound the lineage-off and the faulted run are repeated (at most three
    rounds) and the fastest of each is compared: a backend that really blocks the run stays slow in every round.
    """
    project = fault_project()
    project.write_platform(_http_lineage(url))
    warm_up = run_floe_job(project)
    assert warm_up.success
    durations: list[float] = []
    outcome = warm_up
    for _ in range(3):
        outcome = run_floe_job(project)
        assert outcome.success
        assert outcome.materialized == ALL_ASSETS
        durations.append(outcome.seconds)
        if min(durations) - min(baseline) < MAX_ADDED_SECONDS:
            break
        baseline.append(run_floe_job(lineage_off).seconds)
    added = min(durations) - min(baseline)
    fastest, off = min(durations), min(baseline)
    print(f"lineage {label}: fastest run {fastest:.2f} s vs {off:.2f} s with lineage off ({added:+.2f} s)")
    assert added < MAX_ADDED_SECONDS
    return outcome


def test_lineage_endpoint_refusing_connections_neither_fails_nor_slows_the_run_and_counts_the_loss(
    fault_project: Callable[..., Any],
    lineage_off: Any,
    baseline: list[float],
    refused_url: str,
    run_floe_job: Callable[..., Any],
) -> None:
    outcome = _run_against(
        refused_url,
        fault_project=fault_project,
        lineage_off=lineage_off,
        baseline=baseline,
        run_floe_job=run_floe_job,
        label="endpoint down",
    )
    assert _undelivered(outcome) == EVENTS_PER_RUN, outcome.warnings()


def test_lineage_endpoint_answering_500_neither_fails_nor_slows_the_run_and_counts_the_loss(
    fault_project: Callable[..., Any],
    lineage_off: Any,
    baseline: list[float],
    endpoint_factory: Callable[..., Any],
    run_floe_job: Callable[..., Any],
) -> None:
    endpoint = endpoint_factory(status=500)
    outcome = _run_against(
        endpoint.url,
        fault_project=fault_project,
        lineage_off=lineage_off,
        baseline=baseline,
        run_floe_job=run_floe_job,
        label="HTTP 500",
    )
    assert _undelivered(outcome) == EVENTS_PER_RUN, outcome.warnings()
    # The HTTP transport really talked to the local server: every event got its 500.
    assert _eventually(lambda: endpoint.recorded.bodies("/api/v1/lineage")), "no lineage request reached the server"


def test_lineage_endpoint_answering_after_10_s_neither_fails_nor_slows_the_run_and_counts_the_loss(
    fault_project: Callable[..., Any],
    lineage_off: Any,
    baseline: list[float],
    endpoint_factory: Callable[..., Any],
    run_floe_job: Callable[..., Any],
) -> None:
    endpoint = endpoint_factory(status=200, delay_seconds=10.0)
    outcome = _run_against(
        endpoint.url,
        fault_project=fault_project,
        lineage_off=lineage_off,
        baseline=baseline,
        run_floe_job=run_floe_job,
        label="answering after 10 s",
    )
    # No answer comes within the transport's 2 s timeout: every event of the run is counted as not delivered,
    # and the flushes stopped waiting because the backend was slow, not because their timeout ran out.
    assert _undelivered(outcome) == EVENTS_PER_RUN, outcome.warnings()
    assert _not_waited_for(outcome), outcome.warnings()


def test_lineage_endpoint_answering_after_300_ms_receives_every_event_of_the_run(
    fault_project: Callable[..., Any],
    endpoint_factory: Callable[..., Any],
    run_floe_job: Callable[..., Any],
) -> None:
    endpoint = endpoint_factory(status=200, delay_seconds=0.3)
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
        if event["run"]["facets"]["parent"]["run"]["runId"] == outcome.run_id
    }
    assert len(of_run) == EVENTS_PER_RUN, sorted(of_run)
    assert {state for _, state in of_run} == {"START", "COMPLETE"}
