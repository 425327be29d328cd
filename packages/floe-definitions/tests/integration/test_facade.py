"""FloeDefinitions against the fixture project: assets, path resolution, resources, compiled artifacts."""

from __future__ import annotations

import os
import runpy
import subprocess
import sys
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from dagster_dbt import DbtCliResource

from floe_config import compile_artifacts
from floe_dbt_observe.dbt_executable import find_dbt_executable
from floe_definitions import FloeDefinitions, FloeProject
from floe_definitions.errors import ConfigNotFoundError, ResourceConflictError
from floe_definitions.project_files import find_floe_yaml


def test_every_dbt_model_is_its_own_asset_with_folder_groups(loaded_project: FloeProject) -> None:
    graph = loaded_project.definitions.resolve_asset_graph()
    groups = {key.to_user_string(): graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups["stg_numbers"] == "silver"
    assert groups["total"] == "gold"
    assert groups["raw/numbers"] == "raw"
    assert loaded_project.dbt_asset_keys == {dg.AssetKey("stg_numbers"), dg.AssetKey("total")}


def test_asset_patterns_apply_to_dbt_models(loaded_project: FloeProject) -> None:
    graph = loaded_project.definitions.resolve_asset_graph()
    assert graph.get(dg.AssetKey("total")).tags.get("layer") == "gold"


def test_jobs_resolve_their_selections(loaded_project: FloeProject) -> None:
    job = loaded_project.definitions.resolve_job_def("transform")
    assert job.asset_layer.selected_asset_keys == {dg.AssetKey("stg_numbers"), dg.AssetKey("total")}


def test_platform_executor_is_wrapped_dagster_executor(loaded_project: FloeProject) -> None:
    job = loaded_project.definitions.resolve_job_def("everything")
    assert job.executor_def.name == "floe_in_process"


def test_floe_provides_the_dbt_resource(loaded_project: FloeProject) -> None:
    assert isinstance(loaded_project.definitions.resources["dbt"], DbtCliResource)


def test_from_compiled_artifacts_matches_the_yaml(project_copy: Any, loaded_project: FloeProject) -> None:
    environ = {**os.environ, **project_copy.env}
    artifacts = compile_artifacts(project_copy.floe_yaml, environ=environ)
    for form in (artifacts, artifacts.model_dump(mode="json")):
        defs = FloeDefinitions.from_compiled_artifacts(form, environ=environ)
        assert defs.resolve_asset_graph().get_all_asset_keys() == (
            loaded_project.definitions.resolve_asset_graph().get_all_asset_keys()
        )
        assert sorted(job.name for job in defs.jobs) == sorted(job.name for job in loaded_project.definitions.jobs)


def test_compiled_artifacts_file_path_is_accepted(project_copy: Any, tmp_path: Path) -> None:
    environ = {**os.environ, **project_copy.env}
    path = tmp_path / "artifacts.json"
    path.write_text(compile_artifacts(project_copy.floe_yaml, environ=environ).to_json())
    defs = FloeDefinitions.from_compiled_artifacts(path, environ=environ)
    assert dg.AssetKey("total") in defs.resolve_asset_graph().get_all_asset_keys()


def test_resource_key_clash_is_an_error(project_copy: Any) -> None:
    with pytest.raises(ResourceConflictError, match="'dbt'"):
        FloeDefinitions.from_floe_yaml(
            project_copy.floe_yaml, resources={"dbt": object()}, environ={**os.environ, **project_copy.env}
        )


def test_override_resources_replaces_floes_dbt_resource(project_copy: Any) -> None:
    mine = DbtCliResource(
        project_dir=str(project_copy.root / "dbt"), target="dev", dbt_executable=find_dbt_executable()
    )
    defs = FloeDefinitions.from_floe_yaml(
        project_copy.floe_yaml,
        resources={"dbt": mine, "extra": dg.ResourceDefinition.none_resource()},
        override_resources=True,
        environ={**os.environ, **project_copy.env},
    )
    assert defs.resources["dbt"] is mine
    assert "extra" in defs.resources


def test_extra_assets_are_merged(project_copy: Any) -> None:
    @dg.asset(key=["extra", "thing"])
    def thing() -> None:
        return None

    defs = FloeDefinitions.from_floe_yaml(
        project_copy.floe_yaml, assets=[thing], environ={**os.environ, **project_copy.env}
    )
    assert dg.AssetKey(["extra", "thing"]) in defs.resolve_asset_graph().get_all_asset_keys()


def test_definitions_module_finds_floe_yaml_beside_itself(
    project_copy: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in project_copy.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("FLOE_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)  # no floe.yaml here: only "beside the calling module" can find it
    namespace = runpy.run_path(str(project_copy.root / "definitions.py"))
    assert dg.AssetKey("total") in namespace["defs"].resolve_asset_graph().get_all_asset_keys()


def test_floe_config_variable_wins_over_the_current_directory(tmp_path: Path) -> None:
    (tmp_path / "floe.yaml").write_text("name: here\n")
    other = tmp_path / "other"
    other.mkdir()
    (other / "floe.yaml").write_text("name: there\n")
    assert find_floe_yaml(None, environ={"FLOE_CONFIG": str(other)}) == other / "floe.yaml"


def test_current_directory_is_the_last_resort(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "floe.yaml").write_text("name: here\n")
    monkeypatch.chdir(tmp_path)
    assert find_floe_yaml(None, caller_file=str(tmp_path / "nowhere" / "mod.py"), environ={}) == tmp_path / "floe.yaml"


def test_missing_floe_yaml_says_where_it_looked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigNotFoundError, match="FLOE_CONFIG") as info:
        find_floe_yaml(None, environ={})
    assert str(tmp_path / "floe.yaml") in str(info.value)


def test_a_project_without_dbt_does_not_import_dagster_dbt_or_dbt(tmp_path: Path) -> None:
    """A Python-only code location (and each of its run workers) must not pay for importing dbt (~2 s a process)."""
    (tmp_path / "python_only_assets.py").write_text(
        "import dagster as dg\n\n\n@dg.asset\ndef answer() -> int:\n    return 42\n", encoding="utf-8"
    )
    (tmp_path / "floe.yaml").write_text(
        "name: python_only\norchestration:\n  asset_modules: [.python_only_assets]\n"
        "  jobs: {everything: {type: batch, selection: ['*']}}\n",
        encoding="utf-8",
    )
    probe = (
        "import sys\nfrom floe_definitions import FloeDefinitions\n"
        f"defs = FloeDefinitions.from_floe_yaml({str(tmp_path / 'floe.yaml')!r})\n"
        "print(sorted(k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()))\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in {'dagster_dbt', 'dbt'}))\n"
    )
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FLOE_", "OTEL_", "OPENLINEAGE"))}
    env["FLOE_PLATFORM_FILE"] = str(tmp_path / "platform.yaml")
    (tmp_path / "platform.yaml").write_text("lineage: {transport: {type: none}}\ntracing: {type: none}\n")
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assets, dbt_modules = result.stdout.strip().splitlines()[-2:]
    assert assets == "['answer']"
    assert dbt_modules == "[]"
