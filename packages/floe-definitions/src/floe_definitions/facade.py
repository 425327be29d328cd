"""``FloeDefinitions``: one call from floe.yaml (or its compiled artifacts) to a Dagster code location."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from openlineage.client.transport import Transport
from opentelemetry.sdk.trace.export import SpanExporter

from floe_config import CompiledArtifacts
from floe_definitions import _compat
from floe_definitions.project import ProjectOptions, build_project, load_project_with


class FloeDefinitions:
    """Build ``dagster.Definitions`` from floe.yaml: assets, dbt models, jobs, schedules, sensors, executor.

    Use in a code location module::

        from floe_definitions import FloeDefinitions

        defs = FloeDefinitions.from_floe_yaml()
    """

    @staticmethod
    def from_floe_yaml(
        path: str | os.PathLike[str] | None = None,
        *,
        assets: Sequence[Any] = (),
        resources: Mapping[str, Any] | None = None,
        override_resources: bool = False,
        platform: str | os.PathLike[str] | None = None,
        environ: Mapping[str, str] | None = None,
        span_exporter: SpanExporter | None = None,
        lineage_transport: Transport | None = None,
    ) -> dg.Definitions:
        """Load floe.yaml and return the Dagster definitions it describes.

        Args:
            path: floe.yaml (or its directory); else ``FLOE_CONFIG``, else the ``floe.yaml`` beside the calling
                module, else the one in the current directory.
            assets: Extra assets (or specs) merged with the modules' and dbt's; asset patterns apply to them.
            resources: Extra resources merged with floe's (``dbt``).
            override_resources: Let ``resources`` replace a resource floe provides instead of raising.
            platform: The platform file; else ``FLOE_PLATFORM_FILE`` / ``FLOE_PLATFORM_ENV`` / embedded defaults.
            environ: Environment for ``${VAR}`` interpolation and ``FLOE_*`` / ``OTEL_*`` / ``OPENLINEAGE_*``
                lookups; ``os.environ`` when omitted.
            span_exporter: Export spans here instead of where the platform says (tests).
            lineage_transport: Send lineage events here instead of where the platform says (tests).

        Returns:
            The definitions.

        Raises:
            floe_definitions.errors.ConfigNotFoundError: No floe.yaml found.
            floe_config.ConfigError: floe.yaml or the platform file is invalid.
            floe_definitions.errors.DefinitionsLoadError: The config is valid but cannot be built.
            floe_definitions.errors.ResourceConflictError: A resource key clashes with floe's.
        """
        caller = _compat.caller_file(1)
        options = ProjectOptions(assets, resources, override_resources, environ, span_exporter, lineage_transport)
        return load_project_with(options, path, platform=platform, caller_file=caller).definitions

    @staticmethod
    def from_compiled_artifacts(
        artifacts: CompiledArtifacts | Mapping[str, Any] | str | os.PathLike[str],
        *,
        assets: Sequence[Any] = (),
        resources: Mapping[str, Any] | None = None,
        override_resources: bool = False,
        environ: Mapping[str, str] | None = None,
        span_exporter: SpanExporter | None = None,
        lineage_transport: Transport | None = None,
    ) -> dg.Definitions:
        """Return the definitions of compiled artifacts (``floe-config compile``): the same as from the YAML.

        Args:
            artifacts: A ``CompiledArtifacts``, its dict form, or the path of its JSON file.
            assets: Extra assets, as for :meth:`from_floe_yaml`.
            resources: Extra resources, as for :meth:`from_floe_yaml`.
            override_resources: As for :meth:`from_floe_yaml`.
            environ: Environment for ``OTEL_*`` / ``OPENLINEAGE_*`` lookups (``${VAR}`` are already resolved).
            span_exporter: As for :meth:`from_floe_yaml`.
            lineage_transport: As for :meth:`from_floe_yaml`.

        Returns:
            The definitions.

        Raises:
            floe_config.ConfigError: The artifacts are invalid.
            floe_definitions.errors.DefinitionsLoadError: They cannot be built.
        """
        compiled = load_compiled_artifacts(artifacts)
        floe_yaml = Path(compiled.floe_yaml.path)
        return build_project(
            compiled.spec,
            compiled.platform,
            base_dir=Path(compiled.project_dir),
            floe_yaml=floe_yaml,
            platform_file=Path(compiled.platform_file.path) if compiled.platform_file else None,
            options=ProjectOptions(assets, resources, override_resources, environ, span_exporter, lineage_transport),
        ).definitions


def load_compiled_artifacts(
    artifacts: CompiledArtifacts | Mapping[str, Any] | str | os.PathLike[str],
) -> CompiledArtifacts:
    """Return ``CompiledArtifacts`` from an instance, its dict form or a JSON file path.

    Raises:
        floe_config.ConfigError: The artifacts are invalid or unreadable.
    """
    if isinstance(artifacts, CompiledArtifacts):
        return artifacts
    if isinstance(artifacts, Mapping):
        import json

        return CompiledArtifacts.from_json(json.dumps(dict(artifacts)), file="compiled artifacts (dict)")
    return CompiledArtifacts.read(artifacts)
