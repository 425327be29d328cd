"""Warehouse truth on a project shaped like dbt's jaffle-shop sample, and dataset identity equal to dbt-ol's.

The project's seeds declare no columns, its models are CTE chains of ``select *`` and its schema.yml documents
only some columns (and one the table does not have). One floe build and one ``dbt-ol run`` on the same project
and warehouse file are shared by the tests.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import DUCKDB_ENV, DbtRun
from jaffle_expectations import (
    CUSTOMERS_COLUMNS,
    EXPECTED_DATASET_LINEAGE,
    EXPECTED_EVENTS_PER_TYPE,
    EXPECTED_LINEAGE,
    MODELS,
    build_jaffle,
    column_lineage,
    dataset_lineage,
    events_per_node_type,
    schema_fields,
    table_name,
)


@pytest.fixture(scope="module")
def jaffle_run(tmp_path_factory: pytest.TempPathFactory, session_monkeypatch: pytest.MonkeyPatch) -> DbtRun:
    """One floe build of the jaffle-shaped project (3 seeds, 5 models, 20 tests) on its own DuckDB file."""
    root = tmp_path_factory.mktemp("jaffle")
    return build_jaffle(root, root / "jaffle.duckdb", session_monkeypatch)


def test_the_build_succeeds(jaffle_run: DbtRun) -> None:
    assert jaffle_run.result.success
    completes = [e for e in jaffle_run.events if e["eventType"] == "COMPLETE"]
    assert len(completes) == 28  # 3 seeds, 5 models, 20 tests


def test_each_node_type_gets_exactly_a_start_and_a_complete_per_node(jaffle_run: DbtRun) -> None:
    assert events_per_node_type(jaffle_run.events) == EXPECTED_EVENTS_PER_TYPE
    for event in jaffle_run.events:
        states = [e["eventType"] for e in jaffle_run.events if e["run"]["runId"] == event["run"]["runId"]]
        assert states == ["START", "COMPLETE"], event["job"]["name"]


@pytest.mark.parametrize("model", MODELS)
def test_every_model_gets_column_lineage_with_hand_checked_mappings(jaffle_run: DbtRun, model: str) -> None:
    assert column_lineage(jaffle_run, model) == EXPECTED_LINEAGE[model]


@pytest.mark.parametrize("model", ["customers", "orders"])
def test_joins_and_group_by_are_dataset_level_indirect_lineage(jaffle_run: DbtRun, model: str) -> None:
    assert dataset_lineage(jaffle_run, model) == EXPECTED_DATASET_LINEAGE[model]


def test_no_model_warns_that_it_cannot_be_parsed(jaffle_run: DbtRun) -> None:
    assert [w for w in jaffle_run.warnings if "no column lineage" in w] == []  # type: ignore[attr-defined]


def test_seed_schema_is_typed_from_the_warehouse_though_it_declares_no_columns(jaffle_run: DbtRun) -> None:
    fields = schema_fields(jaffle_run, "raw_payments")
    assert [(f["name"], f["type"]) for f in fields] == [
        ("id", "INTEGER"),
        ("order_id", "INTEGER"),
        ("payment_method", "VARCHAR"),
        ("amount", "INTEGER"),
    ]


def test_model_schema_is_the_tables_columns_with_schema_yml_descriptions(jaffle_run: DbtRun) -> None:
    fields = schema_fields(jaffle_run, "customers")
    assert [f["name"] for f in fields] == CUSTOMERS_COLUMNS  # all 7, in table order
    by_name = {f["name"]: f for f in fields}
    assert (by_name["customer_id"]["type"], by_name["customer_id"]["description"]) == ("INTEGER", "Primary key")
    assert by_name["first_order"]["type"] == "DATE"
    assert by_name["first_order"]["description"] == "Date (UTC) of a customer's first order"
    assert by_name["number_of_orders"]["type"] == "BIGINT"
    assert "description" not in by_name["last_name"]


def test_an_unparseable_model_warns_once_naming_it_and_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from floe_dbt_observe.lineage_context import LineageContext
    from floe_dbt_observe.lineage_facets import column_lineage_facet

    project = tmp_path / "p"
    project.mkdir()
    (project / "compiled.sql").write_text("select from where (")
    manifest = {
        "metadata": {"adapter_type": "duckdb", "project_name": "p"},
        "nodes": {
            "model.p.broken": {
                "resource_type": "model",
                "name": "broken",
                "original_file_path": "models/broken.sql",
                "compiled_code": "select from where (",
                "database": "db",
                "schema": "main",
            }
        },
        "parent_map": {"model.p.broken": []},
    }
    ctx = LineageContext(
        manifest=manifest,
        job_namespace="dbt",
        dataset_namespace_source="duckdb:///db.duckdb",
        parent=None,
        dbt_version="1",
        openlineage_version="1",
        target_path=None,
        project_dir=project,
    )
    with caplog.at_level(logging.WARNING, logger="floe_dbt_observe"):
        assert column_lineage_facet(ctx, "model.p.broken") is None
    (record,) = [r for r in caplog.records if "no column lineage" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert "broken (models/broken.sql)" in record.getMessage()
    assert "ParseError" in record.getMessage() or "Error" in record.getMessage()


# --- dataset identity: dbt-ol on the same project and warehouse --------------------------------------------------


@pytest.fixture(scope="module")
def dbt_ol_events(jaffle_run: DbtRun, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Run ``dbt-ol run`` (OpenLineage's dbt integration) on the project floe built, with a file transport."""
    root = tmp_path_factory.mktemp("dbt_ol")
    log = root / "events.jsonl"
    config = root / "openlineage.yml"
    config.write_text(f"transport:\n  type: file\n  log_file_path: {log}\n  append: true\n")
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "OPENLINEAGE_CONFIG": str(config),
        DUCKDB_ENV: str(jaffle_run.warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    env.pop("OPENLINEAGE_URL", None)
    project = jaffle_run.project_dir
    completed = subprocess.run(
        [str(bin_dir / "dbt-ol"), "run", "--project-dir", str(project), "--profiles-dir", str(project)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def _identities(events: list[dict[str, Any]]) -> dict[str, set[tuple[str, str]]]:
    found: dict[str, set[tuple[str, str]]] = {}
    for event in events:
        for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
            found.setdefault(table_name(dataset["name"]), set()).add((dataset["namespace"], dataset["name"]))
    return found


def test_floe_and_dbt_ol_name_every_table_alike(jaffle_run: DbtRun, dbt_ol_events: list[dict[str, Any]]) -> None:
    theirs = _identities(dbt_ol_events)
    ours = _identities(jaffle_run.events)
    # dbt-ol emits runs for models only (not seeds) and lists only models and sources as inputs
    assert set(theirs) == set(MODELS)
    for table, identities in theirs.items():
        assert len(identities) == 1, identities
        assert ours[table] == identities, table
    (namespace,) = {ns for ids in theirs.values() for ns, _ in ids}
    assert namespace == "duckdb://" + jaffle_run.warehouse.as_posix()
