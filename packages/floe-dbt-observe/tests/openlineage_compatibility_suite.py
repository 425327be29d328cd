"""OpenLineage's dbt compatibility suite (compatibility-tests, ``producer/dbt``, scenario ``csv_to_postgres``).

The suite is vendored under ``data/openlineage-compatibility-tests/`` (see its SOURCE.txt). This module reads its
tests and expected events and checks emitted events the way its ``scripts/validate_ol_events.py`` does:

- :func:`find_and_compare` ports ``OLSemanticValidator.validate_event`` and ``fields_match``: an expected event is
  looked up by ``eventType``, job name and job namespace, and passes when one event found that way matches it;
- :func:`diff` ports ``compare_events.diff`` and renders templated values (``{{ is_uuid(result) }}``,
  ``{{ match(result, '...') }}``, ``{{ any(result) }}``) with the suite's own jinja environment, imported from the
  vendored ``compare_events.py``;
- :func:`rejected_by_url_rule` ports ``OLSyntaxValidator``'s choice of which facets it can check at all.

Two differences from the suite, both in :func:`diff`:

1. The allowance (issue 23): the suite compares lists by length. Where an expected list is *shorter* than floe's,
   and only for a schema facet's ``fields`` and a column-lineage input field's ``transformations``, every expected
   item must be equal to one of floe's items instead. dbt-ol's schema facet holds only the columns schema.yml
   declares, floe's every column of the warehouse table (typed, with schema.yml's descriptions); dbt-ol's
   transformations are empty, floe's say how each column was computed (``DIRECT``/``IDENTITY``, ...). Any other
   length difference fails, as in the suite.
2. Stricter: the suite skips an expected key that the emitted event does not have (so an event without, say, the
   ``dbt_node`` facet passes its ``dbt_node`` test); here a missing key is an error.
"""

from __future__ import annotations

import importlib.util
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from floe_test_support.openlineage_conformance import SPEC_DIR

SUITE_DIR = Path(__file__).resolve().parent / "data" / "openlineage-compatibility-tests"
RUNNER_DIR = SUITE_DIR / "producer" / "dbt" / "runner"
SCENARIO_DIR = SUITE_DIR / "producer" / "dbt" / "scenarios" / "csv_to_postgres"
SPEC_FACETS_DIR = SPEC_DIR / "facets"
"""The official spec's facet schemas floe-test-support vendors for the conformance checks."""

SUITE_DATASET_NAMESPACE = "postgres://localhost:5432"
"""The warehouse namespace the expected events hold: the suite's CI runs PostgreSQL on localhost:5432."""

ALLOWANCE_PATHS = (re.compile(r"\.facets\.schema\.fields$"), re.compile(r"\.transformations$"))
"""Where an expected list shorter than floe's is checked item by item instead of by length (see the module doc)."""

COMMON_FACET_SCHEMAS = ("dbt-node-job-facet.json",)
"""openlineage-integration-common's facet schemas the suite validates with (``OLSyntaxValidator.is_facet``)."""


@cache
def compare_events() -> ModuleType:
    """Import the suite's vendored ``compare_events.py`` (its jinja environment holds the templated matchers)."""
    spec = importlib.util.spec_from_file_location(
        "openlineage_compatibility_compare_events", SUITE_DIR / "scripts" / "compare_events.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def suite_tests() -> list[dict[str, Any]]:
    """Return the scenario's tests from its ``config.json`` (name, path of the expected event, tags)."""
    tests: list[dict[str, Any]] = json.loads((SCENARIO_DIR / "config.json").read_text())["tests"]
    return tests


def expected_event(test: Mapping[str, Any], dataset_namespace: str) -> dict[str, Any]:
    """Return a test's expected event, with the suite's warehouse namespace replaced by the one the run used.

    The suite's PostgreSQL listens on localhost:5432; the one the tests get listens on a free port.
    """
    text = (SCENARIO_DIR / str(test["path"])).read_text()
    loaded: dict[str, Any] = json.loads(text.replace(SUITE_DATASET_NAMESPACE, dataset_namespace))
    return loaded


def fields_match(result: Any, expected: Any) -> bool:
    """Port of ``OLSemanticValidator.fields_match``: equal, or ``{{ match(result, 'regex') }}`` matches in full."""
    if expected == result:
        return True
    found = re.match(r"^\{\{\s*match\(result,\s*(['\"])(.*?)\1\s*\)\s*\}\}$", str(expected))
    if found:
        return re.fullmatch(found.group(2), str(result)) is not None
    return False


def find_and_compare(expected: Mapping[str, Any], events: Iterable[Mapping[str, Any]]) -> list[str]:
    """Port of ``OLSemanticValidator.validate_event``: the errors of the expected event against the emitted ones.

    Every event with the expected ``eventType``, ``job.name`` and ``job.namespace`` is compared until one matches;
    the errors are the last comparison's, or "not found" when no event has that identity.
    """
    job = expected["job"]
    found = [
        f"event with .eventType: {expected['eventType']}, .job.name: {job['name']} and .job.namespace: "
        f"{job['namespace']} not found in result events"
    ]
    for event in events:
        if (
            fields_match(event["eventType"], expected["eventType"])
            and fields_match(event["job"]["name"], job["name"])
            and fields_match(event["job"]["namespace"], job["namespace"])
            and found
        ):
            found = diff(expected, event)
    return found


def diff(expected: Any, result: Any, prefix: str = "", function: str | None = None) -> list[str]:
    """Port of ``compare_events.diff`` with the allowance and the missing-key check of the module docstring."""
    env = compare_events().env
    errors: list[str] = []
    if isinstance(expected, dict):
        for k, v in expected.items():
            function_name, key = (None, k) if "{{" not in k else env.from_string(k).render(result="").split(",")
            if isinstance(result, Mapping) and key in result:
                if function_name is None:
                    errors.extend(diff(v, result.get(key), f"{prefix}.{key}"))
                elif function_name == "key_not_defined":
                    errors.append(f"Key {prefix}.{key} expected not to be defined but found")
                else:
                    errors.extend(diff(v, result.get(key), f"{prefix}.{key}", function_name))
            elif function_name == "key_not_defined":
                errors.append(f"Key {prefix}.{key} missing")
            elif function_name is None:  # stricter than the suite, which skips a missing key
                errors.append(f"Key {prefix}.{key} expected but not in the result")
    elif isinstance(expected, list):
        if not isinstance(result, list):
            errors.append(f"In {prefix}: expected a list, result {result!r}")
        elif len(expected) < len(result) and any(path.search(prefix) for path in ALLOWANCE_PATHS):
            for i, item in enumerate(expected):
                if not any(not diff(item, candidate, f"{prefix}.[{i}]") for candidate in result):
                    errors.append(f"In {prefix}.[{i}]: no item of the result's {len(result)} equals {item!r}")
        elif len(expected) != len(result):
            errors.append(f"In {prefix}: Length does not match: expected {len(expected)} result: {len(result)}")
        elif function == "unordered_list":
            # the suite's own branch tests `diff(...) is []`, never true: an unordered list always fails there
            for i, item in enumerate(expected):
                if not any(not diff(item, candidate, f"{prefix}.[{i}]") for candidate in result):
                    errors.append(f"In {prefix}.[{i}], no matching elements")
        else:
            for i, item in enumerate(expected):
                errors.extend(diff(item, result[i], f"{prefix}.[{i}]"))
    elif isinstance(expected, str):
        if "{{" in expected:
            rendered = env.from_string(expected).render(result=result)
            if len(rendered) > 0:
                errors.append(f"In {prefix}: {rendered}")
        elif expected != result:
            errors.append(f"In {prefix}: Expected value {expected} does not equal result {result}")
    elif expected != result:
        errors.append(f"In {prefix}: Object of type {type(expected)}: {expected} does not match {result}")
    return errors


def suite_results(events: Sequence[Mapping[str, Any]], dataset_namespace: str) -> dict[str, list[str]]:
    """Return every suite test's errors (empty: passed) against ``events``, in config.json's order."""
    return {
        str(test["name"]): find_and_compare(expected_event(test, dataset_namespace), events) for test in suite_tests()
    }


@cache
def suite_facet_schemas() -> frozenset[str]:
    """Return the facet names the suite's syntax check has a schema for: the spec's facets and ``dbt_node``.

    The spec's facets are those floe-test-support vendors (``openlineage-spec/facets``: every standard facet floe
    emits).
    """
    names = {
        name
        for path in SPEC_FACETS_DIR.glob("*Facet.json")
        for name in json.loads(path.read_text()).get("properties", {})
    }
    return frozenset({*names, "dbt_node"})


def is_custom_facet(facet: Mapping[str, Any]) -> bool:
    """Port of ``OLSyntaxValidator.is_custom_facet``: does the suite skip this facet as custom, by its URL?"""
    url = facet.get("_schemaURL")
    if url is None:
        return False
    is_custom = any(f"defs/{kind}Facet" in url for kind in ["Run", "Job", "Dataset", "InputDataset", "OutputDataset"])
    is_common = any(f"schema/{name}-facet.json" in url for name in ["dbt-version-run", "dbt-run-run"])
    return is_custom or is_common


def rejected_by_url_rule(events: Iterable[Mapping[str, Any]]) -> set[str]:
    """Return the facet names the suite's syntax check rejects as "not recognized" in ``events``.

    Port of ``OLSyntaxValidator.validate_entity``: a facet with a schema is validated by it; one without is
    accepted only when :func:`is_custom_facet` says its URL is a custom facet's.
    """
    rejected: set[str] = set()
    for event in events:
        containers = [event["run"].get("facets") or {}, event["job"].get("facets") or {}]
        for dataset in [*(event.get("inputs") or []), *(event.get("outputs") or [])]:
            containers += [dataset.get(key) or {} for key in ("facets", "inputFacets", "outputFacets")]
        for facets in containers:
            for name, facet in facets.items():
                if name not in suite_facet_schemas() and not is_custom_facet(facet):
                    rejected.add(name)
    return rejected
