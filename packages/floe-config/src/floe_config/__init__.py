"""floe.yaml and platform.yaml: schema, ``${VAR:default}`` interpolation, located errors, CLI.

This package has no Dagster, dbt, OpenTelemetry or OpenLineage dependency, so validation tooling
(editors, CI checks) installs only it.

``__all__`` is what a user calls: the loaders (``load_floe_spec``, ``load_platform_spec``, ``compile_artifacts``),
the models they return (``FloeSpec``, ``PlatformSpec``, ``CompiledArtifacts``) and the errors (``ConfigError``
under the root ``FloeConfigError``). Every other model and helper is imported from its module
(``floe_config.jobs.BatchJob``, ``floe_config.platform_spec.OtlpTracing``, ``floe_config.interpolation``, ...);
floe's sibling packages import them through one module, ``floe_config.integration``, their contract.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from floe_config.errors import ConfigError, FloeConfigError

if TYPE_CHECKING:
    from floe_config.compiled_artifacts import CompiledArtifacts, compile_artifacts
    from floe_config.floe_loading import load_floe_spec
    from floe_config.floe_spec import FloeSpec
    from floe_config.platform_loading import load_platform_spec
    from floe_config.platform_spec import PlatformSpec

# The models and loaders load on first use: importing a submodule (``floe_config.errors``, ``floe_config.cli``)
# runs this file first, and should not build every model; `floe-config validate` without a platform file never
# builds the platform models at all (the command's whole run is only a few times `import pydantic`).
_LAZY_MODULES: dict[str, str] = {
    "FloeSpec": "floe_config.floe_spec",
    "load_floe_spec": "floe_config.floe_loading",
    "PlatformSpec": "floe_config.platform_spec",
    "load_platform_spec": "floe_config.platform_loading",
    "CompiledArtifacts": "floe_config.compiled_artifacts",
    "compile_artifacts": "floe_config.compiled_artifacts",
}


def __getattr__(name: str) -> Any:
    module = _LAZY_MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'floe_config' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "CompiledArtifacts",
    "ConfigError",
    "FloeConfigError",
    "FloeSpec",
    "PlatformSpec",
    "compile_artifacts",
    "load_floe_spec",
    "load_platform_spec",
]
