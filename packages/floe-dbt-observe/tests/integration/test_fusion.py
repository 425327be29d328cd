"""Real dbt Fusion builds of the fixture project on DuckDB: assets, spans and lineage labelled with Fusion.

Skipped, saying why, where Fusion is not installed (see fusion_harness); tests/unit/test_fusion_events.py replays
recorded Fusion logs through the same event handling everywhere.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import FIXTURE_ASSETS, DbtRun, break_payments, copy_project, make_warehouse, run_dbt
from fusion_harness import fusion_compatible, fusion_duckdb_env, fusion_executable
from opentelemetry.trace import StatusCode

from floe_dbt_observe import DbtCliOptions, build_dbt_assets
from floe_dbt_observe.dbt_engine import parse_version_output
from floe_dbt_observe.errors import FusionInProcessError


@pytest.fixture(scope="module")
def fusion(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """Fusion's ``dbt`` and the environment its DuckDB driver loads with."""
    executable, why = fusion_executable()
    if executable is None:
        pytest.skip(why)
    env, why = fusion_duckdb_env(tmp_path_factory.mktemp("fusion-lib"))
    if env is None:
        pytest.skip(why)
    return executable, env


@pytest.fixture(scope="module")
def fusion_version(fusion: tuple[Path, dict[str, str]]) -> str:
    output = subprocess.run([str(fusion[0]), "--version"], capture_output=True, text=True, check=True).stdout
    return parse_version_output(output).version


def _fusion_run(fusion: tuple[Path, dict[str, str]], root: Path, edit: Any = None, **build_kwargs: Any) -> DbtRun:
    executable, env = fusion

    def edit_project(project: Path) -> None:
        fusion_compatible(project)
        if edit is not None:
            edit(project)

    project = copy_project(root / "dbt_project", edit_project)
    warehouse = make_warehouse(root / "warehouse.duckdb")
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)  # dagster-dbt starts dbt with this process's environment
        return run_dbt(project, warehouse, patch, dbt=DbtCliOptions(executable=executable), **build_kwargs)


@pytest.fixture(scope="module")
def fusion_success(fusion: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> DbtRun:
    return _fusion_run(fusion, tmp_path_factory.mktemp("fusion-success"))


@pytest.fixture(scope="module")
def fusion_broken(fusion: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory) -> DbtRun:
    return _fusion_run(fusion, tmp_path_factory.mktemp("fusion-broken"), break_payments)


def test_fusion_build_materializes_every_asset(fusion_success: DbtRun) -> None:
    assert fusion_success.result.success
    assert set(fusion_success.materialized()) == FIXTURE_ASSETS


def test_fusion_node_spans_name_the_engine_and_its_version(fusion_success: DbtRun, fusion_version: str) -> None:
    spans = fusion_success.node_spans()
    assert len(spans) == 17
    for span in [*spans, *fusion_success.step_spans()]:
        assert span.attributes["dbt.engine.name"] == "dbt-fusion"
        assert span.attributes["dbt.engine.version"] == fusion_version


def test_fusion_lineage_names_the_engine_and_its_version(fusion_success: DbtRun, fusion_version: str) -> None:
    assert len(fusion_success.events) == 34  # a START and a COMPLETE per executed node
    for event in fusion_success.events:
        facets = event["run"]["facets"]
        assert facets["processing_engine"]["name"] == "dbt-fusion"
        assert facets["processing_engine"]["version"] == fusion_version
        assert facets["dbt_version"]["version"] == fusion_version
        assert facets["dbt_run"]["dbt_runtime"] == "fusion"


def test_fusion_model_lineage_has_the_warehouse_schema(fusion_success: DbtRun) -> None:
    (complete,) = [e for e in fusion_success.events_for("customer_orders") if e["eventType"] == "COMPLETE"]
    fields = {field["name"]: field["type"] for field in complete["outputs"][0]["facets"]["schema"]["fields"]}
    assert fields["order_count"] == "BIGINT"
    assert "columnLineage" in complete["outputs"][0]["facets"]


def test_fusion_failed_model_span_and_run_carry_the_error(fusion_broken: DbtRun) -> None:
    (span,) = [s for s in fusion_broken.node_spans() if s.attributes["dbt.node.name"] == "stg_payments"]
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "DatabaseError"
    assert "no_such_column" in str(span.attributes["dbt.node.message"])
    (fail,) = [e for e in fusion_broken.events_for("stg_payments") if e["eventType"] == "FAIL"]
    assert "no_such_column" in fail["run"]["facets"]["errorMessage"]["message"]
    skipped = {
        s.attributes["dbt.node.name"]
        for s in fusion_broken.node_spans()
        if s.attributes["dbt.node.status"] == "skipped"
    }
    assert {"customer_orders", "country_revenue"} <= skipped


def test_in_process_invocation_with_fusion_is_refused(fusion: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    project = copy_project(tmp_path / "dbt_project", fusion_compatible)
    with pytest.raises(FusionInProcessError, match="runs only as a subprocess") as raised:
        build_dbt_assets(project, dbt=DbtCliOptions(executable=fusion[0], invocation="in_process"))
    assert str(fusion[0]) in str(raised.value)
