"""floe's dbt resource skips the in-process adapter; the warehouse namespace comes from the dbt profile."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster_dbt import DbtCliResource
from dbt_harness import DUCKDB_ENV, FIXTURE_PROJECT, copy_project

from floe_dbt_observe import build_dbt_assets
from floe_dbt_observe.dbt_resource import FloeDbtCliResource, build_dbt_resource
from floe_dbt_observe.warehouse_namespace import duckdb_file, namespace_from_credentials, profile_credentials


def test_the_default_resource_is_a_dbt_cli_resource_with_no_adapter_and_a_known_version() -> None:
    resource = build_dbt_resource(FIXTURE_PROJECT, profiles_dir=None, target=None, dbt_executable=None)
    assert isinstance(resource, FloeDbtCliResource)
    assert isinstance(resource, DbtCliResource)
    assert resource._initialize_dbt_core_adapter(["build"]) is None
    assert "_cli_version" in vars(resource)  # no `dbt --version` subprocess


def test_profile_credentials_render_env_vars(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(DUCKDB_ENV, str(tmp_path / "wh.duckdb"))
    credentials = profile_credentials(FIXTURE_PROJECT, profiles_dir=None, profile=None, target=None, cli_vars={})
    assert namespace_from_credentials("duckdb", credentials) == "duckdb://" + (tmp_path / "wh.duckdb").as_posix()


def test_a_relative_duckdb_path_names_the_namespace_as_written_and_the_file_against_the_project(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(DUCKDB_ENV, "data/wh.duckdb")
    credentials = profile_credentials(FIXTURE_PROJECT, profiles_dir=None, profile=None, target=None, cli_vars={})
    assert namespace_from_credentials("duckdb", credentials) == "duckdb://data/wh.duckdb"  # dbt-ol's name
    assert duckdb_file(getattr(credentials, "path", None), FIXTURE_PROJECT) == FIXTURE_PROJECT / "data/wh.duckdb"


def test_a_profile_path_built_from_flags_profiles_dir_renders_after_dagster_dbt_has_set_dbts_flags(
    tmp_path: Path,
) -> None:
    # Building dbt assets runs dagster-dbt's manifest selection, which sets dbt's process-wide flags without
    # PROFILES_DIR: the profile then rendered "None/../wh.duckdb" and the warehouse read found no database.
    project = copy_project(tmp_path / "project")
    profiles = (project / "profiles.yml").read_text()
    (project / "profiles.yml").write_text(
        profiles.replace("{{ env_var('FLOE_FIXTURE_DUCKDB_PATH') }}", "{{ flags.PROFILES_DIR ~ '/../wh.duckdb' }}")
    )
    assert "flags.PROFILES_DIR" in (project / "profiles.yml").read_text()
    build_dbt_assets(project)
    credentials = profile_credentials(project, profiles_dir=project, profile=None, target=None, cli_vars={})
    path = getattr(credentials, "path", None)
    assert path is not None
    assert Path(path).resolve() == (tmp_path / "wh.duckdb").resolve()


def test_an_unreadable_profile_gives_none(tmp_path: Path) -> None:
    assert profile_credentials(FIXTURE_PROJECT, profiles_dir=tmp_path, profile=None, target=None, cli_vars={}) is None


def test_dbt_output_carries_no_ansi_colour_codes_when_stdout_is_not_a_terminal(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DBT_USE_COLORS", raising=False)
    monkeypatch.setenv(DUCKDB_ENV, str(tmp_path / "wh.duckdb"))
    project = copy_project(tmp_path / "project")
    resource = build_dbt_resource(project, profiles_dir=None, target=None, dbt_executable=None)
    assert "--no-use-colors" in resource.global_config_flags
    messages = [event.raw_event["info"]["msg"] for event in resource.cli(["seed"]).stream_raw_events()]
    assert any("OK loaded seed file" in message for message in messages)
    assert not [message for message in messages if "\x1b[" in message]
    assert "\x1b[" not in capfd.readouterr().out


def test_dbt_use_colors_in_the_environment_still_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBT_USE_COLORS", "true")
    resource = build_dbt_resource(FIXTURE_PROJECT, profiles_dir=None, target=None, dbt_executable=None)
    assert "--no-use-colors" not in resource.global_config_flags


def test_two_projects_with_the_same_relative_duckdb_path_share_dbt_ols_namespace(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # dbt-ol names both `duckdb://dev.duckdb` (the profile's path as written), and so does floe, so that both tools'
    # lineage of a table joins; an absolute path (or env_var giving one) keeps two such projects apart
    monkeypatch.setenv(DUCKDB_ENV, "dev.duckdb")
    namespaces = {
        namespace_from_credentials(
            "duckdb",
            profile_credentials(
                copy_project(tmp_path / folder / "project"), profiles_dir=None, profile=None, target=None, cli_vars={}
            ),
        )
        for folder in ("team_a", "team_b")
    }
    assert namespaces == {"duckdb://dev.duckdb"}
