"""A lineage backend that raises or hangs never fails or stalls the dbt run."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbt_harness import DbtRun, RaisingTransport, SleepingTransport, make_warehouse, run_dbt


@pytest.fixture(scope="session")
def raising_run(
    parsed_project: Path, tmp_path_factory: pytest.TempPathFactory, session_monkeypatch: pytest.MonkeyPatch
) -> DbtRun:
    warehouse = make_warehouse(tmp_path_factory.mktemp("raising") / "raising.duckdb")
    return run_dbt(parsed_project, warehouse, session_monkeypatch, transport=RaisingTransport())


@pytest.fixture(scope="session")
def sleeping_run(
    parsed_project: Path, tmp_path_factory: pytest.TempPathFactory, session_monkeypatch: pytest.MonkeyPatch
) -> DbtRun:
    warehouse = make_warehouse(tmp_path_factory.mktemp("sleeping") / "sleeping.duckdb")
    return run_dbt(
        parsed_project, warehouse, session_monkeypatch, transport=SleepingTransport(5.0), flush_timeout_seconds=1.0
    )


def _warnings(run: DbtRun) -> list[str]:
    return [message for message in run.logs() if message.startswith("floe-dbt-observe:")]


def test_raising_transport_does_not_fail_the_run(raising_run: DbtRun) -> None:
    assert raising_run.result.success
    assert len(raising_run.result.get_asset_materialization_events()) == 8


def test_raising_transport_failures_are_counted_and_warned_once(raising_run: DbtRun) -> None:
    transport = raising_run.transport
    assert isinstance(transport, RaisingTransport)
    (warning,) = _warnings(raising_run)
    assert f"{transport.calls} OpenLineage event(s) not delivered" in warning
    assert f"failed={transport.calls}" in warning
    assert transport.calls == 34  # 17 nodes x (START + COMPLETE)


def test_spans_are_unaffected_by_a_broken_lineage_backend(raising_run: DbtRun) -> None:
    assert len(raising_run.node_spans()) == 17


def test_sleeping_transport_does_not_stall_the_run(sleeping_run: DbtRun, success_run: DbtRun) -> None:
    assert sleeping_run.result.success
    # 34 events x 5 s would add ~170 s if emission blocked; the flush gives up after 1 s. The bound is wide
    # because the two runs are whole dbt builds on a shared 2-core machine (seen: +15 s of pure load noise);
    # it still fails by a wide margin if a single event's 5 s sleep landed on the run's path per node.
    transport = sleeping_run.transport
    assert isinstance(transport, SleepingTransport)
    assert transport.calls < 34  # the run did not wait for every event to be delivered
    assert sleeping_run.seconds < success_run.seconds + 60.0


def test_sleeping_transport_reports_undelivered_events_once(sleeping_run: DbtRun) -> None:
    (warning,) = _warnings(sleeping_run)
    assert "still pending at flush timeout=" in warning
    assert "OpenLineage event(s) not delivered" in warning
