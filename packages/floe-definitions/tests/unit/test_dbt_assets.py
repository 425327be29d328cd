"""floe-definitions reads the dbt warehouse's adapter type by floe-dbt-observe's one rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_dbt_observe.integration import manifest_adapter_type
from floe_definitions.dbt_assets import DbtProject, warehouse_namespace


@pytest.fixture
def project(tmp_path: Path) -> DbtProject:
    return DbtProject(tmp_path, tmp_path / "target" / "manifest.json", None, None)


def test_python_assets_use_the_adapter_dbt_nodes_use(project: DbtProject) -> None:
    manifest = {"metadata": {"adapter_type": "duckdb"}, "nodes": {}}
    assert warehouse_namespace(project, manifest)[0] == manifest_adapter_type(manifest) == "duckdb"


def test_a_manifest_naming_no_adapter_maps_no_storage_kind(project: DbtProject) -> None:
    """Not ``dbt``: that is the kind dagster-dbt gives every dbt asset, not a warehouse's storage."""
    manifest: dict[str, object] = {"metadata": {}, "nodes": {}}
    assert warehouse_namespace(project, manifest)[0] == manifest_adapter_type(manifest) == ""
