"""``floe check`` / ``list`` / ``backfill --dry-run``: JSON output, exit codes, counts, plurals, nothing written."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from floe_definitions.commands.cli import main

PARTITIONED = """
  partitions:
    daily: {type: daily, start: "2024-01-01", end: "2024-01-11"}
  backfills:
    first_week: {job: seed, partition_range: {start: "2024-01-01", end: "2024-01-07"}, batch_size: 3}
"""


def _use(copy: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in copy.env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)


@pytest.fixture(scope="module")
def partitioned_copy(tmp_path_factory: pytest.TempPathFactory, copy_project: Any) -> Any:
    """A fresh copy (no .floe, no dbt target) whose raw asset is daily-partitioned and has a backfill."""
    copy = copy_project(tmp_path_factory.mktemp("partitioned"), package="fixture_assets_partitioned")
    text = copy.floe_yaml.read_text()
    text = text.replace('  assets:\n    "total"', '  assets:\n    "raw/numbers": {partitions: daily}\n    "total"')
    text = text.replace("  jobs:\n", "  jobs:\n    seed: {type: batch, selection: ['key:\"raw/numbers\"']}\n")
    text = text.replace("observability:", PARTITIONED.lstrip("\n") + "observability:")
    copy.floe_yaml.write_text(text)
    return copy


def test_check_and_list_write_nothing_beside_floe_yaml(
    partitioned_copy: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(partitioned_copy, monkeypatch)
    assert not (partitioned_copy.root / ".floe").exists()
    assert main(["check", str(partitioned_copy.root)]) == 0
    assert main(["list", str(partitioned_copy.root)]) == 0
    assert main(["backfill", "first_week", str(partitioned_copy.root), "--dry-run"]) == 0
    capsys.readouterr()
    assert not (partitioned_copy.root / ".floe").exists()


def test_check_json_reports_ok_summary_and_warnings(
    partitioned_copy: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(partitioned_copy, monkeypatch)
    assert main(["check", str(partitioned_copy.root), "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] is True
    assert payload["summary"] == {
        "assets": 3,
        "dbt models": 2,
        "jobs": 3,
        "schedules": 0,
        "sensors": 1,
        "backfills": 1,
    }
    assert [issue["key"] for issue in payload["issues"]] == ["orchestration.assets.nothing/*"]
    assert payload["issues"][0]["severity"] == "warning"


def test_check_text_uses_singular_for_one(
    partitioned_copy: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(partitioned_copy, monkeypatch)
    assert main(["check", str(partitioned_copy.root)]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert last == ("floe check: OK: 3 assets, 2 dbt models, 3 jobs, 0 schedules, 1 sensor, 1 backfill (1 warning)")


def test_list_shows_backfills_and_json_matches(
    partitioned_copy: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(partitioned_copy, monkeypatch)
    assert main(["list", str(partitioned_copy.root)]) == 0
    text = capsys.readouterr().out
    assert "Backfills:\n  first_week: job seed from '2024-01-01' to '2024-01-07' (3 partitions per run)" in text
    assert main(["list", str(partitioned_copy.root), "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["backfills"] == [
        {"name": "first_week", "job": "seed", "start": "2024-01-01", "end": "2024-01-07", "batch_size": 3}
    ]
    kinds = {asset["key"]: asset["kind"] for asset in payload["assets"]}
    assert kinds == {"raw/numbers": "python", "stg_numbers": "dbt-model", "total": "dbt-model"}
    assert {"name": "seed", "type": "batch", "selection": ['key:"raw/numbers"'], "assets": ["raw/numbers"]} in (
        payload["jobs"]
    )


def test_backfill_dry_run_lists_its_runs_and_names_the_instance(
    partitioned_copy: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(partitioned_copy, monkeypatch)
    assert main(["backfill", "first_week", str(partitioned_copy.root), "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    home = partitioned_copy.root.resolve() / ".floe" / "dagster"
    assert lines == [
        "floe backfill --dry-run: 'first_week' (job 'seed') would create 3 runs of job '__ASSET_JOB' over 7 "
        "partitions (as Dagster's asset backfill daemon plans them); assets: raw/numbers",
        "  run 1: 2024-01-01 .. 2024-01-03 (3 partitions): raw/numbers",
        "  run 2: 2024-01-04 .. 2024-01-06 (3 partitions): raw/numbers",
        "  run 3: 2024-01-07 (1 partition): raw/numbers",
        f"instance: {home} (default .floe/dagster beside floe.yaml, SQLite storage; not created yet); "
        "nothing was launched",
    ]


@pytest.mark.parametrize("command", [["check"], ["list"], ["backfill", "x"]])
def test_missing_floe_yaml_exits_2(command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, str(tmp_path / "nope" / "floe.yaml")]) == 2
    captured = capsys.readouterr()
    assert "no floe.yaml found" in captured.err
    assert "Traceback" not in captured.out + captured.err


def test_missing_platform_file_exits_2(
    partitioned_copy: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _use(partitioned_copy, monkeypatch)
    assert main(["check", str(partitioned_copy.root), "--platform", "missing.yaml"]) == 2
    assert "missing.yaml: file not found" in capsys.readouterr().err


def test_seeds_and_snapshots_are_counted_apart_from_models(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], copy_project: Any
) -> None:
    copy = copy_project(tmp_path, package="fixture_assets_seeds")
    (copy.root / "dbt" / "seeds").mkdir()
    (copy.root / "dbt" / "seeds" / "letters.csv").write_text("letter\na\nb\n")
    (copy.root / "dbt" / "snapshots").mkdir()
    (copy.root / "dbt" / "snapshots" / "numbers_snapshot.sql").write_text(
        "{% snapshot numbers_snapshot %}\n"
        "{{ config(target_schema='snapshots', unique_key='n', strategy='check', check_cols='all') }}\n"
        "select * from {{ source('raw', 'numbers') }}\n"
        "{% endsnapshot %}\n"
    )
    _use(copy, monkeypatch)
    assert main(["check", str(copy.root)]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert "5 assets, 2 dbt models, 1 dbt seed, 1 dbt snapshot, 2 jobs" in last
