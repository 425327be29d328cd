"""One call from a floe.yaml spec to every Dagster object of its orchestration section.

``build_orchestration`` is what floe-definitions uses: load the asset modules, add the assets it built elsewhere
(dbt), apply the asset patterns, then build jobs, schedules and sensors, and collect every warning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from floe_config import FloeSpec
from floe_config.integration import OrchestrationConfig
from floe_loaders.asset_patterns import apply_asset_patterns
from floe_loaders.backfills import backfill_partition_keys
from floe_loaders.discovery import AssetObject, JobObject, ScheduleObject, asset_keys_of, load_asset_modules
from floe_loaders.errors import BackfillError, DuplicateDefinitionError, FloeLoaderError, UnknownReferenceError
from floe_loaders.jobs import BuiltJobs, build_jobs
from floe_loaders.locations import LoaderWarning, Locate, config_path, default_locate, make_warning
from floe_loaders.partitions import build_partitions
from floe_loaders.schedules import build_schedules
from floe_loaders.sensors import build_sensors


@dataclass(frozen=True)
class OrchestrationObjects:
    """Every Dagster object floe.yaml's orchestration section yields, plus the warnings to show."""

    assets: tuple[AssetObject, ...] = ()
    """Assets (module assets and extra assets) with the patterns applied."""
    asset_checks: tuple[dg.AssetChecksDefinition, ...] = ()
    """Asset checks defined apart from their assets."""
    jobs: tuple[JobObject, ...] = ()
    """floe.yaml's jobs and the modules' own."""
    schedules: tuple[ScheduleObject, ...] = ()
    """floe.yaml's schedules and the modules' own."""
    sensors: tuple[dg.SensorDefinition, ...] = ()
    """floe.yaml's sensors and the modules' own."""
    partitions: dict[str, dg.PartitionsDefinition] = field(default_factory=dict)
    """floe.yaml's partitions definitions by name."""
    warnings: tuple[LoaderWarning, ...] = ()
    """Located warnings (patterns matching nothing, automation condition + schedule, ...)."""

    def definitions_args(self) -> dict[str, Any]:
        """Return keyword arguments for ``dagster.Definitions`` (add resources, executor... on top).

        Returns:
            ``assets``, ``asset_checks``, ``jobs``, ``schedules`` and ``sensors``.
        """
        return {
            "assets": list(self.assets),
            "asset_checks": list(self.asset_checks),
            "jobs": list(self.jobs),
            "schedules": list(self.schedules),
            "sensors": list(self.sensors),
        }


def build_orchestration(
    spec: FloeSpec | OrchestrationConfig,
    base_dir: Path,
    *,
    extra_assets: Sequence[AssetObject] = (),
    locate: Locate = default_locate,
) -> OrchestrationObjects:
    """Build every Dagster object of floe.yaml's orchestration section.

    Args:
        spec: The floe.yaml spec (or just its orchestration section).
        base_dir: The directory holding floe.yaml.
        extra_assets: Assets built elsewhere (the dbt project's), treated like module assets.
        locate: Dotted floe.yaml path -> location prefix.

    Returns:
        The objects and warnings.

    Raises:
        FloeLoaderError: Any loading problem, located in floe.yaml (see the subclasses in ``floe_loaders.errors``).
    """
    orchestration = spec.orchestration if isinstance(spec, FloeSpec) else spec
    base_dir = Path(base_dir).resolve()
    partitions = build_partitions(orchestration, locate=locate)
    loaded = load_asset_modules(orchestration.asset_modules, base_dir, locate=locate)
    _check_extra_assets(loaded.module_by_asset_key, extra_assets, locate)
    assets, warnings = apply_asset_patterns([*loaded.assets, *extra_assets], orchestration, partitions, locate=locate)
    asset_graph = _asset_graph(assets, loaded.asset_checks, locate)
    built = build_jobs(orchestration, asset_graph, partitions, base_dir, module_jobs=loaded.jobs, locate=locate)
    assets, backfill_warnings = _apply_backfill_batch_sizes(assets, orchestration, built, locate)
    warnings.extend(backfill_warnings)
    schedules = build_schedules(
        orchestration,
        built.jobs,
        job_partitions=built.partitions,
        existing_names=frozenset(schedule.name for schedule in loaded.schedules),
        locate=locate,
    )
    sensors = build_sensors(
        orchestration,
        built.jobs,
        [key for obj in assets for key in asset_keys_of(obj)],
        base_dir,
        job_partitions=built.partitions,
        ops_op_names=built.ops_op_names,
        existing_names=frozenset(sensor.name for sensor in loaded.sensors),
        locate=locate,
    )
    warnings.extend(_automation_and_schedule_warnings(assets, orchestration, built, locate))
    return OrchestrationObjects(
        assets=tuple(assets),
        asset_checks=loaded.asset_checks,
        jobs=tuple(built.jobs.values()),
        schedules=(*loaded.schedules, *schedules.values()),
        sensors=(*loaded.sensors, *sensors.values()),
        partitions=partitions,
        warnings=tuple(warnings),
    )


def _check_extra_assets(
    module_by_key: dict[dg.AssetKey, str], extra_assets: Sequence[AssetObject], locate: Locate
) -> None:
    for obj in extra_assets:
        for key in asset_keys_of(obj):
            module = module_by_key.get(key)
            if module is not None:
                raise DuplicateDefinitionError(
                    "orchestration.asset_modules",
                    f"asset key {key.to_user_string()!r} is defined in module {module!r} and again by the assets "
                    "floe builds itself (e.g. a dbt model of the same name)",
                    "Rename the Python asset (or give it a key_prefix), or rename the dbt model",
                    locate=locate,
                )


def _asset_graph(assets: Sequence[AssetObject], checks: Sequence[dg.AssetChecksDefinition], locate: Locate) -> Any:
    try:
        return dg.Definitions(assets=list(assets), asset_checks=list(checks)).resolve_asset_graph()
    except Exception as exc:
        raise FloeLoaderError(
            "orchestration.asset_modules",
            f"Dagster rejects the assets as a whole: {exc}",
            "Fix the asset definitions Dagster names",
            locate=locate,
        ) from exc


def _apply_backfill_batch_sizes(
    assets: Sequence[AssetObject], orchestration: OrchestrationConfig, built: BuiltJobs, locate: Locate
) -> tuple[list[AssetObject], list[LoaderWarning]]:
    """Give the assets of each backfilled job ``multi_run(batch_size)`` unless they already have a policy."""
    warnings: list[LoaderWarning] = []
    wanted: dict[dg.AssetKey, tuple[int, str]] = {}
    for name, config in orchestration.backfills.items():
        path = config_path("orchestration", "backfills", name)
        if config.job not in built.jobs:
            raise UnknownReferenceError(
                config_path(path, "job"),
                f"unknown job {config.job!r} (known: {', '.join(sorted(built.jobs)) or 'none'})",
                "Name a batch job of orchestration.jobs",
                locate=locate,
            )
        keys = built.selected_keys.get(config.job)
        partitions_def = built.partitions.get(config.job)
        if keys is None or partitions_def is None:
            raise BackfillError(
                config_path(path, "job"),
                f"job {config.job!r} is not a partitioned batch job, so it has nothing to backfill",
                "Backfill a batch job whose assets have partitions",
                locate=locate,
            )
        try:
            backfill_partition_keys(
                partitions_def,
                config.partition_range.start,
                config.partition_range.end,
                path=path,
                locate=locate,
            )
        except BackfillError:
            raise
        except Exception:  # dynamic partitions: only the instance knows the keys; checked at launch
            pass
        for key in keys:
            wanted.setdefault(key, (config.batch_size, path))
    result: list[AssetObject] = []
    for obj in assets:
        if not isinstance(obj, dg.AssetsDefinition) or not obj.is_executable:
            result.append(obj)
            continue
        hits = [wanted[key] for key in obj.keys if key in wanted]
        if not hits:
            result.append(obj)
            continue
        batch_size, path = hits[0]
        policy = dg.BackfillPolicy.multi_run(batch_size)
        if obj.backfill_policy is None:
            result.append(obj.with_attributes(backfill_policy=policy))
            continue
        if obj.backfill_policy != policy:
            listed = ", ".join(key.to_user_string() for key in obj.keys)
            warnings.append(
                make_warning(
                    config_path(path, "batch_size"),
                    f"assets {listed} already have backfill policy {obj.backfill_policy}; it decides how their "
                    f"partitions are split into runs, not batch_size {batch_size}",
                    locate,
                )
            )
        result.append(obj)
    return result, warnings


def _automation_and_schedule_warnings(
    assets: Sequence[AssetObject], orchestration: OrchestrationConfig, built: BuiltJobs, locate: Locate
) -> list[LoaderWarning]:
    automated = {
        spec.key
        for obj in assets
        if isinstance(obj, dg.AssetsDefinition)
        for spec in obj.specs
        if spec.automation_condition is not None
    }
    warnings = []
    for name, config in orchestration.schedules.items():
        overlap = sorted(built.selected_keys.get(config.job, frozenset()) & automated)
        if overlap:
            listed = ", ".join(key.to_user_string() for key in overlap)
            warnings.append(
                make_warning(
                    config_path("orchestration", "schedules", name),
                    f"assets {listed} have an automation condition and are also run by this schedule's job "
                    f"{config.job!r}; both stay active and the automation condition decides when they "
                    "materialize on its own; drop one of the two if that is not intended",
                    locate,
                )
            )
    return warnings
