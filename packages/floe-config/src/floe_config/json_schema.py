"""The JSON Schema of floe.yaml, for editors' YAML language servers and CI checks.

It is pydantic's schema of ``FloeSpec`` with one change: wherever a boolean, number or choice is expected, a string
holding ``${...}`` is accepted too, since interpolation happens before validation (``enabled: ${SCHEDULES_ON:true}``).
"""

from __future__ import annotations

import json
from typing import Any

from floe_config.floe_spec import FloeSpec

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
"""The JSON Schema dialect pydantic generates."""

_INTERPOLATED = {
    "type": "string",
    "pattern": r"\$\{[^}]+\}",
    "description": "A ${VAR} or ${VAR:default} reference.",
}


def floe_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of floe.yaml as a dict."""
    schema = FloeSpec.model_json_schema()
    schema = {"$schema": JSON_SCHEMA_DIALECT, **_allow_interpolation(schema)}
    return schema


def render_floe_json_schema() -> str:
    """Return the JSON Schema of floe.yaml as the text committed in ``floe.schema.json``."""
    return json.dumps(floe_json_schema(), indent=2, ensure_ascii=False) + "\n"


def _allow_interpolation(node: Any, property_name: str = "") -> Any:
    if isinstance(node, list):
        return [_allow_interpolation(item) for item in node]
    if not isinstance(node, dict):
        return node
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties" and isinstance(value, dict):
            result[key] = {name: _allow_interpolation(sub, name) for name, sub in value.items()}
        else:
            result[key] = _allow_interpolation(value)
    interpolable = result.get("type") in ("boolean", "integer", "number") or (
        "enum" in result and property_name != "type"
    )
    if not interpolable:
        return result
    annotations = {key: result.pop(key) for key in ("title", "description", "default", "examples") if key in result}
    return {**annotations, "anyOf": [result, _INTERPOLATED]}
