"""floe's custom facets follow the spec's rules, and the conformance check rejects what breaks them."""

from __future__ import annotations

import copy
import json
from typing import Any

import attr
import pytest
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.serde import Serde

from floe_dbt_observe.facets import (
    FLOE_PRODUCER,
    DbtNodeJobFacet,
    DbtNodeRunFacet,
    DbtRunRunFacet,
    DbtVersionRunFacet,
    OtelTraceRunFacet,
    facet_schemas,
)
from floe_test_support.openlineage_conformance import validate_event

FACETS: dict[str, Any] = {
    "floe_trace": OtelTraceRunFacet(traceId="a" * 32, spanId="b" * 16, producer=FLOE_PRODUCER),
    "floe_dbt_node": DbtNodeRunFacet(
        uniqueId="model.p.m", resourceType="model", status="success", rowsAffected=3, producer=FLOE_PRODUCER
    ),
}
DBT_OL_RUN_FACETS: dict[str, Any] = {
    "dbt_version": DbtVersionRunFacet(version="1.11.0", producer=FLOE_PRODUCER),
    "dbt_run": DbtRunRunFacet(
        invocation_id="0c8bd0a2-5b4e-4bb0-8a39-7c4f8e1e2b5d",
        project_name="shop",
        dbt_runtime="core",
        project_version="1.0.0",
        profile_name="shop",
        producer=FLOE_PRODUCER,
    ),
}
DBT_NODE = DbtNodeJobFacet(
    original_file_path="models/orders.sql",
    database="dev",
    schema="main",
    alias="orders",
    unique_id="model.shop.orders",
    producer=FLOE_PRODUCER,
)


def _event(facets: dict[str, Any], job_facets: dict[str, Any] | None = None) -> dict[str, Any]:
    event = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime="2026-01-01T00:00:00+00:00",
        run=Run(runId="01890a5d-ac96-774b-bcce-b302099a8057", facets=facets),
        job=Job(namespace="dbt", name="p.m", facets=job_facets or {}),
        producer=FLOE_PRODUCER,
    )
    loaded: dict[str, Any] = json.loads(Serde.to_json(event))
    return loaded


def test_every_facet_floe_defines_is_prefixed() -> None:
    names = {name for schema in facet_schemas().values() for name in schema["properties"]}
    assert names == {"floe_trace", "floe_dbt_node"}


@pytest.mark.parametrize("name", sorted(FACETS))
def test_schema_url_is_a_versioned_https_url_of_a_shipped_schema(name: str) -> None:
    url = FACETS[name]._get_schema()
    base, fragment = url.split("#")
    assert base.startswith("https://floe.dev/spec/facets/1-0-0/")
    schema = facet_schemas()[base]
    assert schema["properties"][name]["$ref"] == "#" + fragment


@pytest.mark.parametrize("name", sorted(FACETS))
def test_each_custom_facet_validates_against_its_shipped_schema(name: str) -> None:
    assert validate_event(_event({name: FACETS[name]})) == 1


def test_a_custom_facet_breaking_its_schema_is_rejected() -> None:
    event = _event({"floe_trace": FACETS["floe_trace"]})
    event["run"]["facets"]["floe_trace"]["traceId"] = "not-hex"
    with pytest.raises(AssertionError, match="floe_trace"):
        validate_event(event)


def test_a_facet_without_any_schema_is_rejected() -> None:
    event = _event({"floe_trace": FACETS["floe_trace"]})
    event["run"]["facets"]["dbt_node"] = copy.deepcopy(event["run"]["facets"]["floe_trace"])
    with pytest.raises(AssertionError, match="no official or floe-shipped schema"):
        validate_event(event)


def test_an_event_breaking_the_official_schema_is_rejected() -> None:
    event = _event({})
    event["run"]["runId"] = "not-a-uuid"
    with pytest.raises(AssertionError, match="not a valid OpenLineage event"):
        validate_event(event)


@pytest.mark.parametrize("name", sorted(DBT_OL_RUN_FACETS))
def test_dbt_ols_run_facets_validate_against_dbt_ols_schemas(name: str) -> None:
    assert validate_event(_event({name: DBT_OL_RUN_FACETS[name]})) == 1


def test_dbt_ols_job_facet_validates_against_dbt_ols_schema() -> None:
    assert validate_event(_event({}, {"dbt_node": DBT_NODE})) == 1


def test_dbt_ols_facets_carry_dbt_ols_own_schema_urls_and_fields() -> None:
    dbt_facets = pytest.importorskip("openlineage.common.provider.dbt.facets", reason="openlineage-dbt not installed")
    theirs = {
        "dbt_version": dbt_facets.DbtVersionRunFacet,
        "dbt_run": dbt_facets.DbtRunRunFacet,
        "dbt_node": dbt_facets.DbtNodeJobFacet,
    }
    ours = {**DBT_OL_RUN_FACETS, "dbt_node": DBT_NODE}
    for name, their_class in theirs.items():
        assert ours[name]._get_schema() == their_class._get_schema(), name
        # every field floe fills is one of dbt-ol's (dbt-ol has more, e.g. dbt_run's account_id for dbt Cloud)
        assert set(attr.fields_dict(type(ours[name]))) <= set(attr.fields_dict(their_class)), name
