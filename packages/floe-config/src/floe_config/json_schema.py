"""The JSON Schemas of floe.yaml and platform.yaml, for editors' YAML language servers and CI checks.

Each is pydantic's schema of ``FloeSpec`` (``PlatformSpec``) with one change: wherever a boolean, number or choice
is expected, a string holding ``${...}`` is accepted too, since interpolation happens before validation
(``enabled: ${SCHEDULES_ON:true}``).
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from floe_config.base import FloeModel
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
    return _model_json_schema(FloeSpec)


def render_floe_json_schema() -> str:
    """Return the JSON Schema of floe.yaml as the text committed in ``floe.schema.json``."""
    return json.dumps(floe_json_schema(), indent=2, ensure_ascii=False) + "\n"


def platform_json_schema() -> dict[str, Any]:
    """Return the JSON Schema of platform.yaml as a dict."""
    from floe_config.platform_spec import PlatformSpec

    return _model_json_schema(PlatformSpec)


def render_platform_json_schema() -> str:
    """Return the JSON Schema of platform.yaml as the text committed in ``platform.schema.json``."""
    return json.dumps(platform_json_schema(), indent=2, ensure_ascii=False) + "\n"


def _model_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    _add_field_docstrings(schema, model)
    return {"$schema": JSON_SCHEMA_DIALECT, **_allow_interpolation(schema)}


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


def _add_field_docstrings(schema: dict[str, Any], root: type[BaseModel]) -> None:
    """Set each property's description from the docstring written under its field, as Sphinx and IDEs read it."""
    docs = _field_docstrings()
    targets: list[tuple[str, dict[str, Any]]] = [(root.__name__, schema)]
    targets += list(schema.get("$defs", {}).items())
    for name, definition in targets:
        for field, prop in definition.get("properties", {}).items():
            doc = docs.get(name, {}).get(field)
            if doc and isinstance(prop, dict) and "description" not in prop:
                prop["description"] = doc


def _field_docstrings() -> dict[str, dict[str, str]]:
    """Map each floe model class name to its fields' docstrings, inherited ones included."""
    sources: dict[str, dict[str, dict[str, str]]] = {}
    result: dict[str, dict[str, str]] = {}
    pending: list[type[BaseModel]] = [FloeModel]
    models: list[type[BaseModel]] = []
    while pending:
        model = pending.pop()
        models.append(model)
        pending.extend(model.__subclasses__())
    for model in models:
        merged: dict[str, str] = {}
        for klass in reversed(model.__mro__):
            module = sys.modules.get(klass.__module__)
            if module is None or not klass.__module__.startswith("floe_config") or module.__file__ is None:
                continue
            if module.__name__ not in sources:
                sources[module.__name__] = _module_docstrings(Path(module.__file__))
            merged.update(sources[module.__name__].get(klass.__name__, {}))
        result[model.__name__] = merged
    return result


def _module_docstrings(path: Path) -> dict[str, dict[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields: dict[str, str] = {}
        for statement, following in zip(node.body, node.body[1:], strict=False):
            if (
                isinstance(statement, ast.AnnAssign)
                and isinstance(statement.target, ast.Name)
                and isinstance(following, ast.Expr)
                and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)
            ):
                fields[statement.target.id] = " ".join(following.value.value.split())
        found[node.name] = fields
    return found
