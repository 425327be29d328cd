"""Where a floe project's files are: its floe.yaml and its instance's ``DAGSTER_HOME``.

Kept apart from :mod:`floe_definitions.project` (which imports Dagster) so that ``floe run`` can find a running
``floe dev`` of the project without importing Dagster.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from floe_definitions.errors import ConfigNotFoundError

if TYPE_CHECKING:
    from floe_config.integration import FloeDocument
    from floe_loaders.integration import Locate

FLOE_CONFIG_ENV = "FLOE_CONFIG"
"""Environment variable naming the floe.yaml to load when no path is given."""

FLOE_YAML = "floe.yaml"

DEFAULT_DAGSTER_HOME = ".floe/dagster"
"""``DAGSTER_HOME`` when unset, relative to floe.yaml's directory."""


def find_floe_yaml(
    path: str | os.PathLike[str] | None,
    *,
    caller_file: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """Return the floe.yaml to load: ``path``, else ``FLOE_CONFIG``, else beside the caller, else the cwd.

    A directory stands for the ``floe.yaml`` inside it.

    Raises:
        ConfigNotFoundError: None of the candidates exists; the message lists where floe looked.
    """
    env = os.environ if environ is None else environ
    looked: list[str] = []
    candidates: list[tuple[Path, str]] = []
    if path is not None:
        candidates.append((Path(path), "the path given"))
    elif env.get(FLOE_CONFIG_ENV):
        candidates.append((Path(env[FLOE_CONFIG_ENV]), FLOE_CONFIG_ENV))
    else:
        if caller_file:
            candidates.append((Path(caller_file).resolve().parent / FLOE_YAML, "beside the calling module"))
        candidates.append((Path.cwd() / FLOE_YAML, "the current directory"))
    for candidate, how in candidates:
        file = candidate / FLOE_YAML if candidate.is_dir() else candidate
        if file.is_file():
            return file
        looked.append(f"{file} ({how})")
    raise ConfigNotFoundError(
        "no floe.yaml found; looked at " + ", ".join(looked) + f". Pass a path or set {FLOE_CONFIG_ENV}."
    )


def dagster_home(base_dir: Path, environ: Mapping[str, str] | None = None) -> Path:
    """Return ``DAGSTER_HOME`` if set, else ``<base_dir>/.floe/dagster`` (absolute)."""
    env = os.environ if environ is None else environ
    configured = env.get("DAGSTER_HOME")
    return Path(configured).expanduser().resolve() if configured else (base_dir / DEFAULT_DAGSTER_HOME).resolve()


def display_path(path: Path) -> str:
    """Return ``path`` relative to the current directory when under it, else absolute."""
    try:
        return os.fspath(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return os.fspath(path)


def document_locator(document: FloeDocument, display: str) -> Locate:
    """Return a ``locate`` function giving ``display:line:column`` of a dotted floe.yaml path."""

    def locate(dotted: str) -> str:
        location = document.locate(dotted)
        return f"{display}:{location.line}:{location.column}"

    return locate
