"""platform.yaml ``dbt.spans: true``: dbt-core 1.12's own spans land in the run's trace file, under floe's spans.

Real runs of the fixture project through Dagster and floe's executor, with the default OTLP/JSON file sink: with dbt
in process, dbt's spans go through the pipeline's provider; with dbt as a subprocess, the ``floe-dbt`` launcher
exports them to the same file. Below dbt-core 1.12 the setting is refused where it is written.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from floe_dbt_observe.integration import dbt_has_spans
from floe_definitions import load_project
from floe_definitions.errors import DefinitionsLoadError

NODE_TYPES = ("model.", "seed.", "snapshot.", "test.")


def _platform(invocation: str) -> str:
    return (
        "environment: test\n"
        "execution:\n  executor: {type: in_process}\n"
        f"dbt:\n  invocation: {invocation}\n  spans: true\n"
    )


def _traced_copy(copy_project: Any, base: Path, invocation: str, package: str) -> Any:
    copy = copy_project(base, package=package)
    (copy.root / "platform.yaml").write_text(_platform(invocation))
    return copy


@pytest.fixture(scope="module", params=["in_process", "subprocess"])
def traced_spans(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, copy_project: Any, run_copy: Any
) -> list[dict[str, Any]]:
    if not dbt_has_spans():
        pytest.skip("dbt-core before 1.12 has no spans of its own")
    invocation = request.param
    base = tmp_path_factory.mktemp(invocation)
    outcome = run_copy(_traced_copy(copy_project, base, invocation, f"dbt_spans_{invocation}_assets"))
    assert outcome.success
    return outcome.copy.spans()


def test_dbt_invocation_span_is_a_child_of_floes_step_span(traced_spans: list[dict[str, Any]]) -> None:
    by_id = {span["context"]["span_id"]: span for span in traced_spans}
    (invocation,) = [span for span in traced_spans if span["name"] == "dbt.invocation"]
    step = by_id[invocation["parent_id"]]
    assert step["attributes"].get("dagster.step_key")  # floe executor's step span
    assert invocation["context"]["trace_id"] == step["context"]["trace_id"]
    assert invocation["resource"]["attributes"]["service.name"] == "tiny"


def test_dbt_node_spans_are_children_of_floes_node_spans(traced_spans: list[dict[str, Any]]) -> None:
    by_id = {span["context"]["span_id"]: span for span in traced_spans}
    dbt_nodes = [span for span in traced_spans if span["name"].startswith(NODE_TYPES)]
    assert {"model.tiny.stg_numbers", "model.tiny.total"} <= {span["name"] for span in dbt_nodes}
    for node in dbt_nodes:
        parent = by_id[node["parent_id"]]
        assert parent["attributes"]["dbt.node.unique_id"] == node["name"]
        assert parent["name"].startswith("dbt.")


def test_dbt_spans_on_an_older_dbt_core_is_refused_where_it_is_written(tmp_path: Path, copy_project: Any) -> None:
    copy = _traced_copy(copy_project, tmp_path, "subprocess", "dbt_spans_version_assets")
    environ = {**os.environ, **copy.env}
    if dbt_has_spans():
        assert load_project(copy.floe_yaml, environ=environ)
        return
    with pytest.raises(DefinitionsLoadError) as raised:  # tests_lowest (dbt-core 1.9) takes this branch
        load_project(copy.floe_yaml, environ=environ)
    assert "platform.yaml:6" in str(raised.value)
    assert "dbt.spans: true needs" in str(raised.value)
    assert "dbt-core 1.12 or later" in str(raised.value)
