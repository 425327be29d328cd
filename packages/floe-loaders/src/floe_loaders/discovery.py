"""Collect every Dagster definition the listed asset modules hold at module scope.

Assets, multi-assets, asset specs, source assets, asset checks, and the jobs, schedules and sensors a module
defines itself (so hand-written Python works beside floe.yaml). Objects are kept as decorated: nothing is
rebuilt, so group, kinds, description, owners, tags and metadata stay exactly as written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TypeAlias, TypeGuard

import dagster as dg

from floe_loaders import _compat
from floe_loaders.errors import DuplicateDefinitionError
from floe_loaders.locations import Locate, config_path, default_locate
from floe_loaders.project_imports import import_project_module

AssetObject: TypeAlias = dg.AssetsDefinition | dg.AssetSpec | dg.SourceAsset
"""Anything that defines asset keys."""
JobObject: TypeAlias = "dg.JobDefinition | _compat.UnresolvedAssetJobDefinition"
"""A job as Dagster's ``Definitions`` accepts it."""
ScheduleObject: TypeAlias = "dg.ScheduleDefinition | _compat.UnresolvedPartitionedAssetScheduleDefinition"
"""A schedule as Dagster's ``Definitions`` accepts it."""

_LOADABLE = (
    dg.AssetsDefinition,
    dg.AssetSpec,
    dg.SourceAsset,
    dg.JobDefinition,
    dg.ScheduleDefinition,
    dg.SensorDefinition,
)


@dataclass(frozen=True)
class LoadedModules:
    """What the asset modules define, deduplicated, in module order."""

    modules: tuple[ModuleType, ...] = ()
    """The imported modules, in floe.yaml order."""
    assets: tuple[AssetObject, ...] = ()
    """Assets, multi-assets, asset specs and source assets."""
    asset_checks: tuple[dg.AssetChecksDefinition, ...] = ()
    """Asset checks defined apart from their assets."""
    jobs: tuple[JobObject, ...] = ()
    """Jobs the modules define themselves."""
    schedules: tuple[ScheduleObject, ...] = ()
    """Schedules the modules define themselves."""
    sensors: tuple[dg.SensorDefinition, ...] = ()
    """Sensors the modules define themselves."""
    module_by_asset_key: dict[dg.AssetKey, str] = field(default_factory=dict)
    """Which module defines each asset key (for messages)."""


def load_asset_modules(
    module_paths: Sequence[str],
    base_dir: Path,
    *,
    locate: Locate = default_locate,
    config_prefix: str = "orchestration.asset_modules",
) -> LoadedModules:
    """Import the asset modules and collect their Dagster definitions.

    Args:
        module_paths: floe.yaml's ``asset_modules`` (``.assets.bronze`` is relative to ``base_dir``).
        base_dir: The directory holding floe.yaml.
        locate: Dotted floe.yaml path -> location prefix.
        config_prefix: Dotted path of the module list in floe.yaml (entries are ``<prefix>.<index>``).

    Returns:
        The collected definitions.

    Raises:
        AssetModuleNotFoundError: A module does not exist.
        AssetModuleImportError: A module has a syntax error or raised while importing.
        DuplicateDefinitionError: Two modules define the same asset key, or the same job/schedule/sensor name.
    """
    modules: list[ModuleType] = []
    entry_paths: list[str] = []
    for index, module_path in enumerate(module_paths):
        entry = config_path(config_prefix, index)
        modules.append(import_project_module(module_path, base_dir, path=entry, locate=locate))
        entry_paths.append(entry)

    seen: dict[int, tuple[object, str, str]] = {}
    for module, entry in zip(modules, entry_paths, strict=True):
        for obj in _module_objects(module):
            seen.setdefault(id(obj), (obj, module.__name__, entry))

    assets: list[AssetObject] = []
    checks: list[dg.AssetChecksDefinition] = []
    jobs: list[JobObject] = []
    schedules: list[ScheduleObject] = []
    sensors: list[dg.SensorDefinition] = []
    owner: dict[dg.AssetKey, tuple[AssetObject, str, str]] = {}
    names: dict[tuple[str, str], tuple[str, str]] = {}
    for obj, module_name, entry in seen.values():
        if isinstance(obj, dg.AssetChecksDefinition) or (isinstance(obj, dg.AssetsDefinition) and not obj.keys):
            checks.append(obj)  # type: ignore[arg-type]
            continue
        if isinstance(obj, dg.AssetsDefinition | dg.AssetSpec | dg.SourceAsset):
            if _register_keys(obj, module_name, entry, owner, locate):
                assets.append(obj)
            continue
        kind, name = _kind_and_name(obj)
        previous = names.get((kind, name))
        if previous is not None:
            raise DuplicateDefinitionError(
                entry,
                f"{kind} {name!r} is defined in module {previous[0]!r} and again in module {module_name!r}",
                f"Rename one of the two {kind}s",
                locate=locate,
            )
        names[(kind, name)] = (module_name, entry)
        if _is_job(obj):
            jobs.append(obj)
        elif _is_schedule(obj):
            schedules.append(obj)
        elif isinstance(obj, dg.SensorDefinition):
            sensors.append(obj)
    return LoadedModules(
        modules=tuple(modules),
        assets=tuple(assets),
        asset_checks=tuple(checks),
        jobs=tuple(jobs),
        schedules=tuple(schedules),
        sensors=tuple(sensors),
        module_by_asset_key={key: module_name for key, (_, module_name, _) in owner.items()},
    )


def asset_keys_of(obj: AssetObject) -> Iterable[dg.AssetKey]:
    """Return the asset keys an asset object defines.

    Args:
        obj: An assets definition, asset spec or source asset.

    Returns:
        Its keys.
    """
    if isinstance(obj, dg.AssetsDefinition):
        return obj.keys
    return [obj.key]


def _is_job(obj: object) -> TypeGuard[JobObject]:
    return isinstance(obj, dg.JobDefinition) or _compat.is_unresolved(obj, "job")


def _is_schedule(obj: object) -> TypeGuard[ScheduleObject]:
    return isinstance(obj, dg.ScheduleDefinition) or _compat.is_unresolved(obj, "schedule")


def _loadable(value: object) -> bool:
    return isinstance(value, _LOADABLE) or _is_job(value) or _is_schedule(value)


def _module_objects(module: ModuleType) -> Iterable[object]:
    for value in list(vars(module).values()):
        if _loadable(value):
            yield value
        # exact types: Dagster records such as a partitions definition subclass tuple but refuse iteration
        elif type(value) in (list, tuple) and value and all(_loadable(item) for item in value):
            yield from value


def _register_keys(
    obj: AssetObject,
    module_name: str,
    entry: str,
    owner: dict[dg.AssetKey, tuple[AssetObject, str, str]],
    locate: Locate,
) -> bool:
    """Record which module owns each key; return False when ``obj`` is an equal duplicate AssetSpec."""
    for key in asset_keys_of(obj):
        previous = owner.get(key)
        if previous is None:
            continue
        previous_obj, previous_module, _ = previous
        if isinstance(obj, dg.AssetSpec) and obj == previous_obj:
            return False
        raise DuplicateDefinitionError(
            entry,
            f"asset key {key.to_user_string()!r} is defined in module {previous_module!r} and again in module "
            f"{module_name!r}",
            "Give one of the two assets another key (or key_prefix), or remove one module from asset_modules",
            locate=locate,
        )
    for key in asset_keys_of(obj):
        owner[key] = (obj, module_name, entry)
    return True


def _kind_and_name(obj: object) -> tuple[str, str]:
    if _is_job(obj):
        return "job", obj.name
    if _is_schedule(obj):
        return "schedule", obj.name
    assert isinstance(obj, dg.SensorDefinition)
    return "sensor", obj.name
