"""The standard ownership, tags and nominalTime facets floe builds, against the official schemas."""

from __future__ import annotations

import datetime as dt

from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
from openlineage.client.serde import Serde

from floe_dbt_observe.standard_facets import (
    dagster_tags,
    dbt_tags,
    job_tags_facet,
    nominal_time_facet,
    owner_urn,
    ownership_facet,
    run_tags_facet,
)
from floe_test_support.openlineage_conformance import validate_event


def test_owners_become_urns_and_free_form_names_stay_as_written() -> None:
    assert owner_urn("team:analytics") == "team:analytics"
    assert owner_urn("ana@example.com") == "user:ana@example.com"
    assert owner_urn("data platform") == "data platform"


def test_ownership_drops_duplicates_and_is_absent_without_owners() -> None:
    facet = ownership_facet(["team:a", "b@x.io", "user:b@x.io", " "])
    assert facet is not None
    assert [owner.name for owner in facet.owners or []] == ["team:a", "user:b@x.io"]
    assert ownership_facet([]) is None


def test_dagster_kind_tags_are_left_out_and_the_first_tag_of_a_key_wins() -> None:
    triples = [*dbt_tags(["finance"]), *dagster_tags({"finance": "", "dagster/kind/dbt": "", "layer": "gold"})]
    facet = job_tags_facet(triples)
    assert facet is not None
    assert [(t.key, t.value, t.source) for t in facet.tags or []] == [
        ("finance", "true", "DBT"),
        ("layer", "gold", "DAGSTER"),
    ]
    assert job_tags_facet([]) is None


def test_facets_validate_against_the_official_schemas() -> None:
    start = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    ownership = ownership_facet(["team:a"])
    job_tags = job_tags_facet(dbt_tags(["pii"]))
    run_tags = run_tags_facet(dagster_tags({"dagster/partition": "2024-01-02"}))
    event = RunEvent(
        eventType=RunState.COMPLETE,
        eventTime=start.isoformat(),
        run=Run(
            runId="01900000-0000-7000-8000-000000000000",
            facets={"nominalTime": nominal_time_facet(start, start + dt.timedelta(days=1)), "tags": run_tags},
        ),
        job=Job(namespace="floe", name="shop.orders", facets={"ownership": ownership, "tags": job_tags}),
        producer="urn:floe:test",
    )
    assert validate_event(Serde.to_dict(event)) == 4
