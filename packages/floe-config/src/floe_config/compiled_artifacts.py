"""``CompiledArtifacts``: a validated floe.yaml and platform file, resolved and frozen as one JSON document.

Compiling resolves ``${VAR}`` references and defaults, so a deployment can ship the JSON and load it without the
YAML files or their environment. Values from the environment are written out resolved: treat the JSON like the
environment it was compiled in.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import ConfigDict, Field, ValidationError

from floe_config.base import FloeModel
from floe_config.errors import ConfigError, ConfigFileError, ConfigIssue
from floe_config.floe_loading import load_floe_document
from floe_config.floe_spec import FloeSpec
from floe_config.platform_loading import load_platform_document
from floe_config.platform_spec import PlatformSpec

SCHEMA_VERSION: Literal[1] = 1
"""Version of the ``CompiledArtifacts`` JSON layout; bumped on incompatible changes."""


class SourceFile(FloeModel):
    """One file compiled into the artifacts."""

    path: str
    """Absolute path at compile time."""
    sha256: str
    """SHA-256 of the file's bytes."""


class CompiledArtifacts(FloeModel):
    """The resolved, validated floe.yaml and platform spec, with the hashes of the files they came from."""

    model_config = ConfigDict(defer_build=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    """Layout version of this document."""
    floe_config_version: str
    """Version of floe-config that compiled it."""
    project_dir: str
    """Absolute directory of floe.yaml: relative paths and leading-dot modules in ``spec`` resolve against it."""
    floe_yaml: SourceFile
    """The floe.yaml compiled."""
    platform_file: SourceFile | None = None
    """The platform file compiled; ``None`` when the embedded defaults apply."""
    platform_chosen_by: str = "defaults"
    """How the platform file was chosen (``argument``, ``FLOE_PLATFORM_FILE``, ``FLOE_PLATFORM_ENV``, ``defaults``)."""
    sources_sha256: str
    """SHA-256 over the source files' hashes: equal when compiled from identical files."""
    spec: FloeSpec
    """The resolved floe.yaml."""
    platform: PlatformSpec = Field(default_factory=PlatformSpec)
    """The resolved platform file (or the defaults)."""

    def to_json(self) -> str:
        """Serialize to indented JSON."""
        return self.model_dump_json(indent=2)

    @classmethod
    def from_json(cls, text: str | bytes, *, file: str = "compiled artifacts") -> CompiledArtifacts:
        """Load artifacts written by ``to_json``.

        Args:
            text: The JSON document.
            file: Name used in messages.

        Returns:
            The artifacts.

        Raises:
            ConfigError: The JSON is not valid artifacts of this schema version.
        """
        try:
            return cls.model_validate_json(text)
        except ValidationError as exc:
            issues = [
                ConfigIssue(
                    file,
                    0,
                    0,
                    ".".join(str(part) for part in error["loc"]),
                    error["msg"],
                )
                for error in exc.errors(include_url=False)
            ]
            raise ConfigError(issues) from None

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> CompiledArtifacts:
        """Read artifacts from a JSON file.

        Args:
            path: The file.

        Returns:
            The artifacts.

        Raises:
            ConfigFileError: The file cannot be read.
            ConfigError: The file is not valid artifacts.
        """
        name = os.fspath(path)
        try:
            content = Path(name).read_bytes()
        except OSError as exc:
            raise ConfigFileError([ConfigIssue(name, 0, 0, "", f"cannot read file: {exc.strerror or exc}")]) from None
        return cls.from_json(content, file=name)


def compile_artifacts(
    path: str | os.PathLike[str] | None = None,
    *,
    platform: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> CompiledArtifacts:
    """Load and validate floe.yaml and the platform file, and freeze them as ``CompiledArtifacts``.

    Args:
        path: The floe.yaml; ``floe.yaml`` in the working directory when omitted.
        platform: An explicit platform file; else ``FLOE_PLATFORM_FILE`` / ``FLOE_PLATFORM_ENV`` / the defaults.
        environ: Variables for ``FLOE_*`` and ``${VAR}``; ``os.environ`` when omitted.

    Returns:
        The compiled artifacts.

    Raises:
        ConfigFileError: A file cannot be read.
        ConfigError: A file is invalid; the problems of both files are listed together.
    """
    issues: list[ConfigIssue] = []
    floe_document = platform_document = None
    try:
        floe_document = load_floe_document(path, environ=environ)
    except ConfigFileError:
        raise
    except ConfigError as exc:
        issues.extend(exc.issues)
    floe_yaml = floe_document.path if floe_document is not None else path
    try:
        platform_document = load_platform_document(platform, floe_yaml=floe_yaml, environ=environ)
    except ConfigFileError:
        raise
    except ConfigError as exc:
        issues.extend(exc.issues)
    if issues or floe_document is None or platform_document is None or floe_document.path is None:
        raise ConfigError(issues)
    platform_file = None
    hashes = floe_document.sha256
    if platform_document.path is not None and platform_document.sha256 is not None:
        platform_file = SourceFile(path=str(platform_document.path), sha256=platform_document.sha256)
        hashes += platform_document.sha256
    return CompiledArtifacts(
        floe_config_version=_version(),
        project_dir=str(floe_document.project_dir),
        floe_yaml=SourceFile(path=str(floe_document.path), sha256=floe_document.sha256),
        platform_file=platform_file,
        platform_chosen_by=platform_document.chosen_by,
        sources_sha256=hashlib.sha256(hashes.encode("ascii")).hexdigest(),
        spec=floe_document.spec,
        platform=platform_document.spec,
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("floe-config")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        return "0+unknown"
