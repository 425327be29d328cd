"""Shared fixtures: the fixture dbt project (and its variants), DuckDB warehouses, dbt runs, lineage endpoints.

Every dbt run through dagster-dbt costs seconds, so each run is a session fixture that the tests
reading it share; variants are copies of the project edited in a temporary directory. Lineage endpoints (real HTTP
servers on 127.0.0.1 that the OpenLineage client's own HTTP transport talks to) come from floe-test-support's
plugin: ``http_endpoints_factory``, ``refused_url``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dbt_harness import DUCKDB_ENV, DbtRun, add_failing_test, break_payments, copy_project, make_warehouse, run_dbt

from floe_dbt_observe import DbtAssetSettings, DefinitionOptions, build_dbt_assets


@pytest.fixture(scope="session")
def session_monkeypatch() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="session")
def project_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the fixture project with no manifest yet (build_dbt_assets parses it)."""
    return copy_project(tmp_path_factory.mktemp("project") / "dbt_project")


@pytest.fixture(scope="session")
def parsed_project(project_dir: Path, session_monkeypatch: pytest.MonkeyPatch) -> Path:
    """The project after one ``build_dbt_assets`` call produced ``target/manifest.json``."""
    session_monkeypatch.setenv(DUCKDB_ENV, str(project_dir.parent / "parse.duckdb"))
    build_dbt_assets(project_dir)
    return project_dir


@pytest.fixture(scope="session")
def manifest(parsed_project: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((parsed_project / "target" / "manifest.json").read_text())
    return loaded


@pytest.fixture(scope="session")
def success_run(
    parsed_project: Path, tmp_path_factory: pytest.TempPathFactory, session_monkeypatch: pytest.MonkeyPatch
) -> DbtRun:
    """A successful ``dbt build`` of the whole fixture project, per-model observability on."""
    warehouse = make_warehouse(tmp_path_factory.mktemp("wh") / "success.duckdb")
    return run_dbt(parsed_project, warehouse, session_monkeypatch)


@pytest.fixture(scope="session")
def partitioned_run(
    parsed_project: Path, tmp_path_factory: pytest.TempPathFactory, session_monkeypatch: pytest.MonkeyPatch
) -> DbtRun:
    """``stg_orders`` alone, daily-partitioned, for one partition (its window reaches dbt as --vars)."""
    warehouse = make_warehouse(tmp_path_factory.mktemp("partitioned") / "partitioned.duckdb")
    daily = dg.DailyPartitionsDefinition(start_date="2024-01-01")
    return run_dbt(
        parsed_project,
        warehouse,
        session_monkeypatch,
        definitions=DefinitionOptions(
            asset_settings={dg.AssetKey("stg_orders"): DbtAssetSettings(partitions_def=daily)}
        ),
        selection=[dg.AssetKey("stg_orders")],
        partition_key="2024-01-02",
    )


@pytest.fixture(scope="session")
def broken_model_run(tmp_path_factory: pytest.TempPathFactory, session_monkeypatch: pytest.MonkeyPatch) -> DbtRun:
    """A build where ``stg_payments`` does not compile against the warehouse."""
    root = tmp_path_factory.mktemp("broken")
    project = copy_project(root / "dbt_project", break_payments)
    warehouse = make_warehouse(root / "broken.duckdb")
    return run_dbt(project, warehouse, session_monkeypatch)


@pytest.fixture(scope="session")
def failing_test_run(tmp_path_factory: pytest.TempPathFactory, session_monkeypatch: pytest.MonkeyPatch) -> DbtRun:
    """A build where a test on ``customer_orders.order_count`` fails (customer 2 has 2 orders).

    Its name is long enough (64+ characters) for dbt to write it to a hashed file name.
    """
    root = tmp_path_factory.mktemp("failing")
    project = copy_project(root / "dbt_project", add_failing_test)
    warehouse = make_warehouse(root / "failing.duckdb")
    return run_dbt(project, warehouse, session_monkeypatch)
