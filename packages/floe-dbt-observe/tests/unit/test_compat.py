"""Each private-API capability of ``_compat``: its probe passes on the locked versions, and the switch that fails
it on purpose (``FLOE_COMPAT_DISABLE``) makes floe take the public path with one WARNING naming the capability."""

# no `from __future__ import annotations`: Dagster inspects the context annotation at runtime

import logging
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import dagster as dg
import pytest
from dagster import AssetExecutionContext
from dagster_dbt import DbtCliResource
from dbt_harness import DUCKDB_ENV, FIXTURE_PROJECT
from packaging.version import Version

from floe_dbt_observe import _compat, build_dbt_assets
from floe_dbt_observe.dbt_resource import FloeDbtCliResource, build_dbt_resource
from floe_dbt_observe.output_keys_cache import cached_output_asset_keys
from floe_dbt_observe.translator import FloeDbtTranslator
from floe_dbt_observe.warehouse_columns import read_adapter_columns
from floe_dbt_observe.warehouse_namespace import profile_credentials

SPECS = [dg.AssetSpec("a", skippable=True), dg.AssetSpec("b", deps=["a"], skippable=True)]


@pytest.fixture(autouse=True)
def _fresh_warnings() -> Iterator[None]:
    _compat.warn_unavailable.cache_clear()
    yield
    _compat.warn_unavailable.cache_clear()


def _disable(monkeypatch: pytest.MonkeyPatch, capability: _compat.Capability) -> None:
    monkeypatch.setenv(_compat.DISABLE_ENV, capability.name)


def _warnings_for(caplog: pytest.LogCaptureFixture, capability: _compat.Capability) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno == logging.WARNING and capability.name in r.getMessage()]


def test_every_probe_passes_on_the_locked_versions(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(_compat.DISABLE_ENV, raising=False)
    assert _compat.output_keys_cache_available()
    assert _compat.dbt_adapter_skip_available()
    if Version(version("dagster-dbt")) >= Version("0.29"):
        # dagster-dbt 0.28 (the floor) has no asset_utils.extract_runtime_selection_from_args: dbt runs as a
        # subprocess there, with one warning (test_dbt_in_process.py, the probe-off test)
        assert _compat.dbt_in_process_available()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_without_the_output_keys_cache_the_step_runs_on_dagsters_path_and_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _disable(monkeypatch, _compat.OUTPUT_KEYS_CACHE)
    installed: list[bool] = []

    @dg.multi_asset(specs=SPECS, can_subset=True)
    def pair(context: AssetExecutionContext) -> Iterator[dg.Output[None]]:
        with cached_output_asset_keys(context) as cached:
            installed.append(cached)
            yield dg.Output(None, output_name="a")
            yield dg.Output(None, output_name="b")

    with caplog.at_level(logging.WARNING):
        assert dg.materialize([pair]).success
        assert dg.materialize([pair]).success
    assert installed == [False, False]
    (warning,) = _warnings_for(caplog, _compat.OUTPUT_KEYS_CACHE)
    assert "max_assets_per_definition" in warning.getMessage()


def test_the_asset_graph_is_the_same_whether_or_not_the_output_keys_probe_passes(
    parsed_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def shape() -> list[tuple[str, list[str], list[str]]]:
        return [
            (d.op.name, sorted(k.to_user_string() for k in d.keys), sorted(d.node_keys_by_output_name))
            for d in build_dbt_assets(parsed_project)
        ]

    monkeypatch.delenv(_compat.DISABLE_ENV, raising=False)
    with_cache = shape()
    _disable(monkeypatch, _compat.OUTPUT_KEYS_CACHE)
    assert shape() == with_cache


def test_without_the_adapter_skip_the_resource_is_dagster_dbts_own_and_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _disable(monkeypatch, _compat.DBT_ADAPTER_SKIP)
    with caplog.at_level(logging.WARNING):
        first = build_dbt_resource(FIXTURE_PROJECT, profiles_dir=None, target=None, dbt_executable=None)
        build_dbt_resource(FIXTURE_PROJECT, profiles_dir=None, target=None, dbt_executable=None)
    assert type(first) is DbtCliResource
    assert not isinstance(first, FloeDbtCliResource)
    assert "_cli_version" not in vars(first)
    assert len(_warnings_for(caplog, _compat.DBT_ADAPTER_SKIP)) == 1


def test_without_the_dbt_profile_reader_lineage_falls_back_and_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.setenv(DUCKDB_ENV, str(tmp_path / "wh.duckdb"))
    assert profile_credentials(FIXTURE_PROJECT, profiles_dir=None, profile=None, target=None, cli_vars={}) is not None
    _disable(monkeypatch, _compat.DBT_PROFILE)
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            assert (
                profile_credentials(FIXTURE_PROJECT, profiles_dir=None, profile=None, target=None, cli_vars={}) is None
            )
    assert len(_warnings_for(caplog, _compat.DBT_PROFILE)) == 1


def test_the_dbt_connection_probe_opens_a_connection_with_the_adapters_own_manager(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.delenv(_compat.DISABLE_ENV, raising=False)
    monkeypatch.setenv(DUCKDB_ENV, str(tmp_path / "wh.duckdb"))
    credentials = profile_credentials(FIXTURE_PROJECT, profiles_dir=None, profile=None, target=None, cli_vars={})
    with caplog.at_level(logging.WARNING), _compat.dbt_connection("duckdb", credentials) as handle:
        assert handle is not None
        cursor = handle.cursor()
        cursor.execute("select 42")
        assert cursor.fetchall() == [(42,)]
    assert not _warnings_for(caplog, _compat.DBT_CONNECTION)


def test_without_the_dbt_connection_other_adapters_keep_declared_columns_and_warn_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _disable(monkeypatch, _compat.DBT_CONNECTION)
    credentials = SimpleNamespace(host="127.0.0.1", port=1, database="db", schema="s")
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            assert read_adapter_columns("postgres", credentials, [("db", "s", "orders")]) == {}
    assert len(_warnings_for(caplog, _compat.DBT_CONNECTION)) == 1


def test_the_dbt_specs_probe_passes_and_its_keys_are_dagster_dbts_documented_values(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(_compat.DISABLE_ENV, raising=False)
    with caplog.at_level(logging.WARNING):
        assert _compat.dbt_metadata_keys() == _compat.DbtMetadataKeys()
    assert not _warnings_for(caplog, _compat.DBT_SPECS)


def test_without_dagster_dbts_spec_builder_the_definitions_are_the_same_and_it_warns_once(
    parsed_project: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def comparable(spec: dg.AssetSpec) -> dg.AssetSpec:
        # dagster-dbt's manifest wrapper and floe's translator compare by identity, and each build makes its own
        metadata = {
            k: type(v) if isinstance(v, FloeDbtTranslator) else getattr(v, "manifest", v)
            for k, v in spec.metadata.items()
        }
        return spec.replace_attributes(metadata=metadata)

    def shape() -> list[tuple[Any, ...]]:
        return [
            (
                d.op.name,
                dict(d.op.tags),
                sorted((comparable(spec) for spec in d.specs), key=lambda spec: spec.key),
                sorted(d.check_specs, key=lambda spec: spec.key),
                sorted(d.node_keys_by_output_name),
            )
            for d in build_dbt_assets(parsed_project, select="fqn:*", exclude="stg_payments")
        ]

    monkeypatch.delenv(_compat.DISABLE_ENV, raising=False)
    with_probe = shape()
    _disable(monkeypatch, _compat.DBT_SPECS)
    with caplog.at_level(logging.WARNING):
        assert shape() == with_probe
        shape()
    assert len(_warnings_for(caplog, _compat.DBT_SPECS)) == 1


@pytest.mark.parametrize("disabled", [False, True], ids=["dbt", "fallback"])
def test_dbt_env_secrets_are_scrubbed_on_both_paths(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, disabled: bool
) -> None:
    if disabled:
        _disable(monkeypatch, _compat.DBT_SECRET_SCRUB)
    else:
        monkeypatch.delenv(_compat.DISABLE_ENV, raising=False)
    monkeypatch.setenv("DBT_ENV_SECRET_PASSWORD", "hunter2")
    monkeypatch.setenv("DBT_ENV_SECRET_BLANK", "  ")
    with caplog.at_level(logging.WARNING):
        secrets = _compat.dbt_env_secrets()
        scrubbed = _compat.scrub_dbt_secrets('{"msg": "connect with hunter2"}', secrets)
        _compat.scrub_dbt_secrets("hunter2", _compat.dbt_env_secrets())
    assert secrets == ["hunter2"]
    assert scrubbed == '{"msg": "connect with *****"}'
    assert len(_warnings_for(caplog, _compat.DBT_SECRET_SCRUB)) == (1 if disabled else 0)
