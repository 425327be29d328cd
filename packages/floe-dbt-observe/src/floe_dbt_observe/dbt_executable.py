"""Locate the ``dbt`` executable that belongs to the running Python environment.

dagster-dbt does not install dbt and fails when ``dbt`` is not on ``PATH``; a venv's ``dbt``
sits next to its ``python``, which is what a scheduler launching ``.venv/bin/python`` needs.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from floe_dbt_observe.errors import DbtExecutableNotFoundError


def find_dbt_executable(explicit: str | os.PathLike[str] | None = None) -> str:
    """Return an absolute path to ``dbt``.

    Looks at ``explicit`` first, then next to ``sys.executable`` (the venv's ``bin``), then ``PATH``.

    Args:
        explicit: A path or command name given by the caller.

    Returns:
        The absolute path of the executable.

    Raises:
        DbtExecutableNotFoundError: When none is found.
    """
    if explicit is not None:
        found = shutil.which(os.fspath(explicit))
        if found:
            return str(Path(found).absolute())
        raise DbtExecutableNotFoundError(
            f"dbt executable {os.fspath(explicit)!r} was not found; pass an existing path as dbt_executable"
        )
    bin_dir = Path(sys.executable).parent
    for name in ("dbt", "dbt.exe"):
        candidate = bin_dir / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("dbt")
    if found:
        return str(Path(found).absolute())
    raise DbtExecutableNotFoundError(
        f"no dbt executable next to {sys.executable} or on PATH; install dbt-core and an adapter "
        "(e.g. `pip install dbt-core dbt-duckdb`) in this environment, or pass dbt_executable="
    )
