"""A dbt step whose saved partial parse does not match says so once, with dbt's reason and what to do."""

from __future__ import annotations

import json
import logging
import subprocess

import pytest
from dbt_harness import DUCKDB_ENV, REPARSE_NOTICE, DbtRun, copy_project, make_warehouse, run_dbt

from floe_dbt_observe.dbt_executable import find_dbt_executable


def _notices(run: DbtRun) -> list[tuple[int, str]]:
    return [
        (entry.level, entry.user_message)
        for entry in run.instance.all_logs(run.result.run_id)
        if REPARSE_NOTICE in entry.user_message
    ]


def _run_after_parsing(
    tmp_path_factory: pytest.TempPathFactory, session_monkeypatch: pytest.MonkeyPatch, *parse_args: str
) -> DbtRun:
    """Parse a fresh copy of the project with ``dbt parse PARSE_ARGS`` (same profile and warehouse), then build it."""
    root = tmp_path_factory.mktemp("reparse")
    project = copy_project(root / "dbt_project")
    warehouse = make_warehouse(root / "reparse.duckdb")
    session_monkeypatch.setenv(DUCKDB_ENV, str(warehouse))
    parse = [find_dbt_executable(), "parse", "--project-dir", str(project), "--profiles-dir", str(project)]
    subprocess.run([*parse, *parse_args], check=True, capture_output=True)
    assert (project / "target" / "partial_parse.msgpack").exists()
    return run_dbt(project, warehouse, session_monkeypatch)


@pytest.fixture(scope="module")
def mismatched_parse_run(tmp_path_factory: pytest.TempPathFactory, session_monkeypatch: pytest.MonkeyPatch) -> DbtRun:
    """Parsed under vars the step does not pass: dbt cannot reuse that parse."""
    return _run_after_parsing(tmp_path_factory, session_monkeypatch, "--vars", json.dumps({"parsed_with": "other"}))


@pytest.fixture(scope="module")
def matching_parse_run(tmp_path_factory: pytest.TempPathFactory, session_monkeypatch: pytest.MonkeyPatch) -> DbtRun:
    """Parsed with what the step runs with (profile, warehouse path, no vars): dbt reuses the parse."""
    return _run_after_parsing(tmp_path_factory, session_monkeypatch)


def test_a_step_that_cannot_reuse_its_saved_parse_warns_once_with_dbts_reason_and_the_parse_command(
    mismatched_parse_run: DbtRun,
) -> None:
    assert mismatched_parse_run.result.success
    ((level, message),) = _notices(mismatched_parse_run)
    assert level == logging.WARNING
    assert "Unable to do partial parsing because config vars, config profile, or config target have changed" in message
    assert "run `dbt parse" in message
    assert "with the profile, vars and dbt version this step runs with" in message


def test_a_step_that_reuses_its_saved_parse_says_nothing_about_parsing(matching_parse_run: DbtRun) -> None:
    assert matching_parse_run.result.success
    assert _notices(matching_parse_run) == []


def test_a_changed_profile_value_is_warned_as_dbt_names_it(success_run: DbtRun) -> None:
    # the shared fixture parses with one warehouse path and builds with another: dbt hashes the profile's
    # connection values, so it reparses, and says "profile has changed"
    ((level, message),) = _notices(success_run)
    assert level == logging.WARNING
    assert "Unable to do partial parsing because profile has changed" in message


def test_a_partitioned_step_says_at_info_that_its_partition_vars_force_a_full_parse(partitioned_run: DbtRun) -> None:
    ((level, message),) = _notices(partitioned_run)
    assert level == logging.INFO
    assert "this step passes --vars (its partition's)" in message
