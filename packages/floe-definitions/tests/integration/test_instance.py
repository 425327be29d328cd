"""The Dagster instance rendered from platform.yaml: loaded by Dagster, written under one rule, opened by floe."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from dagster import DagsterInstance

from floe_config.platform_loading import parse_platform_spec
from floe_definitions.commands.cli import main
from floe_definitions.errors import InstanceConfigError
from floe_definitions.instance.dagster_yaml import render_instance
from floe_definitions.instance.home import open_instance, write_instance
from floe_test_support.http_endpoints import free_port
from floe_test_support.postgres import configured_or_throwaway_url

TEAM_PLATFORM = """\
instance:
  run_coordinator:
    max_concurrent_runs: 4
    tag_concurrency_limits: [{key: dagster/backfill, limit: 2}, {key: team, value: data, limit: 1}]
  run_monitoring: {start_timeout_seconds: 90, cancel_timeout_seconds: 60}
  run_retries: {enabled: true, max_retries: 2}
  compute_logs_dir: logs
"""


def _platform(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "platform.yaml"
    path.write_text(text)
    (tmp_path / "floe.yaml").write_text('name: tiny\nversion: "1"\n')
    return path


def test_rendered_sqlite_instance_is_loaded_by_dagster_with_every_setting(tmp_path: Path) -> None:
    platform_file = _platform(tmp_path, TEAM_PLATFORM)
    home = tmp_path / "home"
    rendered = render_instance(parse_platform_spec(TEAM_PLATFORM, environ={}), home, platform_file=platform_file)
    write_instance(rendered)
    with DagsterInstance.from_config(os.fspath(home)) as instance:
        coordinator = instance.run_coordinator
        assert type(coordinator).__name__ == "QueuedRunCoordinator"
        assert coordinator.get_run_queue_config().max_concurrent_runs == 4  # type: ignore[attr-defined]
        limits = coordinator.get_run_queue_config().tag_concurrency_limits  # type: ignore[attr-defined]
        assert {(limit["key"], limit.get("value"), limit["limit"]) for limit in limits} == {
            ("dagster/backfill", None, 2),
            ("team", "data", 1),
        }
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_start_timeout_seconds == 90
        assert instance.run_monitoring_cancel_timeout_seconds == 60
        assert instance.run_retries_enabled
        assert instance.run_retries_max_retries == 2
        assert not instance.telemetry_enabled
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
        assert type(instance.event_log_storage).__name__ == "BatchedSqliteEventLogStorage"  # floe's batched writes
        compute_logs = instance.compute_log_manager.inst_data
        assert compute_logs is not None
        assert compute_logs.config_dict["base_dir"] == os.fspath(tmp_path / "logs")
        assert (home / "history" / "runs.db").exists()


def test_default_instance_monitors_runs_and_keeps_telemetry_off(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_instance(render_instance(parse_platform_spec("", environ={}), home))
    with DagsterInstance.from_config(os.fspath(home)) as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_start_timeout_seconds == 180
        assert not instance.run_retries_enabled
        assert not instance.telemetry_enabled


def test_hand_written_dagster_yaml_that_disagrees_is_an_error_naming_both_files(tmp_path: Path) -> None:
    platform_file = _platform(tmp_path, TEAM_PLATFORM)
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry: {enabled: false}\nrun_queue: {max_concurrent_runs: 1}\n")
    rendered = render_instance(parse_platform_spec(TEAM_PLATFORM, environ={}), home, platform_file=platform_file)
    with pytest.raises(InstanceConfigError) as caught:
        write_instance(rendered)
    message = str(caught.value)
    assert str(home / "dagster.yaml") in message
    assert str(platform_file) in message
    assert "run_queue" in message
    assert "storage" in message
    assert (home / "dagster.yaml").read_text().startswith("telemetry")  # left as the user wrote it


def test_hand_written_dagster_yaml_that_agrees_is_kept_as_written(tmp_path: Path) -> None:
    home = tmp_path / "home"
    rendered = render_instance(parse_platform_spec("", environ={}), home)
    home.mkdir()
    hand_written = "# ours\n" + yaml.safe_dump(dict(rendered.config), default_flow_style=True)
    (home / "dagster.yaml").write_text(hand_written)
    write_instance(rendered)
    assert (home / "dagster.yaml").read_text() == hand_written


def test_dagster_yaml_floe_wrote_is_rewritten_when_platform_yaml_changes(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write_instance(render_instance(parse_platform_spec("", environ={}), home))
    changed = parse_platform_spec("instance: {run_coordinator: {max_concurrent_runs: 2}}\n", environ={})
    write_instance(render_instance(changed, home))
    assert yaml.safe_load((home / "dagster.yaml").read_text())["run_queue"]["max_concurrent_runs"] == 2


def test_floe_instance_prints_the_rendered_yaml_and_its_home_and_writes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    platform_file = _platform(tmp_path, TEAM_PLATFORM)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    home = tmp_path / ".floe" / "dagster"
    assert main(["instance", str(tmp_path), "--platform", str(platform_file)]) == 0
    printed = capsys.readouterr().out
    assert f"# DAGSTER_HOME={home}" in printed
    assert "max_concurrent_runs: 4" in printed
    assert not (home / "dagster.yaml").exists()
    assert main(["instance", str(tmp_path), "--platform", str(platform_file), "--write"]) == 0
    assert capsys.readouterr().out.strip().endswith(f"# wrote {home / 'dagster.yaml'} and {home / 'workspace.yaml'}")
    assert yaml.safe_load((home / "dagster.yaml").read_text())["run_queue"]["max_concurrent_runs"] == 4


def test_floe_instance_with_a_conflicting_hand_written_file_exits_1_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    platform_file = _platform(tmp_path, TEAM_PLATFORM)
    home = tmp_path / "elsewhere"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry: {enabled: true}\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert main(["instance", str(tmp_path), "--platform", str(platform_file), "--write"]) == 1
    error = capsys.readouterr().err
    assert str(home / "dagster.yaml") in error
    assert str(platform_file) in error
    assert "Traceback" not in error


def test_postgres_url_is_an_environment_reference_never_the_url(tmp_path: Path) -> None:
    spec = parse_platform_spec("instance: {storage: postgres, postgres_url_env: TEAM_PG_URL}\n", environ={})
    rendered = render_instance(spec, tmp_path)
    for key in ("run_storage", "event_log_storage", "schedule_storage"):
        assert rendered.config[key]["config"] == {"postgres_url": {"env": "TEAM_PG_URL"}}
    assert "storage" not in rendered.config
    # each storage spells the reference out: no YAML anchor (&id001 / *id001) for a reader to follow
    assert rendered.text().count("postgres_url:\n      env: TEAM_PG_URL\n") == 3


def test_a_literal_postgres_url_is_printed_with_its_password_masked(tmp_path: Path) -> None:
    spec = parse_platform_spec(
        "instance: {storage: postgres, postgres_url: 'postgresql+psycopg2://u:s3cret@db:5432/d'}\n", environ={}
    )
    rendered = render_instance(spec, tmp_path)
    assert "s3cret" not in rendered.display_text()
    assert "postgresql+psycopg2://u:***@db:5432/d" in rendered.display_text()


def test_unreachable_postgres_names_the_platform_file_key_and_host_never_the_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()  # a port nobody listens on
    text = "instance:\n  storage: postgres\n  postgres_url_env: TEAM_PG_URL\n"
    platform_file = _platform(tmp_path, text)
    monkeypatch.setenv("TEAM_PG_URL", f"postgresql+psycopg2://floe:s3cret@127.0.0.1:{port}/dagster")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    with pytest.raises(InstanceConfigError) as caught:
        open_instance(tmp_path, parse_platform_spec(text, environ={}), platform_file=platform_file)
    message = str(caught.value)
    assert "instance.postgres_url_env" in message
    assert str(platform_file) in message
    assert f"127.0.0.1:{port}" in message
    assert "s3cret" not in message


def test_postgres_url_variable_unset_is_a_located_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = "instance: {storage: postgres, postgres_url_env: TEAM_PG_URL_UNSET}\n"
    monkeypatch.delenv("TEAM_PG_URL_UNSET", raising=False)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    with pytest.raises(InstanceConfigError, match=r"TEAM_PG_URL_UNSET.*not set"):
        open_instance(tmp_path, parse_platform_spec(text, environ={}))


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """``FLOE_TEST_POSTGRES_URL``, else a throwaway server from ``.ci/postgres.sh`` (skip when neither works)."""
    try:
        with configured_or_throwaway_url() as url:
            yield url
    except RuntimeError as exc:
        pytest.skip(f"no PostgreSQL for the test: {exc}")


def test_rendered_postgres_instance_opens_on_a_real_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    _, _, location = postgres_url.partition("://")
    monkeypatch.setenv("TEAM_PG_URL", f"postgresql+psycopg2://{location}")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    text = "instance: {storage: postgres, postgres_url_env: TEAM_PG_URL}\n"
    with open_instance(tmp_path, parse_platform_spec(text, environ={})) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "BatchedPostgresEventLogStorage"
    assert "TEAM_PG_URL" in (tmp_path / "home" / "dagster.yaml").read_text()
    assert location not in (tmp_path / "home" / "dagster.yaml").read_text()


@pytest.mark.parametrize(
    ("platform", "launcher"),
    [
        ("", "WarmRunLauncher"),  # the laptop tier: SQLite, warm by default
        ("instance: {storage: sqlite, run_launcher: default}\n", "DefaultRunLauncher"),
        ("instance: {storage: postgres, postgres_url_env: PG_URL}\n", "DefaultRunLauncher"),  # the team tier
        ("instance: {storage: postgres, postgres_url_env: PG_URL, run_launcher: warm}\n", "WarmRunLauncher"),
    ],
)
def test_instance_run_launcher_follows_storage_unless_platform_yaml_names_one(
    tmp_path: Path, platform: str, launcher: str
) -> None:
    rendered = render_instance(parse_platform_spec(platform, environ={}), tmp_path)
    assert rendered.config.get("run_launcher", {}).get("class", "DefaultRunLauncher") == launcher
    if "postgres" not in platform:
        write_instance(rendered)
        with DagsterInstance.from_config(os.fspath(tmp_path)) as instance:
            assert type(instance.run_launcher).__name__ == launcher
            assert instance.run_launcher.supports_check_run_worker_health == (launcher == "WarmRunLauncher")
