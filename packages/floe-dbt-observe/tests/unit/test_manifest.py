"""Missing and invalid manifests give located errors, never a KeyError."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_dbt_observe import build_dbt_assets
from floe_dbt_observe.errors import DbtProjectNotFoundError, InvalidManifestError, ManifestNotFoundError
from floe_dbt_observe.manifest import load_or_parse_manifest, manifest_adapter_type
from floe_dbt_observe.warehouse_namespace import fallback_namespace


def test_missing_project_dir_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(DbtProjectNotFoundError, match=str(missing)):
        build_dbt_assets(missing)


def test_missing_manifest_without_project_names_path_and_command(tmp_path: Path) -> None:
    with pytest.raises(ManifestNotFoundError) as info:
        load_or_parse_manifest(tmp_path, manifest=None, dbt_executable="dbt")
    message = str(info.value)
    assert str(tmp_path / "target" / "manifest.json") in message
    assert f"dbt parse --project-dir {tmp_path}" in message


def test_invalid_json_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text("{not json")
    with pytest.raises(InvalidManifestError, match=f"{path}: invalid JSON"):
        load_or_parse_manifest(tmp_path, manifest=path, dbt_executable="dbt")


def test_manifest_missing_keys_says_which(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    path.write_text('{"metadata": {"adapter_type": "duckdb"}, "nodes": {}}')
    with pytest.raises(InvalidManifestError, match="missing top-level key\\(s\\) sources, parent_map, child_map"):
        load_or_parse_manifest(tmp_path, manifest=path, dbt_executable="dbt")


def test_manifest_node_without_fqn_is_invalid(tmp_path: Path) -> None:
    manifest = {
        "metadata": {"adapter_type": "duckdb"},
        "nodes": {"model.x.y": {"resource_type": "model"}},
        "sources": {},
        "parent_map": {},
        "child_map": {},
    }
    with pytest.raises(InvalidManifestError, match=r"model\.x\.y"):
        load_or_parse_manifest(tmp_path, manifest=manifest, dbt_executable="dbt")


def test_missing_manifest_is_parsed_with_an_absolute_project_dir(parsed_project: Path) -> None:
    assert (parsed_project / "target" / "manifest.json").is_file()
    assert (parsed_project / "target" / "partial_parse.msgpack").is_file()


def test_adapter_type_is_the_manifests() -> None:
    assert manifest_adapter_type({"metadata": {"adapter_type": "postgres"}}) == "postgres"


@pytest.mark.parametrize("manifest", [{}, {"metadata": {}}, {"metadata": {"adapter_type": None}}, {"metadata": None}])
def test_adapter_type_of_a_manifest_naming_none_is_empty(manifest: dict[str, object]) -> None:
    assert manifest_adapter_type(manifest) == ""


def test_fallback_namespace_of_a_manifest_naming_no_adapter_has_a_scheme() -> None:
    assert fallback_namespace({"metadata": {}, "nodes": {"model.a.b": {"database": "shop"}}}) == "dbt://shop"
