"""Validate emitted OpenLineage events against the official spec files and floe's shipped facet schemas.

The official ``OpenLineage.json`` and facet schemas are vendored under ``data/openlineage-spec/`` (see its
SOURCE.txt), and so are dbt-ol's schemas of the dbt facets floe emits as dbt-ol does (``dbt_version``, ``dbt_run``,
``dbt_node``) under ``data/openlineage-dbt-facets/``; floe's own facet schemas are read from the installed package
(``floe_dbt_observe/facet_schemas``). ``$ref``s between them resolve offline through one ``referencing`` registry
keyed by each file's ``$id``.

Every event is validated as a whole, then every facet by the schema of its kind (run, job, dataset, input
dataset, output dataset) and name. A facet with neither an official nor a shipped schema fails validation, so
a new facet cannot slip through unchecked. Every suite that validates events (floe-dbt-observe's,
floe-definitions', the demo's) imports this module; it needs floe-dbt-observe installed (its shipped schemas).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from floe_dbt_observe.facets import DBT_OL_SCHEMA_BASE, facet_schemas

SPEC_DIR = Path(__file__).resolve().parent / "data" / "openlineage-spec"
DBT_OL_FACETS_DIR = Path(__file__).resolve().parent / "data" / "openlineage-dbt-facets"
OPENLINEAGE_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
OLD_OPENLINEAGE_ID = "https://openlineage.io/spec/1-0-2/OpenLineage.json"
"""dbt-ol's ``dbt_version`` schema extends this spec version's ``BaseFacet``; resolved with the vendored spec's."""
_BASES = ("RunFacet", "JobFacet", "DatasetFacet", "InputDatasetFacet", "OutputDatasetFacet")


@dataclass
class Conformance:
    """Validators for whole events and for facets by (kind, name)."""

    event: jsonschema.Draft202012Validator
    facets: dict[tuple[str, str], jsonschema.Draft202012Validator] = field(default_factory=dict)
    shipped: dict[tuple[str, str], str] = field(default_factory=dict)
    """(kind, name) -> the ``_schemaURL`` (before ``#``) floe gives that facet: its shipped schema's ``$id``, or
    dbt-ol's URL for dbt-ol's facets."""


def _kind(schema: Mapping[str, Any], name: str) -> str:
    """Return which OpenLineage base facet (``RunFacet``...) facet ``name`` of a facet file extends."""
    if str(schema["$id"]).endswith("-run-facet.json"):  # dbt-ol's dbt_version extends BaseFacet: a run facet by name
        return "RunFacet"
    ref = schema["properties"][name]["$ref"]
    definition = schema["$defs"][ref.rsplit("/", 1)[-1]]
    for part in definition.get("allOf", []):
        base = str(part.get("$ref", "")).rsplit("/", 1)[-1]
        if base in _BASES:
            return base
    raise ValueError(f"{schema['$id']}: facet {name!r} extends none of {_BASES}")


@cache
def conformance() -> Conformance:
    """Build the validators once per test session."""
    official = [json.loads(path.read_text()) for path in sorted((SPEC_DIR / "facets").glob("*.json"))]
    dbt_ol = {json.loads(path.read_text())["$id"]: path.name for path in sorted(DBT_OL_FACETS_DIR.glob("*.json"))}
    official += [json.loads(path.read_text()) for path in sorted(DBT_OL_FACETS_DIR.glob("*.json"))]
    shipped = facet_schemas()
    core = json.loads((SPEC_DIR / "OpenLineage.json").read_text())
    documents = [core, *official, *shipped.values()]
    # dbt-run-run-facet.json's "$schema" is the unversioned draft URI: every document is read as draft 2020-12
    registry: Registry = Registry().with_resources(
        (document["$id"], DRAFT202012.create_resource(document)) for document in documents
    )
    registry = registry.with_resource(OLD_OPENLINEAGE_ID, DRAFT202012.create_resource(core))
    checker = jsonschema.FormatChecker()
    found = Conformance(event=jsonschema.Draft202012Validator(core, registry=registry, format_checker=checker))
    for document in [*official, *shipped.values()]:
        for name in document["properties"]:
            key = (_kind(document, name), name)
            assert key not in found.facets, f"two schemas for facet {key}"
            found.facets[key] = jsonschema.Draft202012Validator(document, registry=registry, format_checker=checker)
            if document["$id"] in shipped:
                found.shipped[key] = document["$id"]
            elif document["$id"] in dbt_ol:  # floe emits dbt-ol's facets with dbt-ol's URL, not the file's $id
                found.shipped[key] = DBT_OL_SCHEMA_BASE + dbt_ol[document["$id"]]
    return found


def _facet_maps(event: Mapping[str, Any]) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
    """Yield ``(kind, JSON path, facets)`` for every facet container of an event."""
    yield "RunFacet", "run.facets", event.get("run", {}).get("facets") or {}
    yield "JobFacet", "job.facets", event.get("job", {}).get("facets") or {}
    for side, extra in (("inputs", "InputDatasetFacet"), ("outputs", "OutputDatasetFacet")):
        for index, dataset in enumerate(event.get(side) or []):
            yield "DatasetFacet", f"{side}[{index}].facets", dataset.get("facets") or {}
            facet_key = "inputFacets" if side == "inputs" else "outputFacets"
            yield extra, f"{side}[{index}].{facet_key}", dataset.get(facet_key) or {}


def validate_event(event: Mapping[str, Any]) -> int:
    """Validate one event and each of its facets; return how many facets were checked.

    Raises:
        AssertionError: The event or a facet breaks its schema, a facet has no schema, or a floe facet's
            ``_schemaURL`` is not its shipped schema (dbt-ol's URL for dbt-ol's facets).
    """
    checks = conformance()
    where = f"{event.get('eventType')} {event.get('job', {}).get('name')} run {event.get('run', {}).get('runId')}"
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in checks.event.iter_errors(event)]
    assert not errors, f"{where}: not a valid OpenLineage event: {errors}"
    count = 0
    for kind, path, facets in _facet_maps(event):
        for name, facet in facets.items():
            validator = checks.facets.get((kind, name))
            assert validator is not None, f"{where}: {path}.{name}: no official or floe-shipped schema for this facet"
            problems = [e.message for e in validator.iter_errors({name: facet})]
            assert not problems, f"{where}: {path}.{name}: {problems}"
            shipped = checks.shipped.get((kind, name))
            if shipped is not None:
                assert str(facet["_schemaURL"]).split("#", 1)[0] == shipped, f"{where}: {path}.{name}: _schemaURL"
            count += 1
    return count


def validate_events(events: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
    """Validate every event; return ``(events, facets)`` checked. An empty input fails: nothing was proven."""
    events = list(events)
    assert events, "no OpenLineage events to validate"
    return len(events), sum(validate_event(event) for event in events)


def unended_parent_runs(events: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Return the parent or root run ids that events refer to but that no event of ``events`` starts and ends.

    Returns:
        ``{run id: what is missing}``; empty when every referenced run has a START and a terminal event.
    """
    states: dict[str, set[str]] = {}
    referenced: set[str] = set()
    for event in events:
        states.setdefault(str(event["run"]["runId"]), set()).add(str(event["eventType"]))
        parent = (event["run"].get("facets") or {}).get("parent")
        if parent:
            referenced.add(str(parent["run"]["runId"]))
            if parent.get("root"):
                referenced.add(str(parent["root"]["run"]["runId"]))
    missing: dict[str, str] = {}
    for run_id in sorted(referenced):
        seen = states.get(run_id, set())
        if not seen:
            missing[run_id] = "never emitted"
        elif "START" not in seen:
            missing[run_id] = "no START"
        elif not seen & {"COMPLETE", "FAIL", "ABORT"}:
            missing[run_id] = "no terminal event"
    return missing
