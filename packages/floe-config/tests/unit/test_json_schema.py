"""The committed floe.schema.json is current, and accepts what floe-config accepts."""

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from floe_config.json_schema import render_floe_json_schema, render_platform_json_schema

SCHEMA_FILE = Path(__file__).parents[2] / "floe.schema.json"


@pytest.fixture(scope="module")
def schema() -> dict:
    return json.loads(render_floe_json_schema())


def test_committed_schema_is_not_stale():
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render_floe_json_schema(), (
        "floe.schema.json is stale: run `floe-config schema -o packages/floe-config/floe.schema.json`"
    )


def test_sample_validates_against_the_schema(schema: dict, sample_text: str):
    jsonschema.validate(yaml.safe_load(sample_text), schema)


def test_schema_accepts_interpolated_booleans_and_numbers(schema: dict):
    document = {
        "name": "shop",
        "orchestration": {
            "jobs": {"j": {"type": "batch", "selection": ["a"]}},
            "sensors": {"s": {"type": "file_watcher", "job": "j", "path": "in", "poll_interval_seconds": "${POLL:30}"}},
            "schedules": {"d": {"job": "j", "cron_schedule": "@daily", "enabled": "${ON:true}"}},
        },
    }
    jsonschema.validate(document, schema)


def test_schema_rejects_unknown_keys(schema: dict):
    with pytest.raises(jsonschema.ValidationError, match="shedules"):
        jsonschema.validate({"name": "shop", "orchestration": {"shedules": {}}}, schema)


def test_schema_carries_field_descriptions(schema: dict):
    schedule = schema["$defs"]["ScheduleConfig"]["properties"]
    assert schedule["job"]["description"] == "Name of a job in ``orchestration.jobs``."
    sensor = schema["$defs"]["FileWatcherSensor"]["properties"]
    assert sensor["poll_interval_seconds"]["description"] == "Minimum seconds between two evaluations."


PLATFORM_SCHEMA_FILE = Path(__file__).parents[2] / "platform.schema.json"
DEMO_PLATFORMS = sorted((Path(__file__).parents[4] / "demo" / "platform").glob("*.yaml"))


def test_committed_platform_schema_is_not_stale():
    assert PLATFORM_SCHEMA_FILE.read_text(encoding="utf-8") == render_platform_json_schema(), (
        "platform.schema.json is stale: "
        "run `floe-config schema --platform -o packages/floe-config/platform.schema.json`"
    )


@pytest.mark.parametrize("path", DEMO_PLATFORMS, ids=[path.name for path in DEMO_PLATFORMS])
def test_demo_platform_files_point_at_and_validate_against_the_platform_schema(path: Path):
    text = path.read_text(encoding="utf-8")
    modeline = text.splitlines()[0]
    assert modeline.startswith("# yaml-language-server: $schema=")
    assert (path.parent / modeline.split("=", 1)[1]).resolve() == PLATFORM_SCHEMA_FILE.resolve()
    jsonschema.validate(yaml.safe_load(text), json.loads(render_platform_json_schema()))


def test_platform_schema_rejects_unknown_keys_and_accepts_interpolated_numbers():
    schema = json.loads(render_platform_json_schema())
    with pytest.raises(jsonschema.ValidationError, match="tracng"):
        jsonschema.validate({"environment": "ci", "tracng": {"type": "file"}}, schema)
    jsonschema.validate({"tracing": {"type": "otlp", "timeout_seconds": "${OTLP_TIMEOUT:5}"}}, schema)
    assert schema["properties"]["environment"]["description"]
