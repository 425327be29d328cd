"""The dbt project of floe.yaml as per-model observed assets, through floe-dbt-observe.

Paths resolve against floe.yaml's directory (platform.yaml's ``dbt.profiles_dir`` and ``dbt.executable`` against the
platform file's),
``dbt parse`` runs with an absolute ``--project-dir`` when the manifest is missing, and each model's partitions,
backfill policy and automation condition come from floe.yaml's asset patterns (resolved by floe-loaders), so
models with different settings land in different ``AssetsDefinition``s.
"""

from __future__ import annotations

import os
import shlex
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any, Literal

import dagster as dg
from dagster_dbt import DbtCliResource
from openlineage.client import OpenLineageClient
from opentelemetry.trace import TracerProvider

from floe_config import PlatformSpec
from floe_config.integration import DbtConfig, OrchestrationConfig, did_you_mean
from floe_dbt_observe import (
    DbtAssetSettings,
    DbtCliOptions,
    DbtObserveError,
    DefinitionOptions,
    FloeDbtTranslator,
    ObservabilityOptions,
    build_dbt_assets,
)
from floe_dbt_observe.integration import (
    ApplicationHooks,
    build_dbt_resource,
    dataset_namespace,
    dbt_core_version,
    dbt_has_spans,
    detect_dbt_engine,
    find_dbt_executable,
    load_or_parse_manifest,
    manifest_adapter_type,
    parse_command,
)
from floe_definitions.errors import DefinitionsLoadError
from floe_definitions.telemetry.run_trace import pinned_span_id
from floe_definitions.telemetry.span_delivery import flush_spans
from floe_loaders.integration import build_automation_condition, build_backfill_policy, resolve_asset_settings

DBT_RESOURCE_KEY = "dbt"
"""Resource key of the ``DbtCliResource`` floe provides; overriding it also changes what the dbt assets run."""


@dataclass(frozen=True)
class DbtProject:
    """Where floe.yaml's dbt project lives, resolved to absolute paths.

    Attributes:
        project_dir: The dbt project directory.
        manifest_path: The manifest file (parsed when missing).
        profiles_dir: Directory of profiles.yml, or ``None`` for dbt's default.
        target: dbt target, or ``None`` for the profile's default.
        invocation: How dbt steps run dbt (platform.yaml ``dbt.invocation``): ``subprocess`` or ``in_process``.
        executable: The ``dbt`` steps run and parse with (platform.yaml ``dbt.executable``), absolute; ``None`` for
            the one beside this Python, then ``PATH``.
    """

    project_dir: Path
    manifest_path: Path
    profiles_dir: Path | None
    target: str | None
    invocation: Literal["subprocess", "in_process"] = "subprocess"
    executable: str | None = None


def resolve_dbt_project(
    config: DbtConfig, platform: PlatformSpec, base_dir: Path, platform_dir: Path | None
) -> DbtProject:
    """Resolve floe.yaml's and platform.yaml's dbt settings to absolute paths.

    Args:
        config: floe.yaml ``orchestration.dbt``.
        platform: The platform (``dbt.profiles_dir`` and ``dbt.target`` win over floe.yaml's).
        base_dir: floe.yaml's directory.
        platform_dir: The platform file's directory (``None`` for the embedded defaults).

    Returns:
        The resolved project.

    Raises:
        DefinitionsLoadError: A directory does not exist, ``project_dir`` has no ``dbt_project.yml``,
            ``dbt.executable`` is not an executable dbt, or ``dbt.invocation: in_process`` meets dbt Fusion (the error
            carries the key; the caller adds the file location).
    """
    project_dir = _absolute(base_dir, config.project_dir)
    _require_directory(project_dir, config.project_dir, "orchestration.dbt.project_dir")
    if not (project_dir / "dbt_project.yml").is_file():
        raise DefinitionsLoadError(
            f"directory {config.project_dir!r} is not a dbt project: it has no dbt_project.yml"
            f"{_sibling_hint(project_dir, config.project_dir, dbt_projects_only=True)}; point project_dir at the "
            "directory holding dbt_project.yml",
            key="orchestration.dbt.project_dir",
        )
    manifest = _absolute(base_dir, config.resolved_manifest_path)
    profiles_dir: Path | None = None
    if platform.dbt.profiles_dir is not None:
        profiles_dir = _absolute(platform_dir or base_dir, platform.dbt.profiles_dir)
        _require_directory(profiles_dir, platform.dbt.profiles_dir, "dbt.profiles_dir")
    elif config.profiles_dir is not None:
        profiles_dir = _absolute(base_dir, config.profiles_dir)
        _require_directory(profiles_dir, config.profiles_dir, "orchestration.dbt.profiles_dir")
    elif (project_dir / "profiles.yml").is_file():
        profiles_dir = project_dir
    if platform.dbt.spans and not dbt_has_spans():
        raise DefinitionsLoadError(
            f"true needs dbt-core 1.12 or later (dbt's own spans), and dbt-core {dbt_core_version()} is installed; "
            "upgrade dbt-core (pip install 'dbt-core>=1.12,<1.13') or set it to false",
            key="dbt.spans",
        )
    executable = (
        _resolve_executable(platform_dir or base_dir, platform.dbt.executable)
        if platform.dbt.executable is not None
        else None
    )
    if platform.dbt.invocation == "in_process":
        _refuse_in_process_fusion(executable)
    return DbtProject(
        project_dir,
        manifest,
        profiles_dir,
        platform.dbt.target or config.target,
        invocation=platform.dbt.invocation,
        executable=executable,
    )


_EXECUTABLE_FIX = (
    "point dbt.executable at a dbt-core or dbt Fusion `dbt` (e.g. a venv's bin/dbt; a relative path starts from the "
    "platform file's directory), or remove it to use the dbt beside this Python"
)


def _resolve_executable(base: Path, written: str) -> str:
    """Return platform.yaml's ``dbt.executable`` as an absolute path, or raise a located-by-key error."""
    if os.sep not in written and "/" not in written and not written.startswith("~"):
        found = shutil.which(written)
        if found is None:
            raise DefinitionsLoadError(
                f"dbt executable {written!r} is not on PATH; {_EXECUTABLE_FIX}", key="dbt.executable"
            )
        return str(Path(found).absolute())
    candidate = Path(written).expanduser()
    path = Path(os.path.normpath(candidate if candidate.is_absolute() else base / candidate))
    if not path.exists():
        raise DefinitionsLoadError(
            f"dbt executable {written!r} does not exist ({path}); {_EXECUTABLE_FIX}", key="dbt.executable"
        )
    if not path.is_file() or not os.access(path, os.X_OK):
        what = "a directory" if path.is_dir() else "not executable"
        raise DefinitionsLoadError(
            f"dbt executable {written!r} is {what} ({path}); {_EXECUTABLE_FIX}", key="dbt.executable"
        )
    return str(path)


def _refuse_in_process_fusion(executable: str | None) -> None:
    """Raise a located error when ``dbt.invocation: in_process`` would run with dbt Fusion's executable."""
    try:
        path = find_dbt_executable(executable)
        engine = detect_dbt_engine(path)
    except DbtObserveError as exc:
        if executable is None:
            return  # no dbt at all: building the dbt resource says so, located at orchestration.dbt
        raise DefinitionsLoadError(str(exc), key="dbt.executable") from exc
    if engine.is_fusion:
        raise DefinitionsLoadError(
            f"dbt.invocation is 'in_process', but the dbt executable {path} is dbt Fusion {engine.version}, which "
            "runs only as a subprocess (in-process runs are dbt-core's dbtRunner); set dbt.invocation: subprocess, "
            "or point dbt.executable at dbt-core's `dbt`",
            key="dbt.invocation",
        )


def _require_directory(path: Path, written: str, key: str) -> None:
    """Raise a located-by-key error when a configured directory does not exist (or is a file)."""
    if path.is_dir():
        return
    what = "is a file, not a directory" if path.exists() else "does not exist"
    raise DefinitionsLoadError(
        f"directory {written!r} {what}{_sibling_hint(path, written)}; a relative path starts from the directory "
        "of the file that sets it",
        key=key,
    )


def _sibling_hint(path: Path, written: str, *, dbt_projects_only: bool = False) -> str:
    """Suggest the sibling directory the user probably meant, written the way they wrote the path."""
    parent = path.parent
    if not parent.is_dir():
        return ""
    siblings = sorted(
        entry.name
        for entry in parent.iterdir()
        if entry.is_dir()
        and not entry.name.startswith(".")
        and entry != path
        and (not dbt_projects_only or (entry / "dbt_project.yml").is_file())
    )
    hint = did_you_mean(path.name, siblings)
    if not hint and dbt_projects_only and len(siblings) == 1:
        hint = f" (did you mean {siblings[0]!r}?)"
    if not hint:
        return ""
    prefix = written.rstrip("/\\")[: -len(path.name)] if written.rstrip("/\\").endswith(path.name) else ""
    return hint.replace(" (did you mean '", f" (did you mean '{prefix}", 1)


def load_manifest(project: DbtProject) -> dict[str, Any]:
    """Read the manifest, running ``dbt parse --project-dir <absolute dir>`` first when it is missing.

    Raises:
        floe_dbt_observe.DbtObserveError: The project or manifest is unusable, or ``dbt parse`` failed.
    """
    manifest, _ = load_or_parse_manifest(
        project.project_dir,
        manifest=project.manifest_path,
        dbt_executable=find_dbt_executable(project.executable),
        profiles_dir=project.profiles_dir,
        target=project.target,
    )
    return manifest


def parse_command_line(project: DbtProject) -> str:
    """The ``dbt parse`` command a user runs to parse the project as floe does (same profiles dir and target).

    A parse with another target leaves a ``partial_parse.msgpack`` that every run's dbt rejects, paying a full parse.
    """
    return shlex.join(parse_command("dbt", project.project_dir, project.profiles_dir, project.target))


def warehouse_namespace(project: DbtProject, manifest: Mapping[str, Any]) -> tuple[str, Callable[[], str]]:
    """Return the dbt warehouse's adapter type and its OpenLineage namespace (dbt-ol's), read when first called.

    The namespace comes from the dbt profile the project runs with (``postgres://host:port``, ``duckdb://<path as
    the profile writes it>``; ``<adapter>://<database>`` from the manifest only when the profile cannot be read),
    through the function floe-dbt-observe names a dbt step's datasets with, so a Python asset's warehouse table
    and the dbt source reading it are one dataset. Reading a profile imports dbt's config machinery (about a
    second), so it is read only when a run names a warehouse table, once per process.
    """
    adapter = manifest_adapter_type(manifest)

    @cache
    def namespace() -> str:
        return dataset_namespace(
            project.project_dir, manifest, profiles_dir=project.profiles_dir, profile=None, target=project.target
        )

    return adapter, namespace


def build_dbt_resource_for(project: DbtProject) -> DbtCliResource:
    """Return the ``DbtCliResource`` for the project (platform.yaml's ``dbt.executable``, else the venv's dbt)."""
    return build_dbt_resource(
        project.project_dir, profiles_dir=project.profiles_dir, target=project.target, dbt_executable=project.executable
    )


def build_floe_dbt_assets(
    config: DbtConfig,
    project: DbtProject,
    manifest: Mapping[str, Any],
    orchestration: OrchestrationConfig,
    partitions: Mapping[str, dg.PartitionsDefinition],
    *,
    tracer_provider: TracerProvider | None,
    lineage: OpenLineageClient | None,
    lineage_namespace: str,
    lineage_job_names: Literal["dbt_ol", "floe"],
    dbt: DbtCliResource,
    dbt_spans: bool = False,
    query_comment: bool = True,
    dbt_span_export: Mapping[str, Any] | None = None,
) -> list[dg.AssetsDefinition]:
    """Build the dbt assets with per-model observability and pattern-resolved settings.

    Each dbt step names its datasets from the dbt profile it runs with, as dbt-ol does (floe-dbt-observe's
    default, given no ``dataset_namespace``): the same namespace :func:`warehouse_namespace` gives Python assets.
    ``dbt_spans`` and ``query_comment`` are platform.yaml's ``dbt.spans`` / ``dbt.query_comment``; a dbt subprocess
    exports dbt's spans with ``dbt_span_export`` (``telemetry.dbt_span_export``).

    Raises:
        floe_dbt_observe.DbtObserveError: The selection matches nothing or the settings are unusable.
    """

    def settings(key: dg.AssetKey, _node: Mapping[str, Any]) -> DbtAssetSettings | None:
        resolved = resolve_asset_settings(key, orchestration)
        if resolved.is_empty:
            return None
        return DbtAssetSettings(
            partitions_def=partitions.get(resolved.partitions) if resolved.partitions else None,
            backfill_policy=build_backfill_policy(resolved.backfill_policy) if resolved.backfill_policy else None,
            automation_condition=(
                build_automation_condition(resolved.automation_condition) if resolved.automation_condition else None
            ),
        )

    translator = FloeDbtTranslator(
        folder_groups=config.group_by_folder or None,
        source_key_prefix=config.source_asset_prefix or None,
    )
    return build_dbt_assets(
        project.project_dir,
        manifest=manifest,
        select=config.select,
        exclude=config.exclude,
        translator=translator,
        tracer_provider=tracer_provider,
        lineage=lineage,
        dbt=DbtCliOptions(
            profiles_dir=project.profiles_dir, target=project.target, resource=dbt, invocation=project.invocation
        ),
        definitions=DefinitionOptions(asset_settings=settings),
        observability=ObservabilityOptions(
            level=config.observability_level,
            lineage_namespace=lineage_namespace,
            lineage_job_names=lineage_job_names,
            dbt_spans=dbt_spans and tracer_provider is not None,
            query_comment=query_comment and tracer_provider is not None,
        ),
        hooks=ApplicationHooks(
            # floe's executor opens each step's span with the ids dbt node spans use as their parent
            executor_step_spans=tracer_provider is not None,
            # floe-dbt-observe never flushes the SDK provider: floe's bounded, counting flush runs at each step's end
            span_flush=partial(_flush_step_spans, tracer_provider) if tracer_provider is not None else None,
            # floe's RunIdGenerator gives each node span the id dbt's query comments name and dbt's node spans hang on
            pin_span_id=pinned_span_id if tracer_provider is not None else None,
            dbt_span_export=dbt_span_export,
        ),
    )


def _flush_step_spans(provider: TracerProvider, trace_id: int, timeout_seconds: float) -> str | None:
    """Flush the step process's spans (bounded) and return the warning for those of the step's trace not delivered."""
    return flush_spans(provider, timeout_seconds, trace_id=trace_id).problem()


def _absolute(base: Path, path: str) -> Path:
    candidate = Path(path).expanduser()
    return (candidate if candidate.is_absolute() else base / candidate).resolve()
