"""Load a floe project: floe.yaml + platform file -> telemetry, dbt assets, orchestration, Dagster definitions.

:func:`load_project` is what the facade, ``floe check`` and ``floe list`` share; it keeps everything they need
(documents with line numbers, the orchestration objects and their warnings, the telemetry) next to the
``dagster.Definitions``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import dagster as dg
import pydantic
from openlineage.client.transport import Transport
from opentelemetry.sdk.trace.export import SpanExporter

from floe_config import FloeSpec, PlatformSpec
from floe_config.integration import (
    DbtConfig,
    PlatformDocument,
    load_floe_document,
    load_platform_document,
    resolve_platform_file,
)
from floe_dbt_observe import DbtObserveError
from floe_dbt_observe.integration import DbtParseError, DbtStepLineage
from floe_definitions.errors import (
    DefinitionsLoadError,
    LocatedError,
    ResourceConflictError,
)
from floe_definitions.execution.executors import build_executor
from floe_definitions.execution.observed_executor import RunTelemetry
from floe_definitions.execution.step_lineage import DatasetNaming
from floe_definitions.execution.warm_steps import WARM_PROJECTS, loads_for_forks
from floe_definitions.project_files import FLOE_YAML, display_path, document_locator, find_floe_yaml
from floe_definitions.telemetry.asset_links import link_python_assets
from floe_definitions.telemetry.lineage_client import build_lineage_client, lineage_namespace
from floe_definitions.telemetry.tracing import build_tracer_provider
from floe_loaders import FloeLoaderError, OrchestrationObjects, build_orchestration
from floe_loaders.integration import Locate, build_partitions


@dataclass(frozen=True)
class FloeProject:
    """A loaded floe project: the Dagster definitions and what they were built from.

    Attributes:
        spec: The validated floe.yaml.
        platform: The validated platform spec.
        base_dir: floe.yaml's directory.
        floe_yaml: floe.yaml's path, when loaded from a file.
        platform_file: The platform file, when one applies.
        orchestration: The loaders' objects (and their warnings).
        definitions: The Dagster definitions.
        telemetry: Where runs' spans and lineage go.
        dbt_asset_keys: Keys of the dbt assets.
        locate: Dotted floe.yaml path -> ``file:line:column``.
        platform_locate: Dotted platform-file path -> ``file:line:column``.
    """

    spec: FloeSpec
    platform: PlatformSpec
    base_dir: Path
    floe_yaml: Path | None
    platform_file: Path | None
    orchestration: OrchestrationObjects
    definitions: dg.Definitions
    telemetry: RunTelemetry
    dbt_asset_keys: frozenset[dg.AssetKey] = field(default_factory=frozenset)
    locate: Locate = field(default=lambda path: FLOE_YAML)
    platform_locate: Locate = field(default=lambda path: "platform defaults")


@dataclass(frozen=True)
class ProjectOptions:
    """What a caller adds to a floe project beyond floe.yaml and the platform file (the facade's keyword options).

    Attributes:
        assets: Extra assets (or specs) merged with the modules' and dbt's; asset patterns apply to them.
        resources: Extra resources merged with floe's (``dbt``).
        override_resources: Let ``resources`` replace a resource floe provides instead of raising.
        environ: Environment for ``${VAR}`` interpolation and ``FLOE_*`` / ``OTEL_*`` / ``OPENLINEAGE_*`` lookups;
            ``os.environ`` when None.
        span_exporter: Export spans here instead of where the platform says (tests).
        lineage_transport: Send lineage events here instead of where the platform says (tests).
    """

    assets: Sequence[Any] = ()
    resources: Mapping[str, Any] | None = None
    override_resources: bool = False
    environ: Mapping[str, str] | None = None
    span_exporter: SpanExporter | None = None
    lineage_transport: Transport | None = None


def load_project(
    path: str | os.PathLike[str] | None = None,
    *,
    platform: str | os.PathLike[str] | None = None,
    assets: Sequence[Any] = (),
    resources: Mapping[str, Any] | None = None,
    override_resources: bool = False,
    environ: Mapping[str, str] | None = None,
    caller_file: str | None = None,
    span_exporter: SpanExporter | None = None,
    lineage_transport: Transport | None = None,
) -> FloeProject:
    """Load floe.yaml and its platform file and build the project (see :class:`FloeProject`).

    The keyword options are :class:`ProjectOptions`' fields.

    Raises:
        ConfigNotFoundError: No floe.yaml found.
        floe_config.ConfigError: floe.yaml or the platform file is invalid (located issues).
        DefinitionsLoadError: The config is valid but cannot be built (module, manifest, selection...).
        ResourceConflictError: An extra resource reuses a key floe provides.
    """
    options = ProjectOptions(assets, resources, override_resources, environ, span_exporter, lineage_transport)
    return load_project_with(options, path, platform=platform, caller_file=caller_file)


def load_project_with(
    options: ProjectOptions,
    path: str | os.PathLike[str] | None = None,
    *,
    platform: str | os.PathLike[str] | None = None,
    caller_file: str | None = None,
) -> FloeProject:
    """Load floe.yaml and its platform file and build the project with ``options`` (as :func:`load_project`)."""
    floe_yaml = find_floe_yaml(path, caller_file=caller_file, environ=options.environ)
    plain = not (options.assets or options.resources or options.override_resources) and options.environ is None
    plain = plain and options.span_exporter is None and options.lineage_transport is None
    if plain:
        # A step forked from a warm step server, a Celery worker, the `floe run` process: the project this process
        # already loaded from the same, unchanged files (none in a code server, which never fills the cache).
        warm = WARM_PROJECTS.peek(*project_key(floe_yaml, platform))
        if warm is not None:
            return warm
    document = load_floe_document(floe_yaml, environ=options.environ)
    platform_document = load_platform_document(platform, floe_yaml=floe_yaml, environ=options.environ)
    return build_project(
        document.spec,
        platform_document.spec,
        base_dir=document.project_dir,
        floe_yaml=document.path,
        platform_document=platform_document,
        locate=document_locator(document, display_path(floe_yaml)),
        options=options,
        warm_steps=(floe_yaml.resolve(), None if platform is None else Path(platform).resolve()) if plain else None,
    )


def project_key(
    path: str | os.PathLike[str] | None, platform: str | os.PathLike[str] | None = None
) -> tuple[str, str | None]:
    """Return the absolute floe.yaml and platform file :func:`load_project` would read, without reading them.

    The key under which a process keeps a loaded project
    (:data:`~floe_definitions.execution.warm_steps.WARM_PROJECTS`).

    Raises:
        ConfigNotFoundError: No floe.yaml found.
    """
    floe_yaml = find_floe_yaml(path).resolve()
    platform_file, _ = resolve_platform_file(platform, floe_yaml=floe_yaml)
    return os.fspath(floe_yaml), None if platform_file is None else os.fspath(Path(platform_file).resolve())


def load_project_reused(
    path: str | os.PathLike[str] | None, platform: str | os.PathLike[str] | None = None
) -> FloeProject:
    """Return the project this process loaded earlier from the same, unchanged files, else load it.

    For the processes that run steps: the ``floe run`` process, a step process forked from a warm step server
    (:mod:`floe_definitions.execution.warm_steps`), a Celery worker. A changed floe.yaml, platform file, dbt
    project or asset module (see :func:`~floe_definitions.execution.warm_steps.project_fingerprint`) is loaded
    again.
    """
    return WARM_PROJECTS.get(*project_key(path, platform), lambda: load_project(path, platform=platform))


def build_project(
    spec: FloeSpec,
    platform: PlatformSpec,
    *,
    base_dir: Path,
    floe_yaml: Path | None = None,
    platform_document: PlatformDocument | None = None,
    platform_file: Path | None = None,
    locate: Locate | None = None,
    options: ProjectOptions = ProjectOptions(),
    warm_steps: tuple[Path, Path | None] | None = None,
) -> FloeProject:
    """Build the project from validated specs (the shared path of YAML and compiled artifacts).

    Telemetry first, then the dbt assets (with the ``dbt`` resource), then the orchestration objects around every
    asset, then the executor; each step's errors name the floe.yaml or platform-file entry they come from.

    ``warm_steps`` is the floe.yaml and platform file a warm step server may load the same project from (a plain
    load from files: no extra assets, resources, environment or exporters); ``None`` keeps step processes cold.

    Raises:
        DefinitionsLoadError: The config is valid but cannot be built.
        ResourceConflictError: An extra resource reuses a key floe provides.
    """
    locate = locate or (lambda _path: os.fspath(floe_yaml.name) if floe_yaml else FLOE_YAML)
    if platform_document is not None and platform_document.path is not None:
        platform_file = platform_document.path
    platform_locate = _platform_locator(platform_document)
    telemetry = _run_telemetry(spec, platform, base_dir, options, platform_locate)
    resources = merge_resources({}, options.resources or {}, override=options.override_resources)
    dbt_assets: list[dg.AssetsDefinition] = []
    if spec.orchestration.dbt is not None:
        dbt_assets, resources, naming, dbt_lineage = _build_dbt(
            spec.orchestration.dbt, spec, platform, base_dir, platform_file, telemetry, options, locate, platform_locate
        )
        telemetry = replace(telemetry, naming=naming, dbt_lineage=dbt_lineage)
    objects = _build_orchestration(spec, base_dir, [*dbt_assets, *options.assets], locate)
    executor = _build_executor(platform, telemetry, platform_locate, warm_steps)
    return FloeProject(
        spec=spec,
        platform=platform,
        base_dir=base_dir,
        floe_yaml=floe_yaml,
        platform_file=platform_file,
        orchestration=objects,
        definitions=_definitions(spec, objects, telemetry, resources, executor),
        telemetry=telemetry,
        dbt_asset_keys=frozenset(key for definition in dbt_assets for key in definition.keys),
        locate=locate,
        platform_locate=platform_locate,
    )


def _run_telemetry(
    spec: FloeSpec, platform: PlatformSpec, base_dir: Path, options: ProjectOptions, platform_locate: Locate
) -> RunTelemetry:
    """Return where runs' spans and lineage go (datasets named by the pipeline until dbt's warehouse is known)."""
    try:
        tracer_provider = build_tracer_provider(
            spec, platform, base_dir, env=options.environ, exporter=options.span_exporter, locate=platform_locate
        )
        lineage_client = build_lineage_client(
            spec, platform, base_dir, env=options.environ, transport=options.lineage_transport, locate=platform_locate
        )
    except LocatedError as exc:
        raise _relocated(exc, platform_locate) from exc
    return RunTelemetry(
        tracer_provider=tracer_provider,
        lineage_client=lineage_client,
        lineage_namespace=lineage_namespace(platform, options.environ),
        naming=DatasetNaming(pipeline=spec.name),
    )


def _build_dbt(
    config: DbtConfig,
    spec: FloeSpec,
    platform: PlatformSpec,
    base_dir: Path,
    platform_file: Path | None,
    telemetry: RunTelemetry,
    options: ProjectOptions,
    locate: Locate,
    platform_locate: Locate,
) -> tuple[list[dg.AssetsDefinition], dict[str, Any], DatasetNaming, DbtStepLineage]:
    """Return the dbt assets, the resources (floe's ``dbt`` included), the warehouse's dataset naming and node lineage.

    The node lineage settings tell the run worker how the dbt steps name their node lineage runs, to end those a
    lost step left open.

    dagster-dbt and dbt load only here, for a project that has dbt models (~2 s of every process start otherwise).
    """
    from dagster_dbt import DbtCliResource
    from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider

    from floe_definitions.dbt_assets import (
        DBT_RESOURCE_KEY,
        build_dbt_resource_for,
        build_floe_dbt_assets,
        load_manifest,
        parse_command_line,
        resolve_dbt_project,
        warehouse_namespace,
    )
    from floe_definitions.telemetry.dbt_span_export import dbt_span_export

    orchestration = spec.orchestration
    key = "orchestration.dbt"
    try:
        project = resolve_dbt_project(
            config, platform, base_dir, platform_file.parent if platform_file is not None else None
        )
        resources = merge_resources(
            {DBT_RESOURCE_KEY: build_dbt_resource_for(project)},
            options.resources or {},
            override=options.override_resources,
        )
        dbt_resource = resources[DBT_RESOURCE_KEY]
        if not isinstance(dbt_resource, DbtCliResource):
            raise ResourceConflictError(
                f"resource {DBT_RESOURCE_KEY!r} must be a dagster_dbt.DbtCliResource (floe's dbt assets run it), "
                f"got {type(dbt_resource).__name__}"
            )
        manifest = load_manifest(project)
        adapter, dataset_namespace = warehouse_namespace(project, manifest)
        if telemetry.lineage_client is not None and loads_for_forks():
            dataset_namespace()  # the dbt profile, read once here rather than in every run forked from this process
        naming = DatasetNaming(pipeline=spec.name, table_namespaces={adapter: dataset_namespace})
        assets = build_floe_dbt_assets(
            config,
            project,
            manifest,
            orchestration,
            build_partitions(orchestration, locate=locate),
            tracer_provider=telemetry.tracer_provider,
            lineage=telemetry.lineage_client,
            lineage_namespace=telemetry.lineage_namespace,
            lineage_job_names=platform.lineage.dbt_job_names,
            dbt=dbt_resource,
            dbt_spans=platform.dbt.spans,
            query_comment=platform.dbt.query_comment,
            dbt_span_export=(
                dbt_span_export(
                    spec,
                    platform,
                    base_dir,
                    telemetry.tracer_provider,
                    os.environ if options.environ is None else options.environ,
                )
                if platform.dbt.spans
                and options.span_exporter is None
                and isinstance(telemetry.tracer_provider, SdkTracerProvider)
                else None
            ),
        )
    except DbtParseError as exc:
        message = _parse_failure_message(exc, config, parse_command_line(project))
        raise DefinitionsLoadError(message, location=locate(key), key=key) from exc
    except (FloeLoaderError, DbtObserveError, LocatedError, pydantic.ValidationError) as exc:
        raise _dbt_load_error(exc, key, locate, platform_locate) from exc
    dbt_lineage = DbtStepLineage(
        manifest=manifest,
        job_namespace=telemetry.lineage_namespace,
        dataset_namespace=dataset_namespace,
        job_names=platform.lineage.dbt_job_names,
        level=config.observability_level,
        project_dir=project.project_dir,
        dbt_executable=None if project.invocation == "in_process" else dbt_resource.dbt_executable,
    )
    return assets, resources, naming, dbt_lineage


def _dbt_load_error(
    exc: FloeLoaderError | DbtObserveError | LocatedError | pydantic.ValidationError,
    key: str,
    locate: Locate,
    platform_locate: Locate,
) -> LocatedError:
    """Return the located error a failure to build the dbt assets becomes (``key``: floe.yaml's dbt entry)."""
    if isinstance(exc, FloeLoaderError):
        return _load_error(exc)
    if isinstance(exc, DbtObserveError):
        return DefinitionsLoadError(str(exc), location=locate(key), key=key)
    if isinstance(exc, LocatedError):
        in_floe_yaml = exc.key is None or exc.key.startswith("orchestration.")
        return _relocated(exc, locate if in_floe_yaml else platform_locate)
    # dagster-dbt's resource refuses a setting floe did not foresee
    problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
    return DefinitionsLoadError(
        f"dagster-dbt refuses the dbt settings ({problems}); check project_dir, profiles_dir and target",
        location=locate(key),
        key=key,
    )


def _build_orchestration(
    spec: FloeSpec, base_dir: Path, extra_assets: Sequence[Any], locate: Locate
) -> OrchestrationObjects:
    """Return the loaders' objects: the modules' assets and ``extra_assets``, jobs, schedules, sensors..."""
    try:
        return build_orchestration(spec, base_dir, extra_assets=extra_assets, locate=locate)
    except FloeLoaderError as exc:
        raise _load_error(exc) from exc


def _build_executor(
    platform: PlatformSpec,
    telemetry: RunTelemetry,
    platform_locate: Locate,
    warm_steps: tuple[Path, Path | None] | None,
) -> dg.ExecutorDefinition:
    """Return the platform's executor, observed (a span and a lineage run per step).

    ``warm_steps``: as in :func:`build_project`.
    """
    try:
        return build_executor(
            platform.execution.executor,
            telemetry,
            defer_missing_extra=True,
            locate=platform_locate,
            warm_project=warm_steps,
        )
    except LocatedError as exc:
        raise _relocated(exc, platform_locate) from exc


def _definitions(
    spec: FloeSpec,
    objects: OrchestrationObjects,
    telemetry: RunTelemetry,
    resources: Mapping[str, Any],
    executor: dg.ExecutorDefinition,
) -> dg.Definitions:
    definitions_args = objects.definitions_args()
    # Python assets put their step's span and lineage ids on their materializations, as dbt assets do
    definitions_args["assets"] = link_python_assets(
        definitions_args["assets"],
        traces=telemetry.tracer_provider is not None,
        lineage_namespace=telemetry.lineage_namespace if telemetry.lineage_client is not None else None,
        pipeline=spec.name,
    )
    return dg.Definitions(**definitions_args, resources=resources, executor=executor)


def _load_error(exc: FloeLoaderError) -> DefinitionsLoadError:
    return DefinitionsLoadError(f"{exc.what}. {exc.fix}", location=exc.location, key=exc.path)


def _parse_failure_message(exc: DbtParseError, config: DbtConfig, command: str) -> str:
    """Say that the manifest was missing, that ``dbt parse`` failed, and what dbt said (without colour codes)."""
    if exc.returncode is None:
        return str(exc)
    detail = exc.dbt_error or "dbt printed no error"
    first, _, rest = detail.partition("\n")
    return (
        f"the manifest {config.resolved_manifest_path!r} is missing and `dbt parse` failed (exit {exc.returncode}): "
        f"{first}" + (f"\n{rest}" if rest else "") + f"\nFix the dbt project, then check it with `{command}` (the "
        "parse floe runs: its target and profiles, so that runs reuse its partial parse)"
    )


def merge_resources(floe_resources: Mapping[str, Any], extra: Mapping[str, Any], *, override: bool) -> dict[str, Any]:
    """Merge the caller's resources into floe's.

    Raises:
        ResourceConflictError: A key is in both and ``override`` is false.
    """
    clash = sorted(set(floe_resources) & set(extra))
    if clash and not override:
        raise ResourceConflictError(
            f"resource key(s) {', '.join(repr(key) for key in clash)} are provided by floe already; rename yours, "
            "or pass override_resources=True to replace floe's"
        )
    return {**floe_resources, **extra}


def _platform_locator(document: PlatformDocument | None) -> Locate:
    if document is None or document.path is None or document.source_map is None:
        return lambda _path: "platform defaults"
    display = display_path(document.path)
    source_map = document.source_map

    def locate(dotted: str) -> str:
        location = source_map.key_location(tuple(dotted.split(".")))
        return f"{display}:{location.line}:{location.column}"

    return locate


def _relocated(exc: LocatedError, locate: Locate) -> LocatedError:
    if exc.location is not None or exc.key is None:
        return exc
    return type(exc)(exc.message, location=locate(exc.key), key=exc.key)
