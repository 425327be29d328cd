"""``floe check`` and ``floe list`` on the fixture project and on broken copies of it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from floe_definitions import FloeProject, load_project
from floe_definitions.commands.checks import check_floe_yaml, check_project
from floe_definitions.commands.cli import main
from floe_definitions.telemetry.tracing import traces_file


def test_fixture_project_checks_ok_with_a_warning_for_the_unmatched_pattern(loaded_project: FloeProject) -> None:
    report = check_project(loaded_project)
    assert report.ok, [str(issue) for issue in report.errors]
    assert [issue.key for issue in report.warnings] == ["orchestration.assets.nothing/*"]
    assert report.warnings[0].location.endswith("floe.yaml:10:5")
    assert report.summary["dbt models"] == 2


def _edited(project_copy: Any, tmp_path: Path, old: str, new: str) -> Path:
    text = project_copy.floe_yaml.read_text()
    assert old in text
    path = project_copy.root / f"edited-{tmp_path.name}.yaml"
    path.write_text(text.replace(old, new))
    return path


def _env(project_copy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in project_copy.env.items():
        monkeypatch.setenv(key, value)


def test_selection_matching_nothing_is_a_located_error(
    project_copy: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(project_copy, monkeypatch)
    path = _edited(project_copy, tmp_path, '["group:silver", "group:gold"]', '["group:platinum"]')
    report = check_floe_yaml(path)
    assert not report.ok
    error = report.errors[0]
    assert "orchestration.jobs.transform" in error.key
    assert ":12:" in error.location or "matches no asset" in error.message


def test_one_misspelled_term_of_a_selection_union_is_an_error_located_at_the_term(
    project_copy: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(project_copy, monkeypatch)
    path = _edited(project_copy, tmp_path, '["group:silver", "group:gold"]', '["group:silver", "group:glod"]')
    report = check_floe_yaml(path)
    assert [(issue.key, issue.location.rsplit(":", 2)[-2:]) for issue in report.errors] == [
        ("orchestration.jobs.transform.selection.1", ["13", "58"])
    ]
    assert report.errors[0].message.startswith(
        "selection term 'group:glod' matches no asset (did you mean 'group:gold'?); every term of the union"
    )


def test_missing_watched_asset_is_a_located_error(
    project_copy: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(project_copy, monkeypatch)
    path = _edited(project_copy, tmp_path, "watched_assets: [raw/numbers]", "watched_assets: [raw/letters]")
    report = check_floe_yaml(path)
    assert not report.ok
    assert any("raw/letters" in issue.message and ":15:" in issue.location for issue in report.errors), report.issues


def test_cli_check_exits_0_and_prints_a_summary(
    project_copy: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _env(project_copy, monkeypatch)
    assert main(["check", str(project_copy.root)]) == 0
    out = capsys.readouterr().out
    assert "floe check: OK" in out
    assert "2 dbt models" in out


def test_cli_check_and_list_output_holds_no_warning(project_copy: Any) -> None:
    floe = str(Path(sys.executable).with_name("floe"))
    env = {**os.environ, **project_copy.env}
    for command in ("check", "list"):
        completed = subprocess.run(
            [floe, command, str(project_copy.floe_yaml)], env=env, capture_output=True, text=True, check=False
        )
        assert completed.returncode == 0, completed.stderr[-3000:]
        assert "Warning" not in completed.stdout + completed.stderr, completed.stderr[-3000:]


def test_cli_check_reports_invalid_config_without_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "floe.yaml"
    path.write_text("name: shop\norchestration:\n  jobz: {}\n")
    assert main(["check", str(path)]) == 1
    captured = capsys.readouterr()
    assert "floe.yaml:3:" in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err


def test_cli_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_cli_list_shows_assets_groups_patterns_and_jobs(
    project_copy: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _env(project_copy, monkeypatch)
    assert main(["list", str(project_copy.floe_yaml)]) == 0
    out = capsys.readouterr().out
    assert "stg_numbers  group=silver" in out
    assert "total  group=gold" in out
    assert "tags.layer <- 'total'" in out
    assert "transform (batch: group:silver | group:gold): stg_numbers, total" in out
    assert "on_raw: asset_sensor -> job transform" in out


def test_cli_backfill_of_unknown_name_exits_1(
    project_copy: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _env(project_copy, monkeypatch)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    assert main(["backfill", "nope", str(project_copy.floe_yaml)]) == 1
    err = capsys.readouterr().err
    assert "unknown backfill 'nope'" in err
    assert "Traceback" not in err


def test_hyphenated_pipeline_name_loads_and_names_service_and_files_as_written(
    project_copy: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(project_copy, monkeypatch)
    path = _edited(project_copy, tmp_path, "name: tiny\n", "name: tiny-shop.eu\n")
    report = check_floe_yaml(path)
    assert report.ok, [str(issue) for issue in report.errors]
    project = load_project(path)
    assert project.spec.dagster_name == "tiny_shop_eu"
    provider = project.telemetry.tracer_provider
    assert provider is not None
    assert provider.resource.attributes["service.name"] == "tiny-shop.eu"
    assert traces_file(project.spec, project.base_dir).name == "tiny-shop.eu.jsonl"
    assert project.telemetry.naming.pipeline == "tiny-shop.eu"
