"""Load floe.yaml: read, parse with positions, interpolate, validate, and check references in one pass."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from floe_config.cross_references import cross_reference_issues
from floe_config.errors import ConfigError, ConfigIssue
from floe_config.floe_spec import FloeSpec
from floe_config.validation_issues import validate_document
from floe_config.yaml_loading import (
    KeyPath,
    Location,
    SourceMap,
    load_yaml,
    read_config_file,
)

DEFAULT_FLOE_FILE = "floe.yaml"
"""The file loaded when no path is given, relative to the working directory."""


@dataclass(frozen=True)
class FloeDocument:
    """A validated floe.yaml with where each entry came from, for located errors raised later (e.g. at load time)."""

    spec: FloeSpec
    """The validated specification."""
    source_map: SourceMap
    """Line and column of every key and value."""
    path: Path | None
    """The file (absolute), or ``None`` when parsed from text."""
    sha256: str
    """SHA-256 of the file's bytes."""

    @property
    def project_dir(self) -> Path:
        """The directory relative paths and leading-dot modules in floe.yaml resolve against."""
        return self.path.parent if self.path is not None else Path.cwd()

    def locate(self, path: KeyPath | str) -> Location:
        """Return the line and column of the entry at ``path`` (a key tuple or ``"orchestration.jobs.x.selection.1"``).

        A dotted part made of digits is a list index when the file has a list there.
        """
        return self.source_map.key_location(self._key_path(path))

    def issue(self, path: KeyPath | str, message: str) -> ConfigIssue:
        """Build an issue located at the entry at ``path``, for errors found after validation."""
        return self.source_map.issue(self._key_path(path), message, at_key=True)

    def _key_path(self, path: KeyPath | str) -> KeyPath:
        if not isinstance(path, str):
            return path
        key_path: tuple[str | int, ...] = ()
        for part in path.split("."):
            as_index = (*key_path, int(part)) if part.isdigit() else None
            if (
                as_index is not None
                and as_index in self.source_map.values
                and (*key_path, part) not in (self.source_map.values)
            ):
                key_path = as_index
            else:
                key_path = (*key_path, part)
        return key_path


def parse_floe_document(
    content: str | bytes,
    *,
    file: str = DEFAULT_FLOE_FILE,
    environ: Mapping[str, str] | None = None,
) -> FloeDocument:
    """Parse and validate floe.yaml text.

    Args:
        content: The file's text or bytes.
        file: Name used in messages.
        environ: Variables for ``${VAR}`` interpolation; ``os.environ`` when omitted.

    Returns:
        The validated document.

    Raises:
        ConfigError: The text is invalid; every problem is listed with its line and column.
    """
    raw = content.encode("utf-8") if isinstance(content, str) else content
    loaded = load_yaml(content, file, environ=os.environ if environ is None else environ)
    if loaded.data is None:
        message = "the file is empty; a floe.yaml needs at least 'name: <pipeline name>'"
        raise ConfigError([ConfigIssue(file, 1, 1, "", message)])
    spec = validate_document(
        FloeSpec, loaded.data, loaded.source_map, extra_checks=cross_reference_issues, document="floe.yaml"
    )
    return FloeDocument(spec, loaded.source_map, None, hashlib.sha256(raw).hexdigest())


def load_floe_document(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> FloeDocument:
    """Read, parse and validate a floe.yaml file.

    Args:
        path: The file; ``floe.yaml`` in the working directory when omitted.
        environ: Variables for ``${VAR}`` interpolation; ``os.environ`` when omitted.

    Returns:
        The validated document with its source map.

    Raises:
        ConfigFileError: The file cannot be read.
        ConfigError: The file is invalid; every problem is listed with its line and column.
    """
    name = os.fspath(path) if path is not None else DEFAULT_FLOE_FILE
    content = read_config_file(name)
    document = parse_floe_document(content, file=name, environ=environ)
    return FloeDocument(document.spec, document.source_map, Path(name).resolve(), document.sha256)


def load_floe_spec(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> FloeSpec:
    """Read, parse and validate a floe.yaml file.

    Args:
        path: The file; ``floe.yaml`` in the working directory when omitted.
        environ: Variables for ``${VAR}`` interpolation; ``os.environ`` when omitted.

    Returns:
        The validated specification.

    Raises:
        ConfigFileError: The file cannot be read.
        ConfigError: The file is invalid; every problem is listed with its line and column.
    """
    return load_floe_document(path, environ=environ).spec
