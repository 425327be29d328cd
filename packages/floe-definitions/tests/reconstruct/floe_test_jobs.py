"""The reconstructor tests give ``dagster.build_reconstructable_job`` to run a job of a code location loaded by file.

Dagster's own loader by file lives in ``dagster._core`` (private); its public way to make a job that step
processes can rebuild is ``build_reconstructable_job(module, function, args)``, with ``module`` importable from a
working directory (this folder, which Dagster puts on ``sys.path`` only while importing it), as floe's own
``floe run`` does with ``floe_definitions.execution.reconstruct.reconstruct_job``::

    dagster.build_reconstructable_job(
        "floe_test_jobs", "job_from_file", reconstructable_args=(str(python_file), job_name),
        reconstructor_working_directory=str(RECONSTRUCT_DIR),
    )
"""

from __future__ import annotations

import functools
import runpy

from dagster import Definitions, JobDefinition


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
