"""The public surface: small ``__all__``s (siblings: the workspace's tests/policy/test_contracts.py)."""

from __future__ import annotations

import importlib

import pytest

import floe_definitions

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
        "load_project",
    },
    "floe_dbt_observe": {
        "DbtAssetSettings",
        "DbtCliOptions",  # build_dbt_assets' options, grouped (its hooks are in floe_dbt_observe.integration)
        "DbtObserveError",
        "DefinitionOptions",
        "FloeDbtTranslator",
        "ObservabilityOptions",
        "build_dbt_assets",
    },
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


def test_the_dead_backfill_error_is_gone() -> None:
    errors = importlib.import_module("floe_definitions.errors")
    assert not hasattr(errors, "BackfillError")
    assert not hasattr(floe_definitions, "BackfillError")
