"""Load a dbt manifest, or produce it with ``dbt parse`` when it is missing.

``dbt parse`` always runs with an absolute ``--project-dir``: a manifest parsed with a relative
one breaks seeds once dagster-dbt runs dbt from inside the project.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from floe_dbt_observe.errors import (
    DbtParseError,
    DbtProjectNotFoundError,
    InvalidManifestError,
    ManifestNotFoundError,
)

_REQUIRED_KEYS: tuple[str, ...] = ("metadata", "nodes", "sources", "parent_map", "child_map")


def manifest_adapter_type(manifest: Mapping[str, Any]) -> str:
    """Return the dbt adapter the manifest was parsed with (``duckdb``, ``postgres`` ...), or ``""`` when it names none.

    ``""`` means unknown: every manifest floe loads has passed :func:`validate_manifest_dict`, which rejects one
    without ``metadata.adapter_type``, so only a hand-built manifest gets it, and then no span claims a
    ``db.system.name``, no SQL dialect is guessed and no profile is matched against an adapter.
    """
    metadata = manifest.get("metadata")
    return str((metadata.get("adapter_type") if isinstance(metadata, Mapping) else None) or "")


def default_manifest_path(project_dir: Path) -> Path:
    """Return ``<project_dir>/target/manifest.json``."""
    return project_dir / "target" / "manifest.json"


def parse_command(dbt_executable: str, project_dir: Path, profiles_dir: Path | None, target: str | None) -> list[str]:
    """Return the ``dbt parse`` command line that writes ``<project_dir>/target/manifest.json``."""
    command = [dbt_executable, "parse", "--project-dir", str(project_dir.absolute())]
    command += ["--profiles-dir", str((profiles_dir or project_dir).absolute())]
    if target:
        command += ["--target", target]
    return command


def validate_manifest_dict(data: object, source: str) -> dict[str, Any]:
    """Check that ``data`` looks like a dbt manifest and return it.

    Args:
        data: The decoded JSON.
        source: Where it came from, for the error message.

    Returns:
        The manifest as a dict.

    Raises:
        InvalidManifestError: Naming the source and what is wrong.
    """
    if not isinstance(data, Mapping):
        raise InvalidManifestError(
            f"{source}: not a dbt manifest: expected a JSON object, got {type(data).__name__}; "
            "regenerate it with `dbt parse`"
        )
    missing = [key for key in _REQUIRED_KEYS if key not in data]
    if missing:
        raise InvalidManifestError(
            f"{source}: not a dbt manifest: missing top-level key(s) {', '.join(missing)}; "
            "regenerate it with `dbt parse`"
        )
    for key in ("nodes", "sources", "parent_map", "child_map"):
        if not isinstance(data[key], Mapping):
            raise InvalidManifestError(f"{source}: '{key}' must be an object, got {type(data[key]).__name__}")
    metadata = data["metadata"]
    if not isinstance(metadata, Mapping) or not metadata.get("adapter_type"):
        raise InvalidManifestError(
            f"{source}: 'metadata.adapter_type' is missing; this file was not written by dbt-core >= 1.0"
        )
    for unique_id, node in data["nodes"].items():
        if not isinstance(node, Mapping) or "resource_type" not in node or "fqn" not in node:
            raise InvalidManifestError(
                f"{source}: node {unique_id!r} lacks 'resource_type' or 'fqn'; regenerate it with `dbt parse`"
            )
    return dict(data)


def read_manifest(path: Path) -> dict[str, Any]:
    """Read and validate a manifest file.

    Raises:
        InvalidManifestError: When the file is not JSON or not a manifest.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidManifestError(f"{path}: cannot read manifest: {exc.strerror or exc}") from exc
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidManifestError(
            f"{path}: invalid JSON ({exc}); the file may be truncated, regenerate it with `dbt parse`"
        ) from exc
    return validate_manifest_dict(data, str(path))


def load_or_parse_manifest(
    project_dir: Path,
    *,
    manifest: Path | Mapping[str, Any] | None,
    dbt_executable: str,
    profiles_dir: Path | None = None,
    target: str | None = None,
    parse_env: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], Path | None]:
    """Return the manifest dict and its path, running ``dbt parse`` if the file is missing.

    Args:
        project_dir: Absolute dbt project directory.
        manifest: A manifest dict, a path to one, or None for ``target/manifest.json``.
        dbt_executable: The dbt executable for ``dbt parse``.
        profiles_dir: Directory holding ``profiles.yml`` (defaults to the project).
        target: dbt target for ``dbt parse``.
        parse_env: Environment for the ``dbt parse`` subprocess (defaults to this process's).

    Returns:
        The manifest and the path it was read from (None for a dict).

    Raises:
        ManifestNotFoundError: No manifest and no project to parse.
        DbtParseError: ``dbt parse`` failed.
        InvalidManifestError: The manifest is unusable.
    """
    if isinstance(manifest, Mapping):
        return validate_manifest_dict(manifest, "manifest argument"), None
    path = Path(manifest) if manifest is not None else default_manifest_path(project_dir)
    if not path.is_absolute():
        path = project_dir / path
    if path.is_file():
        return read_manifest(path), path
    command = parse_command(dbt_executable, project_dir, profiles_dir, target)
    if not (project_dir / "dbt_project.yml").is_file():
        raise ManifestNotFoundError(
            f"{path}: manifest not found, and {project_dir} holds no dbt_project.yml to parse; "
            f"produce it with `{' '.join(command)}` or pass manifest= the path of an existing manifest.json"
        )
    run_parse(command, project_dir, path, parse_env)
    if not path.is_file():
        raise ManifestNotFoundError(
            f"{path}: `dbt parse` succeeded but wrote no manifest there; pass manifest= the path dbt writes "
            "(check target-path in dbt_project.yml)"
        )
    return read_manifest(path), path


def run_parse(command: Sequence[str], project_dir: Path, manifest_path: Path, env: Mapping[str, str] | None) -> None:
    """Run ``dbt parse`` and raise a located error with dbt's output when it fails."""
    process_env = dict(env if env is not None else os.environ)
    process_env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    try:
        completed = subprocess.run(
            list(command), cwd=project_dir, env=process_env, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        raise DbtParseError(f"cannot run `{' '.join(command)}`: {exc}") from exc
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).strip().splitlines()
        tail = "\n".join(output[-20:])
        raise DbtParseError(
            f"{manifest_path}: manifest missing and `{' '.join(command)}` failed "
            f"(exit {completed.returncode}):\n{tail}",
            returncode=completed.returncode,
            dbt_error=dbt_error_text(output),
        )


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TIMESTAMP = re.compile(r"^\d{2}:\d{2}:\d{2}(?:\.\d+)?\s+")
_ERROR_MARKER = re.compile(r"(?:\[ERROR\]:\s*)?Encountered an error:")


def dbt_error_text(output: Sequence[str]) -> str:
    """Return dbt's error from its console output: the lines after ``Encountered an error:``, else the last ones.

    Colour codes and the leading ``HH:MM:SS`` timestamps are removed; blank lines are dropped. dbt 1.12 prefixes
    the marker line with its level (``[ERROR]: Encountered an error:``); earlier versions print it alone.
    """
    lines = [_TIMESTAMP.sub("", _ANSI.sub("", line)).rstrip() for line in output]
    lines = [line for line in lines if line.strip()]
    for index, line in enumerate(lines):
        if _ERROR_MARKER.fullmatch(line.strip()):
            return "\n".join(lines[index + 1 :][:20])
    return "\n".join(lines[-10:])


def check_project_dir(project_dir: Path, manifest_given: bool) -> None:
    """Raise when the project directory is missing and no manifest was passed either."""
    if project_dir.is_dir():
        return
    if manifest_given:
        return
    raise DbtProjectNotFoundError(
        f"{project_dir}: dbt project directory not found; pass project_dir= the folder holding dbt_project.yml"
    )
