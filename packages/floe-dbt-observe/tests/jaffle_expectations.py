"""What the jaffle-shaped fixture project (``tests/jaffle_project``) must give on every warehouse: hand-checked lineage.

Shared by the DuckDB and the PostgreSQL warehouse-truth tests, so both build the project the same way and assert the
same mappings.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
from dbt_harness import DbtRun, captured_warnings, run_dbt

JAFFLE_PROJECT = Path(__file__).parent / "jaffle_project"
MODELS = ("stg_customers", "stg_orders", "stg_payments", "customers", "orders")

# Checked by hand against the SQL in tests/jaffle_project/models: output column -> {(parent, column, type, subtype)}
EXPECTED_LINEAGE: dict[str, dict[str, set[tuple[str, str, str, str]]]] = {
    "stg_customers": {
        "customer_id": {("raw_customers", "id", "DIRECT", "IDENTITY")},
        "first_name": {("raw_customers", "first_name", "DIRECT", "IDENTITY")},
        "last_name": {("raw_customers", "last_name", "DIRECT", "IDENTITY")},
    },
    "stg_orders": {
        "order_id": {("raw_orders", "id", "DIRECT", "IDENTITY")},
        "customer_id": {("raw_orders", "user_id", "DIRECT", "IDENTITY")},
        "order_date": {("raw_orders", "order_date", "DIRECT", "IDENTITY")},
        "status": {("raw_orders", "status", "DIRECT", "IDENTITY")},
    },
    "stg_payments": {
        "payment_id": {("raw_payments", "id", "DIRECT", "IDENTITY")},
        "order_id": {("raw_payments", "order_id", "DIRECT", "IDENTITY")},
        "payment_method": {("raw_payments", "payment_method", "DIRECT", "IDENTITY")},
        "amount": {("raw_payments", "amount", "DIRECT", "TRANSFORMATION")},  # cents / 100
    },
    "customers": {
        "customer_id": {("stg_customers", "customer_id", "DIRECT", "IDENTITY")},
        "first_name": {("stg_customers", "first_name", "DIRECT", "IDENTITY")},
        "last_name": {("stg_customers", "last_name", "DIRECT", "IDENTITY")},
        "first_order": {("stg_orders", "order_date", "DIRECT", "AGGREGATION")},  # min()
        "most_recent_order": {("stg_orders", "order_date", "DIRECT", "AGGREGATION")},  # max()
        "number_of_orders": {("stg_orders", "order_id", "DIRECT", "AGGREGATION")},  # count()
        "customer_lifetime_value": {("stg_payments", "amount", "DIRECT", "AGGREGATION")},  # sum()
    },
    "orders": {
        "order_id": {("stg_orders", "order_id", "DIRECT", "IDENTITY")},
        "customer_id": {("stg_orders", "customer_id", "DIRECT", "IDENTITY")},
        "order_date": {("stg_orders", "order_date", "DIRECT", "IDENTITY")},
        "status": {("stg_orders", "status", "DIRECT", "IDENTITY")},
        **{
            f"{method}_amount": {
                ("stg_payments", "amount", "DIRECT", "AGGREGATION"),  # sum(case when ... then amount ...)
                ("stg_payments", "payment_method", "INDIRECT", "CONDITIONAL"),  # only in the case condition
            }
            for method in ("credit_card", "coupon", "bank_transfer", "gift_card")
        },
        "amount": {("stg_payments", "amount", "DIRECT", "AGGREGATION")},
    },
}
# joins and group by of customers.sql / orders.sql (each INDIRECT), checked by hand
EXPECTED_DATASET_LINEAGE = {
    "customers": {
        ("stg_customers", "customer_id", "INDIRECT", "JOIN"),
        ("stg_orders", "customer_id", "INDIRECT", "JOIN"),
        ("stg_orders", "order_id", "INDIRECT", "JOIN"),
        ("stg_payments", "order_id", "INDIRECT", "JOIN"),
        ("stg_orders", "customer_id", "INDIRECT", "GROUP_BY"),
    },
    "orders": {
        ("stg_orders", "order_id", "INDIRECT", "JOIN"),
        ("stg_payments", "order_id", "INDIRECT", "JOIN"),
        ("stg_payments", "order_id", "INDIRECT", "GROUP_BY"),
    },
}

# OpenLineage events per node type of one successful build: a START and a terminal event per node
CUSTOMERS_COLUMNS = [
    "customer_id",
    "first_name",
    "last_name",
    "first_order",
    "most_recent_order",
    "number_of_orders",
    "customer_lifetime_value",
]
"""``customers``' columns in table order; schema.yml also documents a stale ``customer_name``, which is not one."""
EXPECTED_EVENTS_PER_TYPE = {"SEED": 3 * 2, "MODEL": 5 * 2, "TEST": 20 * 2}


def events_per_node_type(events: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Count events by their job's ``jobType`` (``SEED``, ``MODEL``, ``SNAPSHOT``, ``TEST``, ``JOB``, ``ASSET``...)."""
    return dict(Counter(str(event["job"]["facets"]["jobType"]["jobType"]) for event in events))


def complete_event(run: Any, name: str) -> dict[str, Any]:
    """Return the one COMPLETE event of the node ``name`` in a ``dbt_harness.DbtRun``."""
    (event,) = [e for e in run.events_for(name) if e["eventType"] == "COMPLETE"]
    return event  # type: ignore[no-any-return]


def schema_fields(run: Any, name: str) -> list[dict[str, Any]]:
    """Return the ``schema`` facet's fields of the node ``name``'s output in its COMPLETE event."""
    fields: list[dict[str, Any]] = complete_event(run, name)["outputs"][0]["facets"]["schema"]["fields"]
    return fields


def table_name(dataset_name: str) -> str:
    """Return the table of an OpenLineage dataset name (``db.schema.table``)."""
    return dataset_name.rsplit(".", 1)[-1]


def build_jaffle(root: Path, warehouse: Path, monkeypatch: pytest.MonkeyPatch, profiles: str | None = None) -> DbtRun:
    """Copy the project to ``root/jaffle_project`` and build it once with floe (3 seeds, 5 models, 20 tests).

    Args:
        root: Where the copy goes.
        warehouse: The DuckDB file of the project's own profile (unused where ``profiles`` names another warehouse).
        monkeypatch: Sets the DuckDB path for the build.
        profiles: A ``profiles.yml`` to write over the project's.

    Returns:
        The run, with the WARNING messages floe-dbt-observe logged during it as ``run.warnings``.
    """
    project = root / "jaffle_project"
    shutil.copytree(JAFFLE_PROJECT, project, ignore=shutil.ignore_patterns("target", "logs", "*.duckdb"))
    if profiles is not None:
        (project / "profiles.yml").write_text(profiles)
    with captured_warnings() as warnings:
        run = run_dbt(project, warehouse, monkeypatch, translator=None)
    run.warnings = warnings  # type: ignore[attr-defined]
    return run


def column_lineage(run: Any, model: str) -> dict[str, set[tuple[str, str, str, str]]]:
    """Return a model's column lineage as ``column -> {(table, field, type, subtype)}``, as ``EXPECTED_LINEAGE``."""
    facet = complete_event(run, model)["outputs"][0]["facets"]["columnLineage"]
    return {
        column: {
            (table_name(i["name"]), i["field"], i["transformations"][0]["type"], i["transformations"][0]["subtype"])
            for i in spec["inputFields"]
        }
        for column, spec in facet["fields"].items()
    }


def dataset_lineage(run: Any, model: str) -> set[tuple[str, str, str, str]]:
    """Return a model's dataset-level lineage as ``{(table, field, type, subtype)}``."""
    facet = complete_event(run, model)["outputs"][0]["facets"]["columnLineage"]
    return {
        (table_name(i["name"]), i["field"], i["transformations"][0]["type"], i["transformations"][0]["subtype"])
        for i in facet["dataset"]
    }
