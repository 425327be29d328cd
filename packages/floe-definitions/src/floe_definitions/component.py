"""``FloeComponent``: floe.yaml as a component of a ``dg`` project (Dagster's Components API).

A ``defs.yaml`` with ``type: floe_definitions.FloeComponent`` turns the floe.yaml beside it into the same
definitions ``FloeDefinitions.from_floe_yaml`` builds. Errors name ``defs.yaml`` (line of the attribute) or floe.yaml
(``floe.yaml:L:C: path: message``), never a traceback of floe's internals.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self, cast

import dagster as dg
from dagster import Executor, InitExecutorContext
from dagster.components import (
    Component,
    ComponentLoadContext,
    Model,
    Resolvable,
    Scaffolder,
    ScaffoldRequest,
    scaffold_with,
)
from dagster.components import scaffold_component as write_defs_yaml
from pydantic import BaseModel, Field, PrivateAttr

from floe_config import ConfigError
from floe_definitions.component_scaffold import starter_files
from floe_definitions.errors import (
    ComponentConfigError,
    DuplicateComponentAssetError,
    FloeDefinitionsError,
    LocatedError,
)
from floe_definitions.project import FloeProject, load_project
from floe_definitions.project_files import display_path

DEFS_YAML = "defs.yaml"
_LOGGER = logging.getLogger(__name__)


class FloeComponentScaffolder(Scaffolder[BaseModel]):
    """Write ``defs.yaml`` and a starter floe.yaml (with its JSON schema for editors) into the new folder."""

    def scaffold(self, request: ScaffoldRequest[BaseModel]) -> None:
        """Scaffold one floe component.

        Args:
            request: dg's scaffold request; ``target_path`` is the component's folder.
        """
        write_defs_yaml(request, {"floe_yaml": "floe.yaml"})
        for name, text in starter_files(request.target_path.name).items():
            target = request.target_path / name
            if not target.exists():
                target.write_text(text, encoding="utf-8")


@scaffold_with(FloeComponentScaffolder)
class FloeComponent(Component, Resolvable, Model):
    """A floe.yaml as Dagster definitions: assets, dbt models, jobs, schedules, sensors, with spans and lineage.

    Builds what ``FloeDefinitions.from_floe_yaml`` builds from the floe.yaml beside this defs.yaml (or at
    ``floe_yaml``), with the platform file ``platform`` when given.
    """

    floe_yaml: str = Field(
        default="floe.yaml",
        description="floe.yaml (or its directory), relative to this component's folder.",
    )
    platform: str | None = Field(
        default=None,
        description=(
            "The platform file, relative to this component's folder; else FLOE_PLATFORM_FILE / FLOE_PLATFORM_ENV / "
            "floe's embedded defaults."
        ),
    )
    env: dict[str, str] = Field(
        default={},
        description=(
            "Variables for ${VAR} interpolation and FLOE_* / OTEL_* / OPENLINEAGE_* lookups, over the process "
            "environment."
        ),
    )

    _defs_yaml: str = PrivateAttr(default=DEFS_YAML)
    _floe_yaml_path: Path | None = PrivateAttr(default=None)
    _platform_path: Path | None = PrivateAttr(default=None)
    _project: FloeProject | None = PrivateAttr(default=None)

    @classmethod
    def load(cls, attributes: BaseModel | None, context: ComponentLoadContext) -> Self:
        """Resolve the attributes and check that floe.yaml (and the platform file) exist.

        Raises:
            ComponentConfigError: ``floe_yaml`` or ``platform`` names a path that does not exist.
        """
        component = super().load(attributes, context)
        folder = Path(context.path)
        component._defs_yaml = display_path(folder / DEFS_YAML)
        component._floe_yaml_path = component._existing(folder, "floe_yaml", component.floe_yaml, context)
        if component.platform is not None:
            component._platform_path = component._existing(folder, "platform", component.platform, context)
        return component

    def build_defs(self, context: ComponentLoadContext) -> dg.Definitions:
        """Build the definitions of floe.yaml, as ``FloeDefinitions.from_floe_yaml`` does.

        Raises:
            ComponentConfigError: floe.yaml or the platform file is invalid, or cannot be built.
            DuplicateComponentAssetError: Another floe component of the project defines one of the same asset keys.
        """
        project = self.project()
        keys = _asset_keys(project.definitions)
        # Dagster 1.11.0 has no component tree on the context: there, Dagster's own duplicate-key error (which names
        # no defs.yaml) is what the user sees.
        tree = getattr(context, "component_tree", None)
        components = tree.get_all_components(of_type=FloeComponent) if tree is not None else []
        others = [other for other in components if other is not self]
        for other in others:
            if other._project is None:
                continue
            shared = keys & _asset_keys(other._project.definitions)
            if shared:
                first, second = sorted([self._defs_yaml, other._defs_yaml])
                names = ", ".join(sorted(key.to_user_string() for key in shared))
                error = DuplicateComponentAssetError(
                    f"{first} and {second} both define asset key(s) {names}; an asset key may come from one "
                    "component only: remove one of the components or point them at floe.yaml files with distinct "
                    "assets"
                )
                _LOGGER.error("%s", error)
                raise error
            self._check_same_executor(other)
        if not others:
            return project.definitions
        return self._shared_definitions(project.definitions, others)

    def _shared_definitions(self, definitions: dg.Definitions, others: list[FloeComponent]) -> dg.Definitions:
        """This component's definitions as one of several floe components of a dg project.

        Dagster merges the components' definitions and allows one executor and one value per resource key. The
        floe component whose defs.yaml comes first (by path) owns the project's executor; the others leave theirs
        out (all have the same executor type, see :meth:`_check_same_executor`). A resource key goes to the first
        component that provides it: floe's dbt assets hold their own ``DbtCliResource`` whatever the key says.
        """
        earlier = [other for other in others if other._defs_yaml < self._defs_yaml]
        owner = not earlier
        provided: set[str] = set()
        for other in earlier:
            try:
                provided.update(other.project().definitions.resources or {})
            except ComponentConfigError:
                continue  # that component reports its own error when Dagster builds it
        resources = {key: value for key, value in (definitions.resources or {}).items() if key not in provided}
        return dg.Definitions(
            assets=definitions.assets,
            asset_checks=definitions.asset_checks,
            jobs=definitions.jobs,
            schedules=definitions.schedules,
            sensors=definitions.sensors,
            resources=resources,
            executor=self._dispatching_executor(definitions, others) if owner else None,
            loggers=definitions.loggers,
            metadata=definitions.metadata,
        )

    def _dispatching_executor(
        self, definitions: dg.Definitions, others: list[FloeComponent]
    ) -> dg.ExecutorDefinition | None:
        """The project's one executor: each run is executed by the floe component whose assets it runs.

        Every floe component's executor observes runs with its own telemetry (tracer provider, lineage client,
        pipeline name); a run of another component's job gets that component's executor, the owner's otherwise.
        """
        own = definitions.executor
        if not isinstance(own, dg.ExecutorDefinition):
            return None
        components = [self, *others]

        def create(init_context: InitExecutorContext) -> Executor:
            keys = set(init_context.job.get_definition().asset_layer.selected_asset_keys)
            chosen = own
            for component in components:
                try:
                    component_defs = component.project().definitions
                except ComponentConfigError:
                    continue
                if (
                    keys
                    and keys <= _asset_keys(component_defs)
                    and isinstance(component_defs.executor, dg.ExecutorDefinition)
                ):
                    chosen = component_defs.executor
                    break
            creation_fn = chosen.executor_creation_fn
            assert creation_fn is not None
            return creation_fn(init_context)

        return dg.ExecutorDefinition(
            name=own.name,
            config_schema=cast("Any", own.config_schema),  # already a definition schema; Dagster keeps it
            requirements=own.get_requirements,
            executor_creation_fn=create,
            description=f"{own.description} Runs of another floe component's assets use that component's executor.",
        )

    def _check_same_executor(self, other: FloeComponent) -> None:
        """Raise when another loaded floe component's platform file names another executor type.

        Raises:
            ComponentConfigError: Naming both defs.yaml files and both platform files' ``execution.executor.type``.
        """
        assert self._project is not None
        assert other._project is not None
        mine = self._project.platform.execution.executor.type
        theirs = other._project.platform.execution.executor.type
        if mine == theirs:
            return
        key = "execution.executor.type"
        first, second = sorted([self, other], key=lambda component: component._defs_yaml)
        assert first._project is not None
        assert second._project is not None
        error = ComponentConfigError(
            f"{second._project.platform_locate(key)}: {key}: {second._project.platform.execution.executor.type!r} "
            f"(the floe component in {second._defs_yaml}) differs from "
            f"{first._project.platform_locate(key)}: {key}: {first._project.platform.execution.executor.type!r} "
            f"(the floe component in {first._defs_yaml}); a dg project runs every job on one executor, so its floe "
            "components need the same execution.executor: give them the same platform file, or the same executor "
            "section"
        )
        _LOGGER.error("%s", error)
        raise error

    def project(self) -> FloeProject:
        """Load floe.yaml once per component instance and return the project.

        Raises:
            ComponentConfigError: floe.yaml or the platform file is invalid, or cannot be built.
        """
        if self._project is None:
            self._project = self._load_project()
        return self._project

    def _load_project(self) -> FloeProject:
        environ: Mapping[str, str] | None = {**os.environ, **self.env} if self.env else None
        try:
            return load_project(self._floe_yaml_path, platform=self._platform_path, environ=environ)
        except ConfigError as exc:
            error = self._error(str(exc).splitlines(), "fix floe.yaml (`floe-config validate` checks it)")
        except LocatedError as exc:
            error = self._error([exc.located_message], "fix floe.yaml")
        except FloeDefinitionsError as exc:
            error = self._error([str(exc)], "fix floe.yaml")
        # Dagster prints its component tree and stack before the cause: log floe's lines first, then raise without
        # the chained floe-internal traceback (the message holds everything the user needs).
        _LOGGER.error("%s", error)
        raise error

    def _error(self, lines: list[str], fix: str) -> ComponentConfigError:
        count = f"{len(lines)} issue" + ("s" if len(lines) != 1 else "")
        issues = "\n".join(lines)
        return ComponentConfigError(f"{issues}\n({count}; the floe component in {self._defs_yaml}: {fix})")

    def _existing(self, folder: Path, attribute: str, value: str, context: ComponentLoadContext) -> Path:
        path = (folder / value).resolve()
        if path.exists():
            return path
        position = _attribute_position(context, attribute)
        error = ComponentConfigError(
            f"{self._defs_yaml}:{position}: attributes.{attribute}: {value!r} does not exist; looked for "
            f"{display_path(path)}. Write the path relative to {display_path(folder)}, or create the file."
        )
        _LOGGER.error("%s", error)
        raise error


def _attribute_position(context: ComponentLoadContext, attribute: str) -> str:
    tree = context.resolution_context.source_position_tree
    position = tree.lookup(["attributes", attribute]) if tree is not None else None
    if position is None and tree is not None:
        position = tree.lookup(["type"])
    if position is None:
        return "1:1"
    return f"{position.start.line}:{position.start.col}"


def _asset_keys(definitions: dg.Definitions) -> set[dg.AssetKey]:
    keys: set[dg.AssetKey] = set()
    for asset in definitions.assets or ():
        if isinstance(asset, dg.AssetsDefinition):
            keys.update(asset.keys)
        elif isinstance(asset, dg.AssetSpec):
            keys.add(asset.key)
    return keys
