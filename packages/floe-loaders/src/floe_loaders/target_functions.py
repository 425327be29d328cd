"""Import the Python function an ops job or custom sensor calls — only from the project's own packages.

floe.yaml values can come from environment variables, so ``target_function`` is a security boundary: a value
such as ``os:system`` must never be imported and called. Allowed are:

- relative references (``.assets.ops:vacuum``), which must resolve to a file under the floe.yaml directory;
- absolute references whose top-level package is the top-level package of an ``asset_modules`` entry, or is
  listed in ``allowed_function_packages``.

The check happens before anything is imported, and again on the function found: its ``__module__`` must also
belong to an allowed package, so ``.assets.ops:system`` does not reach ``os.system`` through a re-export.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

from floe_config.integration import OrchestrationConfig, did_you_mean
from floe_loaders.errors import AssetModuleImportError, AssetModuleNotFoundError, TargetFunctionError
from floe_loaders.locations import Locate, config_path, default_locate
from floe_loaders.project_imports import import_project_module, is_relative, top_level_package


def allowed_packages(orchestration: OrchestrationConfig) -> frozenset[str]:
    """Return the top-level packages target functions may come from.

    Args:
        orchestration: floe.yaml's orchestration section.

    Returns:
        Top-level package names of ``asset_modules`` plus ``allowed_function_packages``.
    """
    return frozenset(
        {top_level_package(module) for module in orchestration.asset_modules}
        | {package.strip(".").split(".", 1)[0] for package in orchestration.allowed_function_packages}
    )


def import_target_function(
    reference: str,
    orchestration: OrchestrationConfig,
    base_dir: Path,
    *,
    entry_path: str,
    locate: Locate = default_locate,
) -> Callable[..., Any]:
    """Import ``module:function`` if it lies inside the import boundary.

    Args:
        reference: ``package.module:function`` (a leading dot is relative to ``base_dir``).
        orchestration: floe.yaml's orchestration section (for the allow-list).
        base_dir: The directory holding floe.yaml.
        entry_path: Dotted floe.yaml path of the job or sensor whose ``target_function`` this is.
        locate: Dotted floe.yaml path -> location prefix.

    Returns:
        The function.

    Raises:
        TargetFunctionError: The reference is outside the boundary, or the module/function cannot be loaded.
    """
    path = config_path(entry_path, "target_function")
    module_path, _, function_name = reference.partition(":")
    allowed = allowed_packages(orchestration)
    top = top_level_package(module_path)
    if not is_relative(module_path) and top not in allowed:
        raise TargetFunctionError(
            path,
            f"target function {reference!r} is outside the project: package {top!r} is not one of the "
            f"project's packages ({', '.join(sorted(allowed)) or 'none'})",
            "Point it at a function in the project (e.g. '.assets.ops:my_function'), or add the package to "
            "orchestration.allowed_function_packages if it is really meant to be callable from floe.yaml",
            locate=locate,
        )
    try:
        module = import_project_module(module_path, base_dir, path=path, locate=locate)
    except (AssetModuleNotFoundError, AssetModuleImportError) as exc:
        raise TargetFunctionError(
            path, f"cannot load target function {reference!r}: {exc.what}", exc.fix, locate=locate
        ) from exc
    function = getattr(module, function_name, None)
    if function is None or not callable(function):
        functions = sorted(
            name
            for name, value in vars(module).items()
            if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_")
        )
        hint = did_you_mean(function_name, functions) or (
            f" (its functions: {', '.join(functions)})" if functions else " (it defines no function)"
        )
        raise TargetFunctionError(
            path,
            f"module {module.__name__!r} has no function {function_name!r}{hint}",
            "Define the function there or correct the name after the colon",
            locate=locate,
        )
    owner = str(getattr(function, "__module__", "") or "").split(".", 1)[0]
    if owner not in allowed | {top}:
        raise TargetFunctionError(
            path,
            f"{reference!r} resolves to {owner or 'a built-in'}.{function_name}, a function from outside the project",
            "Call a function defined in the project's own packages; wrap the library call in one if needed",
            locate=locate,
        )
    return function  # type: ignore[no-any-return]
