"""floe's event log storages keep their database connections for the process, and a forked child opens its own.

A dbt step stores each node's events one by one as dbt reports them (no batch); Dagster's storages open a new
connection (SQLite: a new engine, and a WAL checkpoint when it closes) for every one. floe's storages keep them
(``_compat``'s ``event_log_pool``). The records are Dagster's own either way (``test_event_batches.py`` compares a
whole run's records with Dagster's storage's); here: how many connections events written one by one open, with
the pool and with ``FLOE_COMPAT_DISABLE=event_log_pool``, and that a child forked after the parent wrote (the warm
process's runs, a Celery worker's tasks) writes through connections of its own while the parent keeps writing.
"""

import os
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster import DagsterInstance

from floe_config.platform_loading import parse_platform_spec
from floe_definitions import _compat
from floe_definitions.instance.dagster_yaml import render_instance
from floe_test_support.postgres import PostgresServer
from floe_test_support.sql_connections import ConnectionCounter

EVENTS = 20


@pytest.fixture(params=["sqlite", "postgres"])
def instance_config(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """The ``dagster.yaml`` floe renders for SQLite or PostgreSQL (a fresh database), and its home."""
    home = tmp_path / "dagster"
    home.mkdir()
    if request.param == "sqlite":
        yield home, "instance: {storage: sqlite}\n"
        return
    pytest.importorskip("dagster_postgres")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    with server.fresh_database("event_log_pool") as database:
        yield home, f"instance: {{storage: postgres, postgres_url: '{database.sqlalchemy_url}'}}\n"


def _open(home: Path, platform_text: str) -> DagsterInstance:
    rendered = dict(render_instance(parse_platform_spec(platform_text, environ={}), home).config)
    config = {key: rendered[key] for key in ("run_storage", "event_log_storage", "schedule_storage")}
    (home / "dagster.yaml").write_text(yaml.safe_dump({**config, "telemetry": {"enabled": False}}))
    return DagsterInstance.from_config(os.fspath(home))


def _materialize(instance: DagsterInstance, label: str) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(asset_key="events", metadata={"by": label}))


def _labels(instance: DagsterInstance) -> list[str]:
    records = instance.fetch_materializations(dg.AssetKey("events"), limit=1000, ascending=True).records
    labels = []
    for record in records:
        materialization = record.asset_materialization
        assert materialization is not None
        labels.append(str(materialization.metadata["by"].value))
    return labels


@pytest.mark.parametrize("disable", ["", "event_log_pool"])
def test_events_written_one_by_one_reuse_the_process_connections_unless_disabled(
    instance_config: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, disable: str
) -> None:
    monkeypatch.setenv("FLOE_COMPAT_DISABLE", disable)
    _compat.warn_unavailable.cache_clear()  # the WARNING comes once per process
    home, platform_text = instance_config
    with _open(home, platform_text) as instance:
        _materialize(instance, "first")  # the storage's shards exist and are checked before counting
        with ConnectionCounter() as counter:
            for number in range(EVENTS):
                _materialize(instance, str(number))
        assert _labels(instance) == ["first", *map(str, range(EVENTS))]
    if disable:
        assert counter.connections >= EVENTS  # Dagster's own: one connection per event or more
        assert "event_log_pool is unavailable" in caplog.text
    else:
        assert counter.connections == 0  # every event on the connections the first one opened
        assert "event_log_pool is unavailable" not in caplog.text


def test_a_forked_child_writes_through_its_own_connections_and_the_parent_keeps_its_own(instance_config: Any) -> None:
    home, platform_text = instance_config
    with _open(home, platform_text) as instance:
        _materialize(instance, "parent before")
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report how many connections it opened, then exit without unwinding pytest
            code = 1
            try:
                os.close(read)
                with ConnectionCounter() as counter:
                    _materialize(instance, "child")
                os.write(write, str(counter.connections).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        with os.fdopen(read) as answer:
            child_connections = answer.read()
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        with ConnectionCounter() as counter:
            _materialize(instance, "parent after")
        assert _labels(instance) == ["parent before", "child", "parent after"]
    assert int(child_connections) >= 1  # its own connection, not the parent's
    assert counter.connections == 0  # the parent's connection survived the child
