"""dbt through ``dbtRunner`` in the step's process (``DbtCliOptions(invocation="in_process")``) observes as dbt's
subprocess does.

Each in-process build below runs the same project as a session run of conftest (dbt as dagster-dbt's subprocess),
into a warehouse file of the same name, and is compared with it: the same materializations and check results, the
same spans (names, statuses, attributes but ids and timings), the same lineage runs (events, facets, datasets and
their warehouse columns). Interrupts are tested through Dagster's own run termination in floe-definitions
(``tests/integration/faults/test_faults_termination.py``, parametrized by the invocation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest
from dbt_harness import DbtRun, add_failing_test, break_payments, copy_project, make_warehouse, run_dbt

from floe_dbt_observe import DbtCliOptions, DbtObserveError, _compat, build_dbt_assets

VOLATILE_ATTRIBUTES = frozenset(
    {
        "dagster.run_id",
        "openlineage.run_id",
        "dbt.invocation_id",
        "dbt.node.execution_time_s",
        "dbt.node.thread",
        "dbt.node.message",  # names the invocation's own target path; compared without it below
    }
)
IN_PROCESS_LOG = "Running dbt command in process: `dbt "
SUBPROCESS_LOG = "Running dbt command: `"


def _span_shapes(run: DbtRun) -> list[tuple[Any, ...]]:
    shapes = []
    for span in run.spans:
        attributes = tuple(
            sorted((k, str(v)) for k, v in (span.attributes or {}).items() if k not in VOLATILE_ATTRIBUTES)
        )
        events = tuple(event.name for event in span.events)
        shapes.append((span.name, span.status.status_code.name, attributes, events))
    return sorted(shapes)


def _dataset(dataset: dict[str, Any]) -> tuple[Any, ...]:
    schema = dataset.get("facets", {}).get("schema", {}).get("fields", [])
    return (
        dataset["name"],
        tuple(sorted(dataset.get("facets", {}))),
        tuple((field["name"], field.get("type")) for field in schema),
    )


def _lineage_shapes(run: DbtRun) -> list[tuple[Any, ...]]:
    return sorted(
        (
            event["job"]["name"],
            event["eventType"],
            tuple(sorted(event["run"].get("facets", {}))),
            tuple(sorted(event["job"].get("facets", {}))),
            tuple(sorted(_dataset(d) for d in event.get("inputs", []))),
            tuple(sorted(_dataset(d) for d in event.get("outputs", []))),
        )
        for event in run.events
    )


def _dagster_records(run: DbtRun) -> tuple[Any, ...]:
    materialized = {
        event.asset_key.to_user_string(): tuple(sorted(event.materialization.metadata))
        for event in run.result.get_asset_materialization_events()
    }
    checks = {
        (evaluation.asset_key.to_user_string(), evaluation.check_name, evaluation.passed)
        for evaluation in run.result.get_asset_check_evaluations()
    }
    return tuple(sorted(materialized.items())), tuple(sorted(checks))


@pytest.fixture(scope="session")
def in_process_run(
    tmp_path_factory: pytest.TempPathFactory, session_monkeypatch: pytest.MonkeyPatch
) -> Callable[..., DbtRun]:
    """``in_process_run(project_dir, warehouse_name, **build_kwargs)``: a build with dbt in this process."""

    def run(project_dir: Path, warehouse_name: str, **build_kwargs: Any) -> DbtRun:
        warehouse = make_warehouse(tmp_path_factory.mktemp("in_process") / warehouse_name)
        return run_dbt(
            project_dir, warehouse, session_monkeypatch, dbt=DbtCliOptions(invocation="in_process"), **build_kwargs
        )

    return run


@pytest.fixture(scope="session")
def in_process_success(parsed_project: Path, in_process_run: Callable[..., DbtRun]) -> DbtRun:
    return in_process_run(parsed_project, "success.duckdb")


@pytest.fixture(scope="session")
def in_process_broken(tmp_path_factory: pytest.TempPathFactory, in_process_run: Callable[..., DbtRun]) -> DbtRun:
    project = copy_project(tmp_path_factory.mktemp("broken_in_process") / "dbt_project", break_payments)
    return in_process_run(project, "broken.duckdb")


@pytest.fixture(scope="session")
def in_process_failing_test(tmp_path_factory: pytest.TempPathFactory, in_process_run: Callable[..., DbtRun]) -> DbtRun:
    project = copy_project(tmp_path_factory.mktemp("failing_in_process") / "dbt_project", add_failing_test)
    return in_process_run(project, "failing.duckdb")


def test_dbt_runs_in_the_step_process_and_not_as_a_subprocess(in_process_success: DbtRun) -> None:
    assert in_process_success.result.success
    logs = in_process_success.logs()
    assert any(line.startswith(IN_PROCESS_LOG) and " build " in line for line in logs), logs
    assert not any(line.startswith(SUBPROCESS_LOG) for line in logs)


def test_in_process_build_has_the_subprocess_builds_materializations_and_checks(
    in_process_success: DbtRun, success_run: DbtRun
) -> None:
    assert _dagster_records(in_process_success) == _dagster_records(success_run)


def test_in_process_build_has_the_subprocess_builds_spans(in_process_success: DbtRun, success_run: DbtRun) -> None:
    assert _span_shapes(in_process_success) == _span_shapes(success_run)


def test_in_process_build_has_the_subprocess_builds_lineage(in_process_success: DbtRun, success_run: DbtRun) -> None:
    assert _lineage_shapes(in_process_success) == _lineage_shapes(success_run)


def test_in_process_build_leaves_the_duckdb_file_unlocked(in_process_success: DbtRun) -> None:
    # a read-only and then a read-write connection: DuckDB refuses either while this process still holds dbt's
    with duckdb.connect(str(in_process_success.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from main.customer_orders").fetchone() == (2,)
    with duckdb.connect(str(in_process_success.warehouse)) as con:
        con.execute("create table main.after_dbt as select 1 as one")


def test_a_broken_model_fails_the_step_and_its_node_as_in_the_subprocess(
    in_process_broken: DbtRun, broken_model_run: DbtRun
) -> None:
    assert not in_process_broken.result.success
    assert _dagster_records(in_process_broken) == _dagster_records(broken_model_run)
    assert _span_shapes(in_process_broken) == _span_shapes(broken_model_run)
    assert _lineage_shapes(in_process_broken) == _lineage_shapes(broken_model_run)
    (failed,) = [s for s in in_process_broken.node_spans() if s.attributes["dbt.node.name"] == "stg_payments"]
    assert "no_such_column" in str(failed.attributes["dbt.node.message"])
    failure = next(e for e in in_process_broken.result.all_events if e.is_step_failure)
    error, texts = failure.step_failure_data.error, []
    while error is not None:
        texts.append(error.message)
        error = error.cause
    assert any("run in process by dbtRunner" in text for text in texts), texts


def test_a_failing_test_fails_its_check_as_in_the_subprocess(
    in_process_failing_test: DbtRun, failing_test_run: DbtRun
) -> None:
    assert _dagster_records(in_process_failing_test) == _dagster_records(failing_test_run)
    assert _span_shapes(in_process_failing_test) == _span_shapes(failing_test_run)
    assert _lineage_shapes(in_process_failing_test) == _lineage_shapes(failing_test_run)


def test_a_subset_runs_only_its_nodes_in_process(
    in_process_success: DbtRun, in_process_run: Callable[..., Any]
) -> None:
    subset = in_process_run(in_process_success.project_dir, "subset.duckdb", selection=[dg.AssetKey("stg_orders")])
    assert subset.result.success
    materialized = subset.materialized()
    assert materialized == ["stg_orders"]
    models = {
        s.attributes["dbt.node.name"] for s in subset.node_spans() if s.attributes["dbt.node.resource_type"] != "test"
    }
    assert models == {"stg_orders"}


@pytest.fixture
def _fresh_warnings() -> Iterator[None]:
    _compat.warn_unavailable.cache_clear()
    yield
    _compat.warn_unavailable.cache_clear()


@pytest.mark.usefixtures("_fresh_warnings")
def test_without_the_probe_dbt_runs_as_a_subprocess_with_one_warning(
    parsed_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(_compat.DISABLE_ENV, _compat.DBT_IN_PROCESS.name)
    run = run_dbt(
        parsed_project,
        make_warehouse(tmp_path / "fallback.duckdb"),
        monkeypatch,
        dbt=DbtCliOptions(invocation="in_process"),
    )
    assert run.result.success
    assert any(line.startswith(SUBPROCESS_LOG) for line in run.logs())
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "dbt_in_process" in r.getMessage()]
    assert len(warnings) == 1


def test_an_unknown_invocation_is_refused_naming_the_choices(parsed_project: Path) -> None:
    with pytest.raises(DbtObserveError, match="dbt_invocation must be one of subprocess, in_process, got 'thread'"):
        build_dbt_assets(parsed_project, dbt=DbtCliOptions(invocation="thread"))  # type: ignore[arg-type]
