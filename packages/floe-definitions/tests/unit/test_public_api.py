"""The public surface: small ``__all__``s, and floe-definitions using its siblings only through their public names."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import floe_definitions

SOURCE = Path(floe_definitions.__file__).parent
SIBLINGS = ("floe_dbt_observe", "floe_loaders")
EXPORTS = {
    "floe_config": {
        "CompiledArtifacts",
        "ConfigError",
        "FloeConfigError",
        "FloeSpec",
        "PlatformSpec",
        "compile_artifacts",
        "load_floe_spec",
        "load_platform_spec",
    },
    "floe_definitions": {
        "FloeComponent",  # a dg project's defs.yaml names it as floe_definitions.FloeComponent
        "FloeDefinitions",
        "FloeDefinitionsError",
        "FloeProject",
        "load_compiled_artifacts",
        "load_project",
    },
    "floe_dbt_observe": {"DbtAssetSettings", "DbtObserveError", "FloeDbtTranslator", "build_dbt_assets"},
    "floe_loaders": {
        "FloeLoaderError",
        "OrchestrationObjects",
        "build_orchestration",
        "launch_backfill",
        "load_asset_modules",
    },
}


@pytest.mark.parametrize("package", sorted(EXPORTS))
def test_all_holds_only_what_a_user_calls_and_each_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert set(module.__all__) == EXPORTS[package]
    assert all(getattr(module, name) is not None for name in module.__all__)


def test_floe_definitions_imports_its_siblings_through_public_names_only() -> None:
    offenders = []
    for path in sorted(SOURCE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in SIBLINGS):
                continue
            parts = node.module.split(".")
            for alias in node.names:
                where = f"{path.name}:{node.lineno}: from {node.module} import {alias.name}"
                if len(parts) == 1 and alias.name not in EXPORTS[parts[0]]:
                    offenders.append(where + " (not in the package's __all__)")
                elif any(part.startswith("_") for part in parts[1:]) or alias.name.startswith("_"):
                    offenders.append(where + " (private)")
    assert offenders == []


def test_the_dead_backfill_error_is_gone() -> None:
    errors = importlib.import_module("floe_definitions.errors")
    assert not hasattr(errors, "BackfillError")
    assert not hasattr(floe_definitions, "BackfillError")
