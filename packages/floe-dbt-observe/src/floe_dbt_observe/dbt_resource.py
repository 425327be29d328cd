"""Construct the ``DbtCliResource`` floe runs dbt with.

The resource points at the environment's own ``dbt`` and saves two fixed costs dagster-dbt pays
before every dbt invocation:

- the executable's engine and version are known up front (``dbt_engine``: the venv's own dbt-core without a
  subprocess, any other executable, dbt Fusion's included, by one ``--version`` per process), so dagster-dbt runs
  no ``dbt --version`` of its own before every step (about 3.5 s for dbt-core);
- no dbt adapter is initialised inside the Dagster process. dagster-dbt builds one for
  ``fetch_column_metadata`` / ``fetch_row_counts``, which floe does not use, and building it loads
  the project's whole partial-parse manifest (1-3 s per step at 1,000 models, growing with the
  project). floe reads the warehouse namespace for lineage from the dbt profile instead
  (``warehouse_namespace.profile_credentials``), on the emitter thread.

dbt colours its result lines by default, and dagster-dbt echoes them to stdout; when stdout is not a
terminal (CI logs, captured output, log files) the resource passes ``--no-use-colors``, so no ANSI codes
land there. ``DBT_USE_COLORS`` set in the environment still decides, as dbt documents.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource
from packaging import version

from floe_dbt_observe import _compat
from floe_dbt_observe.dbt_engine import detect_dbt_engine
from floe_dbt_observe.dbt_executable import find_dbt_executable


class FloeDbtCliResource(DbtCliResource):
    """A ``DbtCliResource`` that initialises no dbt adapter in the Dagster process.

    Everything else is dagster-dbt's: dbt runs as a subprocess with the same flags and environment.
    ``DbtCliInvocation.adapter`` is None, so dagster-dbt's ``fetch_column_metadata()`` and
    ``fetch_row_counts()`` are unavailable; pass a plain ``DbtCliResource`` as ``dbt=`` if you need them.
    """

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> Any:
        del args
        return None


def colour_flags() -> list[str]:
    """Return dbt's global flags that keep ANSI colour codes out of output that is not a terminal."""
    if "DBT_USE_COLORS" in os.environ or sys.stdout.isatty():
        return []
    return ["--no-use-colors"]


def build_dbt_resource(
    project_dir: Path,
    *,
    profiles_dir: Path | None,
    target: str | None,
    dbt_executable: str | None,
) -> DbtCliResource:
    """Return a ``FloeDbtCliResource`` for the project using the environment's dbt executable.

    When the ``dbt_adapter_skip`` probe fails (see ``_compat``), a plain ``DbtCliResource`` with the same
    settings is returned instead, and one WARNING says so.
    """
    executable = find_dbt_executable(dbt_executable)
    skip = _compat.dbt_adapter_skip_available()
    resource_class = FloeDbtCliResource if skip else DbtCliResource
    resource = resource_class(
        project_dir=str(project_dir),
        profiles_dir=str(profiles_dir) if profiles_dir is not None else None,
        target=target,
        dbt_executable=executable,
        global_config_flags=colour_flags(),
    )
    if skip:
        try:
            _compat.preset_cli_version(resource, version.parse(detect_dbt_engine(executable).version))
        except Exception:  # fall back to dagster-dbt asking the executable
            resource.__dict__.pop(_compat.CLI_VERSION_ATTRIBUTE, None)
    return resource
