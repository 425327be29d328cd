"""A lineage backend that raises or hangs never fails or stalls the dbt run; the application's span flush is called."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from dbt_harness import REPARSE_NOTICE, DbtRun, RaisingTransport, SleepingTransport, make_warehouse, run_dbt

from floe_dbt_observe import ObservabilityOptions
from floe_dbt_observe.integration import ApplicationHooks


@dataclass
class RecordingSpanFlush:
    """An application's span flush hook: records each call and reports spans as undelivered."""

    calls: list[tuple[int, float]] = field(default_factory=list)

    def __call__(self, trace_id: int, timeout_seconds: float) -> str | None:
        self.calls.append((trace_id, timeout_seconds))
        return "2 span(s) not delivered (from the application's flush)"


@pytest.fixture(scope="session")
def span_flush() -> RecordingSpanFlush:
    return RecordingSpanFlush()


@pytest.fixture(scope="session")
def raising_run(
    parsed_project: Path,
    tmp_path_factory: pytest.TempPathFactory,
    session_monkeypatch: pytest.MonkeyPatch,
    span_flush: RecordingSpanFlush,
) -> DbtRun:
    warehouse = make_warehouse(tmp_path_factory.mktemp("raising") / "raising.duckdb")
    return run_dbt(
        parsed_project,
        warehouse,
        session_monkeypatch,
        transport=RaisingTransport(),
        hooks=ApplicationHooks(span_flush=span_flush),
        observability=ObservabilityOptions(flush_timeout_seconds=1.5),
    )


@pytest.fixture(scope="session")
def sleeping_run(
    parsed_project: Path, tmp_path_factory: pytest.TempPathFactory, session_monkeypatch: pytest.MonkeyPatch
) -> DbtRun:
    warehouse = make_warehouse(tmp_path_factory.mktemp("sleeping") / "sleeping.duckdb")
    return run_dbt(
        parsed_project,
        warehouse,
        session_monkeypatch,
        transport=SleepingTransport(5.0),
        observability=ObservabilityOptions(flush_timeout_seconds=1.0),
    )


def _warnings(run: DbtRun) -> list[str]:
    """floe-dbt-observe's delivery warnings (not its note that dbt re-parsed: the fixture's runs change the profile)."""
    return [m for m in run.logs() if m.startswith("floe-dbt-observe:") and REPARSE_NOTICE not in m]


def test_raising_transport_does_not_fail_the_run(raising_run: DbtRun) -> None:
    assert raising_run.result.success
    assert len(raising_run.result.get_asset_materialization_events()) == 8


def test_raising_transport_failures_are_counted_and_warned_once(raising_run: DbtRun) -> None:
    transport = raising_run.transport
    assert isinstance(transport, RaisingTransport)
    (warning,) = _warnings(raising_run)
    # 17 nodes x (START + COMPLETE), none delivered: each was tried and failed, or was still pending when the step
    # ended (the COMPLETE events held for the warehouse's columns are built when dbt exits, and a failing backend
    # is not waited for), and all of them are counted in the one warning.
    assert "34 OpenLineage event(s) not delivered" in warning
    assert f"failed={transport.calls}," in warning
    assert 0 < transport.calls <= 34


def test_the_applications_span_flush_runs_once_per_step_with_its_trace_and_its_warning_is_logged(
    raising_run: DbtRun, span_flush: RecordingSpanFlush
) -> None:
    (step_span,) = raising_run.step_spans()
    assert span_flush.calls == [(step_span.context.trace_id, 1.5)]
    (warning,) = _warnings(raising_run)
    assert "2 span(s) not delivered (from the application's flush)" in warning


def test_spans_are_unaffected_by_a_broken_lineage_backend(raising_run: DbtRun) -> None:
    assert len(raising_run.node_spans()) == 17


def test_sleeping_transport_does_not_stall_the_run(sleeping_run: DbtRun) -> None:
    # The run completes without waiting for every event (34 events x 5 s if emission blocked); how much time a slow
    # backend adds is the benchmark's to measure (`uvx nox -s bench -- lineage`), not a wall-clock bound here.
    assert sleeping_run.result.success
    assert len(sleeping_run.result.get_asset_materialization_events()) == 8
    transport = sleeping_run.transport
    assert isinstance(transport, SleepingTransport)
    assert transport.calls < 34  # the run did not wait for every event to be delivered


def test_sleeping_transport_reports_undelivered_events_once(sleeping_run: DbtRun) -> None:
    (warning,) = _warnings(sleeping_run)
    assert "still pending at the step's end=" in warning
    assert "OpenLineage event(s) not delivered" in warning
