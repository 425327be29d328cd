"""Where dbt writes a node's SQL: read from the manifest's paths, hashed test file names included."""

from __future__ import annotations

from pathlib import Path

from floe_dbt_observe.lineage_facets import dbt_write_path

TARGET = Path("/p/target")


def test_a_model_is_written_at_its_own_file_path() -> None:
    node = {"package_name": "p", "original_file_path": "models/staging/stg.sql", "path": "staging/stg.sql"}
    assert dbt_write_path(node, TARGET, "compiled") == TARGET / "compiled/p/models/staging/stg.sql"


def test_a_generic_test_with_a_hashed_name_is_written_under_its_yml_by_its_own_path() -> None:
    node = {
        "package_name": "p",
        "name": "accepted_values_customer_orders_order_count__0__1__10__100__1000__10000",
        "original_file_path": "models/marts/_marts.yml",
        "path": "accepted_values_customer_orde_3c0e2a.sql",
    }
    expected = TARGET / "compiled/p/models/marts/_marts.yml/accepted_values_customer_orde_3c0e2a.sql"
    assert dbt_write_path(node, TARGET, "compiled") == expected


def test_a_yml_snapshot_is_written_where_dbt_writes_it() -> None:
    # as dbt 1.11 wrote it for the fixture's snapshots/orders_snapshot.yml
    node = {
        "package_name": "p",
        "original_file_path": "snapshots/orders_snapshot.yml",
        "path": "orders_snapshot.yml/orders_snapshot.sql",
    }
    expected = TARGET / "run/p/snapshots/orders_snapshot.yml/orders_snapshot.yml/orders_snapshot.sql"
    assert dbt_write_path(node, TARGET, "run") == expected


def test_unknown_without_a_target_path_or_paths() -> None:
    assert dbt_write_path({"package_name": "p", "original_file_path": "a.sql"}, None, "compiled") is None
    assert dbt_write_path({"package_name": "p"}, TARGET, "compiled") is None
