"""floe's custom facets follow the spec's rules, and the conformance check rejects what breaks them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.serde import Serde
from openlineage_conformance import validate_event

from floe_dbt_observe.facets import FLOE_PRODUCER, DbtNodeRunFacet, DbtVersionRunFacet, OtelTraceRunFacet, facet_schemas

FACETS: dict[str, Any] = {
    "floe_trace": OtelTraceRunFacet(traceId="a" * 32, spanId="b" * 16, producer=FLOE_PRODUCER),
    "floe_dbt_node": DbtNodeRunFacet(
        uniqueId="model.p.m", resourceType="model", status="success", rowsAffected=3, producer=FLOE_PRODUCER
    ),
    "dbt_version": DbtVersionRunFacet(version="1.11.0", producer=FLOE_PRODUCER),
}


def _event(facets: dict[str, Any]) -> dict[str, Any]:
    event = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime="2026-01-01T00:00:00+00:00",
        run=Run(runId="01890a5d-ac96-774b-bcce-b302099a8057", facets=facets),
        job=Job(namespace="dbt", name="p.m"),
        producer=FLOE_PRODUCER,
    )
    loaded: dict[str, Any] = json.loads(Serde.to_json(event))
    return loaded


def test_every_facet_floe_defines_is_prefixed_or_is_dbt_ols_same_shape() -> None:
    names = {name for schema in facet_schemas().values() for name in schema["properties"]}
    assert names == {"floe_trace", "floe_dbt_node", "dbt_version"}


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
