"""Which executor one ``floe run`` uses: the platform's, or Dagster's in-process executor when the run is one step.

A step process buys isolation and parallelism; a run of one step (a single dbt op, one Python asset, one
partition or range of a single-step job) has no parallelism to buy, and its step process costs an interpreter
start, the imports and a second load of the code location (bench/README.md, "Where a run's time goes"). So
``floe run`` runs a single-step job in process, observed like the platform's executor, unless:

- ``--platform-executor`` is passed (and ``--in-process`` always runs in process);
- the platform chose its executor beyond the default: any executor other than ``multiprocess`` (Celery and
  Kubernetes send steps to other machines and resources; ``in_process`` is in process already), or a
  ``multiprocess`` executor with ``max_concurrent``, ``start_method`` or ``preload_modules`` set;
- the job may fan out at run time (an op with a dynamic output): its step count is not known in advance.

Steps are counted as the op nodes of the job's graph (graph-backed nodes counted by their ops), which is what
Dagster plans one step each for.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import dagster as dg

from floe_config.integration import ExecutorConfig, MultiprocessExecutor

Choice = Literal["in_process", "platform"]


@dataclass(frozen=True)
class ExecutorChoice:
    """The executor of one ``floe run`` and why.

    Attributes:
        choice: ``in_process`` (Dagster's in-process executor, observed) or ``platform``.
        reason: Why, in a few words (printed when the choice was made automatically).
        automatic: The choice was made by the single-step rule rather than a flag.
    """

    choice: Choice
    reason: str
    automatic: bool = False

    @property
    def in_process(self) -> bool:
        """Whether the run uses Dagster's in-process executor."""
        return self.choice == "in_process"


def _op_nodes(nodes: Iterable[Any]) -> tuple[int, bool]:
    """Return (op nodes, any dynamic output) of graph nodes, descending into graph-backed nodes."""
    count, dynamic = 0, False
    for node in nodes:
        definition = node.definition
        if isinstance(definition, dg.GraphDefinition):
            inner, inner_dynamic = _op_nodes(definition.nodes)
            count, dynamic = count + inner, dynamic or inner_dynamic
            continue
        count += 1
        dynamic = dynamic or any(output.is_dynamic for output in definition.output_defs)
    return count, dynamic


def step_count(job: dg.JobDefinition) -> int | None:
    """Return how many steps a run of ``job`` executes, or None when it fans out at run time."""
    count, dynamic = _op_nodes(job.graph.nodes)
    return None if dynamic else count


def platform_executor_is_explicit(config: ExecutorConfig) -> bool:
    """Return whether the platform asked for more than Dagster's default multiprocess executor."""
    if not isinstance(config, MultiprocessExecutor):
        return True
    return bool(config.model_fields_set & {"max_concurrent", "start_method", "preload_modules"})


def choose_executor(
    job: dg.JobDefinition, config: ExecutorConfig, *, in_process: bool = False, platform_executor: bool = False
) -> ExecutorChoice:
    """Apply the rule of this module to one ``floe run``.

    Args:
        job: The job to run (already subset by its selection).
        config: platform.yaml ``execution.executor``.
        in_process: ``--in-process`` was passed.
        platform_executor: ``--platform-executor`` was passed.

    Returns:
        The executor and why.
    """
    if in_process:
        return ExecutorChoice("in_process", "--in-process")
    if platform_executor:
        return ExecutorChoice("platform", "--platform-executor")
    if platform_executor_is_explicit(config):
        return ExecutorChoice("platform", f"the platform's {config.type} executor is configured explicitly")
    steps = step_count(job)
    if steps == 1:
        return ExecutorChoice("in_process", "one step: a step process would add start-up and no parallelism", True)
    return ExecutorChoice("platform", "several steps" if steps is not None else "steps fan out at run time")
