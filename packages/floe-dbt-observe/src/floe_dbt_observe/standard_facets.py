"""OpenLineage's standard facets for who owns a job, how it is tagged and which time a run covers.

``ownership`` (job), ``tags`` (job and run) and ``nominalTime`` (run), built the same way for dbt node runs here
and for floe-definitions' step and Dagster runs, so an owner, a tag or a partition's time window reads the same
on every run of a pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from openlineage.client.facet_v2 import nominal_time_run, ownership_job, tags_job, tags_run

from floe_dbt_observe.facets import FLOE_PRODUCER

DAGSTER_TAG_SOURCE = "DAGSTER"
"""``source`` of a tag that comes from Dagster (asset, job or run tags, floe.yaml ``tags``)."""

DBT_TAG_SOURCE = "DBT"
"""``source`` of a tag that comes from dbt (a node's ``tags``)."""


def owner_urn(owner: str) -> str:
    """Return an owner as the URN the ``ownership`` facet recommends (``team:data``, ``user:jdoe@x.com``).

    Dagster's owners are already ``team:<name>`` or an e-mail address; an e-mail address becomes ``user:<address>``.
    Anything else (a free-form dbt ``meta.owner``) is kept as written.
    """
    text = owner.strip()
    if ":" not in text and "@" in text:
        return f"user:{text}"
    return text


def dbt_node_owners(node: Mapping[str, Any]) -> list[str]:
    """Return a dbt node's ``meta.owner`` (in ``config.meta`` or ``meta``; a string or a list of strings)."""
    owners: list[str] = []
    for meta in ((node.get("config") or {}).get("meta") or {}, node.get("meta") or {}):
        value = meta.get("owner") if isinstance(meta, Mapping) else None
        values = value if isinstance(value, list) else [value]
        owners.extend(str(owner) for owner in values if isinstance(owner, str) and owner.strip())
    return owners


def ownership_facet(owners: Iterable[str], producer: str = FLOE_PRODUCER) -> ownership_job.OwnershipJobFacet | None:
    """Return the ``ownership`` job facet of ``owners`` (duplicates dropped, order kept), or None without owners."""
    names = list(dict.fromkeys(owner_urn(owner) for owner in owners if owner and owner.strip()))
    if not names:
        return None
    return ownership_job.OwnershipJobFacet(owners=[ownership_job.Owner(name=name) for name in names], producer=producer)


def job_tags_facet(tags: Iterable[tuple[str, str, str]], producer: str = FLOE_PRODUCER) -> tags_job.TagsJobFacet | None:
    """Return the ``tags`` job facet of ``(key, value, source)`` triples (first of a key wins), or None if empty."""
    fields = [tags_job.TagsJobFacetFields(key=key, value=value, source=source) for key, value, source in _unique(tags)]
    return tags_job.TagsJobFacet(tags=fields, producer=producer) if fields else None


def run_tags_facet(tags: Iterable[tuple[str, str, str]], producer: str = FLOE_PRODUCER) -> tags_run.TagsRunFacet | None:
    """Return the ``tags`` run facet of ``(key, value, source)`` triples (first of a key wins), or None if empty."""
    fields = [tags_run.TagsRunFacetFields(key=key, value=value, source=source) for key, value, source in _unique(tags)]
    return tags_run.TagsRunFacet(tags=fields, producer=producer) if fields else None


def dagster_tags(tags: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """Return Dagster tags as ``(key, value, DAGSTER)``, without the ``dagster/kind/*`` tags that encode kinds."""
    return [
        (str(key), str(value), DAGSTER_TAG_SOURCE)
        for key, value in tags.items()
        if not str(key).startswith(("dagster/kind/", "."))
    ]


def dbt_tags(tags: Iterable[str]) -> list[tuple[str, str, str]]:
    """Return a dbt node's tags (plain names) as ``(name, "true", DBT)``."""
    return [(str(tag), "true", DBT_TAG_SOURCE) for tag in tags if str(tag)]


def nominal_time_facet(
    start: datetime | str, end: datetime | str | None, producer: str = FLOE_PRODUCER
) -> nominal_time_run.NominalTimeRunFacet:
    """Return the ``nominalTime`` run facet of a time window (start included, end excluded), in ISO 8601."""
    return nominal_time_run.NominalTimeRunFacet(
        nominalStartTime=start.isoformat() if isinstance(start, datetime) else start,
        nominalEndTime=end.isoformat() if isinstance(end, datetime) else end,
        producer=producer,
    )


def _unique(tags: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    seen: dict[str, tuple[str, str, str]] = {}
    for key, value, source in tags:
        seen.setdefault(key, (key, value, source))
    return list(seen.values())
