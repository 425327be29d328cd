"""The job every ``floe run`` step process rebuilds: :func:`reconstruct_job`, importable by module path.

``floe run`` hands Dagster ``build_reconstructable_job("floe_definitions.execution.reconstruct", "reconstruct_job",
...)``, so each step process and Celery worker imports this module, loads the project once and resolves the job.
"""

from __future__ import annotations

import dagster as dg

from floe_config.integration import InProcessExecutor
from floe_definitions.execution.executors import build_executor
from floe_definitions.execution.warm_steps import WARM_PROJECTS
from floe_definitions.project import FloeProject, load_project, project_key

RECONSTRUCT_MODULE = __name__
"""The module path Dagster imports in every step process to rebuild the job."""


def reconstruct_job(
    floe_yaml: str, platform_file: str | None, job_name: str, in_process: bool = False
) -> dg.JobDefinition:
    """Load the project and return one of its jobs (the reconstructor every step process calls).

    Args:
        floe_yaml: floe.yaml's absolute path.
        platform_file: The platform file's absolute path, or ``None`` for the environment's choice.
        job_name: The job.
        in_process: Run every step in the calling process (``floe run --in-process``), with Dagster's in-process
            executor, observed like the platform's.

    Returns:
        The job definition, with the platform's (observed) executor, or the observed in-process one.
    """
    project = load_once(floe_yaml, platform_file)
    job = project.definitions.resolve_job_def(job_name)
    if in_process:
        job = job.with_executor_def(build_executor(InProcessExecutor(type="in_process"), project.telemetry))
    return job


def load_once(floe_yaml: str, platform_file: str | None) -> FloeProject:
    """Load the project once per process while its files stay the same.

    ``floe run`` loads the project to check the job and partitions, then Dagster reconstructs the job in the same
    process (:func:`reconstruct_job`); both get this one load (dbt parse, asset imports), as Dagster's own
    ``ReconstructableJob.get_definition`` keeps its last definition. A step process forked from the warm step
    server finds the project the server built (:mod:`floe_definitions.execution.warm_steps`); a Celery worker
    loads it for its first task and reuses it for the next ones; a changed file is loaded again.
    """
    key = project_key(floe_yaml, platform_file)
    return WARM_PROJECTS.get(*key, lambda: load_project(floe_yaml, platform=platform_file))
