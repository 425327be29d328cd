"""A job of a code location loaded by file, rebuilt in every step process through Dagster's public API.

Dagster's own loader by file lives in ``dagster._core`` (private); its public way to make a job that step
processes can rebuild is ``build_reconstructable_job(module, function, args)`` with ``module`` importable there,
as floe's own ``floe run`` does with ``floe_definitions.execution.reconstruct.reconstruct_job``. This module is
installed, so every step process imports it: :func:`reconstructable_job` is what tests, the demo's tests and the
bench call.
"""

from __future__ import annotations

import functools
import runpy
from pathlib import Path
from typing import TYPE_CHECKING

from dagster import Definitions, JobDefinition, build_reconstructable_job

if TYPE_CHECKING:
    from floe_test_support.dagster_internals import ReconstructableJob


def reconstructable_job(python_file: str | Path, job_name: str) -> ReconstructableJob:
    """Return job ``job_name`` of the ``defs`` in ``python_file``, reconstructable in Dagster's step processes."""
    arguments: tuple[object, ...] = (str(python_file), job_name)
    return build_reconstructable_job(__name__, job_from_file.__name__, reconstructable_args=arguments)  # type: ignore[arg-type]


def job_from_file(python_file: str, job_name: str) -> JobDefinition:
    """Return job ``job_name`` of the ``defs`` the Python file defines (loaded once per file and process)."""
    return _definitions(python_file).resolve_job_def(job_name)


@functools.lru_cache(maxsize=1)
def _definitions(python_file: str) -> Definitions:
    # The latest file once, as Dagster's loader by file keeps a loaded file's module: build_reconstructable_job loads
    # the job to name it and execute_job loads it again (a floe project parses dbt), and a test that runs one copy
    # twice gets the same code location both times, as before.
    defs = runpy.run_path(python_file)["defs"]
    assert isinstance(defs, Definitions), f"{python_file}: 'defs' is not a dagster.Definitions"
    return defs
