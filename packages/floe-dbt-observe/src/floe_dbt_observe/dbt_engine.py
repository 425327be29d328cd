"""Tell which dbt engine an executable is, dbt-core or dbt Fusion, and its version.

Spans and lineage name the engine that ran the models (OpenLineage's ``processing_engine`` and ``dbt_version``
facets, the ``dbt.engine.*`` span attributes), and dagster-dbt reads a Fusion stream differently from a dbt-core one
(it tells them apart by the CLI's major version). The executable's ``--version`` is asked once per process; the
venv's own dbt-core script is known without a subprocess (dbt-core's ``--version`` takes seconds).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from floe_dbt_observe.errors import DbtEngineVersionError, FusionInProcessError

DBT_CORE = "dbt-core"
DBT_FUSION = "dbt-fusion"

_FUSION_VERSION = re.compile(r"dbt-fusion\s+v?(\d+\.\d+\.\d+\S*)")
_CORE_VERSION = re.compile(r"installed:\s*v?(\d+\.\d+\.\d+\S*)")
_ANY_VERSION = re.compile(r"(\d+\.\d+\.\d+\S*)")
VERSION_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class DbtEngine:
    """The dbt engine an executable runs.

    Attributes:
        name: ``dbt-core`` or ``dbt-fusion``.
        version: The engine's own version text (``1.12.6``, ``2.0.0-preview.196``).
    """

    name: str
    version: str

    @property
    def is_fusion(self) -> bool:
        """Whether this is dbt Fusion (dbt 2.x, a native binary without dbt-core's Python API)."""
        return self.name == DBT_FUSION

    @property
    def lineage_name(self) -> str:
        """The ``processing_engine`` facet's name: ``dbt`` for dbt-core (as dbt-ol writes it), else the engine's."""
        return "dbt" if self.name == DBT_CORE else self.name

    @property
    def runtime(self) -> str:
        """The ``dbt_run`` facet's ``dbt_runtime``: ``core`` (dbt-ol's value for dbt-core) or ``fusion``."""
        return "fusion" if self.is_fusion else "core"


def installed_dbt_core() -> DbtEngine:
    """Return dbt-core as installed in this Python environment (the engine of in-process runs)."""
    try:
        return DbtEngine(DBT_CORE, version("dbt-core"))
    except PackageNotFoundError:
        return DbtEngine(DBT_CORE, "unknown")


def parse_version_output(text: str) -> DbtEngine:
    """Return the engine a ``dbt --version`` output describes.

    Fusion prints ``dbt-fusion 2.0.0-preview.196``; dbt-core prints ``Core:`` then ``- installed: 1.12.6``. Any
    other text with a version counts by its major version, as dagster-dbt counts it (2 and above: Fusion).

    Raises:
        ValueError: The text names no version.
    """
    fusion = _FUSION_VERSION.search(text)
    if fusion:
        return DbtEngine(DBT_FUSION, fusion.group(1))
    core = _CORE_VERSION.search(text) or _ANY_VERSION.search(text)
    if core is None:
        raise ValueError(f"no version in {text.strip()[:200]!r}")
    found = core.group(1)
    major = int(found.split(".", 1)[0])
    return DbtEngine(DBT_FUSION if major >= 2 else DBT_CORE, found)


def _is_venv_dbt_core_script(path: Path) -> bool:
    """Whether ``path`` is the ``dbt`` console script of this Python's environment (a ``#!`` text file)."""
    if os.path.realpath(path.parent) != os.path.realpath(Path(sys.executable).parent):
        return False
    try:
        with path.open("rb") as handle:
            return handle.read(2) == b"#!"
    except OSError:
        return False


@cache
def _detect(executable: str, mtime_ns: int) -> DbtEngine:
    del mtime_ns  # part of the cache key only: a dbt replaced in place is asked again
    path = Path(executable)
    if _is_venv_dbt_core_script(path):
        engine = installed_dbt_core()
        if engine.version != "unknown":
            return engine
    try:
        completed = subprocess.run(
            [executable, "--version"],
            capture_output=True,
            text=True,
            timeout=VERSION_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DbtEngineVersionError(
            f"dbt executable {executable!r} could not report its version ({exc}); point the dbt executable at a "
            "working dbt-core or dbt Fusion `dbt`"
        ) from exc
    output = completed.stdout + completed.stderr
    try:
        return parse_version_output(output)
    except ValueError as exc:
        raise DbtEngineVersionError(
            f"dbt executable {executable!r} printed no dbt version for `--version` (exit code "
            f"{completed.returncode}: {output.strip()[:300]!r}); point the dbt executable at a working dbt-core or "
            "dbt Fusion `dbt`"
        ) from exc


def detect_dbt_engine(executable: str | os.PathLike[str]) -> DbtEngine:
    """Return the engine and version of a dbt executable, asking its ``--version`` once per process.

    Args:
        executable: Path of the ``dbt`` executable.

    Returns:
        The engine: dbt-core (the venv's own script: its installed version, with no subprocess) or dbt Fusion.

    Raises:
        DbtEngineVersionError: The executable cannot be run or prints no version.
    """
    path = os.fspath(executable)
    try:
        mtime_ns = os.stat(path).st_mtime_ns
    except OSError:
        mtime_ns = 0
    return _detect(path, mtime_ns)


def refuse_in_process_fusion(executable: str | os.PathLike[str]) -> None:
    """Raise when ``executable`` is dbt Fusion: an in-process run is dbt-core's ``dbtRunner``, which Fusion lacks.

    An executable that cannot report its version is let through: an in-process run does not start it.

    Raises:
        FusionInProcessError: The executable is dbt Fusion.
    """
    try:
        engine = detect_dbt_engine(executable)
    except DbtEngineVersionError:
        return
    if engine.is_fusion:
        raise FusionInProcessError(
            f"dbt executable {os.fspath(executable)!r} is dbt Fusion {engine.version}, which runs only as a "
            "subprocess: an in-process run is dbt-core's dbtRunner inside the step's Python process; set the dbt "
            "invocation to 'subprocess', or point the executable at dbt-core's `dbt` to keep in-process runs"
        )
