"""Choose and load platform.yaml: an explicit file, ``FLOE_PLATFORM_FILE``, ``FLOE_PLATFORM_ENV``, or defaults.

The order is: the ``path`` argument (``--platform``), then ``FLOE_PLATFORM_FILE``, then ``FLOE_PLATFORM_ENV``
(``platform/<env>.yaml`` beside floe.yaml), else the embedded defaults (``PlatformSpec()``: local files under
``.floe/``, unless the standard OpenTelemetry / OpenLineage variables say otherwise).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from floe_config.errors import ConfigFileError, ConfigIssue
from floe_config.platform_selection import resolve_platform_file
from floe_config.platform_spec import PlatformSpec
from floe_config.validation_issues import validate_document
from floe_config.yaml_loading import SourceMap, load_yaml, read_config_file


@dataclass(frozen=True)
class PlatformDocument:
    """A validated platform file (or the embedded defaults) and where it came from."""

    spec: PlatformSpec
    """The validated platform specification."""
    path: Path | None
    """The file (absolute); ``None`` for the embedded defaults."""
    chosen_by: str
    """How the file was chosen: ``argument``, ``FLOE_PLATFORM_FILE``, ``FLOE_PLATFORM_ENV`` or ``defaults``."""
    source_map: SourceMap | None
    """Line and column of every key and value; ``None`` for the defaults."""
    sha256: str | None
    """SHA-256 of the file's bytes; ``None`` for the defaults."""


def parse_platform_spec(
    content: str | bytes,
    *,
    file: str = "platform.yaml",
    environ: Mapping[str, str] | None = None,
) -> PlatformSpec:
    """Parse and validate platform.yaml text.

    Args:
        content: The file's text or bytes.
        file: Name used in messages.
        environ: Variables for ``${VAR}`` interpolation; ``os.environ`` when omitted.

    Returns:
        The validated platform specification.

    Raises:
        ConfigError: The text is invalid; every problem is listed with its line and column.
    """
    loaded = load_yaml(content, file, environ=os.environ if environ is None else environ)
    data = {} if loaded.data is None else loaded.data
    return validate_document(PlatformSpec, data, loaded.source_map, document="a platform file")


def load_platform_document(
    path: str | os.PathLike[str] | None = None,
    *,
    floe_yaml: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> PlatformDocument:
    """Choose, read and validate the platform file (see the module docstring for the order).

    Args:
        path: An explicit file (the CLI's ``--platform``); wins over the environment.
        floe_yaml: The floe.yaml the platform belongs to (for ``FLOE_PLATFORM_ENV``).
        environ: Variables for ``FLOE_*`` and ``${VAR}``; ``os.environ`` when omitted.

    Returns:
        The validated platform and where it came from.

    Raises:
        ConfigFileError: The chosen file cannot be read.
        ConfigError: The chosen file is invalid; every problem is listed with its line and column.
    """
    env = os.environ if environ is None else environ
    name, chosen_by = resolve_platform_file(path, floe_yaml=floe_yaml, environ=env)
    if name is None:
        return PlatformDocument(PlatformSpec(), None, chosen_by, None, None)
    try:
        content = read_config_file(name)
    except ConfigFileError as exc:
        if chosen_by == "argument":
            raise
        issues = [
            ConfigIssue(
                issue.file,
                issue.line,
                issue.column,
                issue.path,
                f"{issue.message} (chosen by {chosen_by})",
            )
            for issue in exc.issues
        ]
        raise ConfigFileError(issues) from None
    loaded = load_yaml(content, name, environ=env)
    data = {} if loaded.data is None else loaded.data
    if chosen_by == "FLOE_PLATFORM_ENV" and isinstance(data, dict) and "environment" not in data:
        data = {**data, "environment": Path(name).stem}
    spec = validate_document(PlatformSpec, data, loaded.source_map, document="a platform file")
    return PlatformDocument(
        spec,
        Path(name).resolve(),
        chosen_by,
        loaded.source_map,
        hashlib.sha256(content).hexdigest(),
    )


def load_platform_spec(
    path: str | os.PathLike[str] | None = None,
    *,
    floe_yaml: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> PlatformSpec:
    """Choose, read and validate the platform file; the embedded defaults when none is chosen.

    Args:
        path: An explicit file (the CLI's ``--platform``); wins over ``FLOE_PLATFORM_FILE`` / ``FLOE_PLATFORM_ENV``.
        floe_yaml: The floe.yaml the platform belongs to (``FLOE_PLATFORM_ENV`` looks beside it).
        environ: Variables for ``FLOE_*`` and ``${VAR}``; ``os.environ`` when omitted.

    Returns:
        The validated platform specification.

    Raises:
        ConfigFileError: The chosen file cannot be read.
        ConfigError: The chosen file is invalid; every problem is listed with its line and column.
    """
    return load_platform_document(path, floe_yaml=floe_yaml, environ=environ).spec
