from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openlineage.client.event_v2 import Job, Run, RunEvent, RunState

from floe_config import FloeSpec, PlatformSpec
from floe_definitions.errors import TelemetryConfigError
from floe_definitions.telemetry.lineage_client import build_lineage_client, lineage_file, lineage_namespace


def _spec(**observability: object) -> FloeSpec:
    return FloeSpec.model_validate({"name": "shop", "observability": observability})


def _platform(transport: dict[str, object] | None = None) -> PlatformSpec:
    return PlatformSpec.model_validate({"lineage": {"transport": transport}} if transport else {})


def _event() -> RunEvent:
    return RunEvent(
        eventType=RunState.START,
        eventTime=datetime.now(UTC).isoformat(),
        run=Run(runId=str(uuid.uuid4())),
        job=Job(namespace="floe", name="shop.test"),
        producer="https://example.invalid/floe",
    )


def test_lineage_false_builds_no_client(tmp_path: Path) -> None:
    assert build_lineage_client(_spec(lineage=False), _platform(), tmp_path, env={}) is None


def test_transport_none_builds_no_client(tmp_path: Path) -> None:
    assert build_lineage_client(_spec(), _platform({"type": "none"}), tmp_path, env={}) is None


def test_default_appends_json_lines_under_dot_floe_lineage(tmp_path: Path) -> None:
    client = build_lineage_client(_spec(), _platform(), tmp_path, env={})
    assert client is not None
    client.emit(_event())
    client.emit(_event())
    path = tmp_path / ".floe" / "lineage" / "shop.jsonl"
    assert lineage_file(_spec(), tmp_path) == path
    assert [json.loads(line)["eventType"] for line in path.read_text().splitlines()] == ["START", "START"]


def test_file_transport_path_is_relative_to_floe_yaml_dir(tmp_path: Path) -> None:
    client = build_lineage_client(_spec(), _platform({"type": "file", "path": "ol"}), tmp_path, env={})
    assert client is not None
    client.emit(_event())
    assert (tmp_path / "ol" / "shop.jsonl").exists()


def test_http_transport_sends_api_key_from_named_env_var(tmp_path: Path, http_endpoint: Any) -> None:
    platform = _platform({"type": "http", "url": http_endpoint.url, "api_key_env": "MARQUEZ_KEY"})
    client = build_lineage_client(_spec(), platform, tmp_path, env={"MARQUEZ_KEY": "s3cret"})
    assert client is not None
    client.emit(_event())
    assert http_endpoint.recorded.event.wait(10)  # HttpTransport.emit posts before it returns (no close() before 1.36)
    path, headers, body = http_endpoint.recorded.requests[0]
    assert path == "/api/v1/lineage"
    assert headers["Authorization"] == "Bearer s3cret"
    assert json.loads(body)["eventType"] == "START"


def test_http_transport_with_unset_api_key_variable_is_an_error(tmp_path: Path) -> None:
    platform = _platform({"type": "http", "url": "http://127.0.0.1:9", "api_key_env": "MISSING_KEY"})
    with pytest.raises(TelemetryConfigError, match="MISSING_KEY"):
        build_lineage_client(_spec(), platform, tmp_path, env={})


def test_standard_openlineage_url_is_used_without_touching_environ(
    tmp_path: Path, http_endpoint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", http_endpoint.url)
    before = dict(os.environ)
    client = build_lineage_client(_spec(), _platform(), tmp_path)
    assert client is not None
    client.emit(_event())
    assert http_endpoint.recorded.event.wait(10)  # HttpTransport.emit posts before it returns (no close() before 1.36)
    assert http_endpoint.recorded.requests[0][0] == "/api/v1/lineage"
    assert dict(os.environ) == before
    assert not (tmp_path / ".floe").exists()


def test_openlineage_config_file_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "from-config.jsonl"
    config = tmp_path / "openlineage.yml"
    config.write_text(f"transport:\n  type: file\n  log_file_path: {target}\n  append: true\n")
    monkeypatch.setenv("OPENLINEAGE_CONFIG", str(config))
    client = build_lineage_client(_spec(), _platform(), tmp_path)
    assert client is not None
    client.emit(_event())
    assert target.read_text().count("\n") == 1


def _lineage_settings(**lineage: object) -> PlatformSpec:
    return PlatformSpec.model_validate({"lineage": lineage})


def test_the_job_namespace_is_platform_yamls_when_written_there() -> None:
    platform = _lineage_settings(namespace="analytics")
    assert lineage_namespace(platform, {"OPENLINEAGE_NAMESPACE": "dbt"}) == "analytics"


def test_the_job_namespace_is_dbt_ols_setting_when_platform_yaml_names_none() -> None:
    assert lineage_namespace(_lineage_settings(), {"OPENLINEAGE_NAMESPACE": "dbt"}) == "dbt"


def test_the_job_namespace_defaults_to_floe() -> None:
    assert lineage_namespace(_lineage_settings(), {}) == "floe"


def test_floes_old_job_names_keep_floes_namespace_and_ignore_dbt_ols_setting() -> None:
    platform = _lineage_settings(dbt_job_names="floe")
    assert lineage_namespace(platform, {"OPENLINEAGE_NAMESPACE": "dbt"}) == "floe"
