"""Build floe.yaml's jobs: ``batch`` asset jobs from selection strings, ``ops`` one-op jobs calling a function.

Selections use Dagster's own grammar (``AssetSelection.from_string``); a list is the union of its strings.
An ops job's ``args`` become the op's config schema with the floe.yaml values as defaults, so a run can override
any of them from the launchpad; the function's return value is recorded as output metadata of the op.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path
from typing import Any

import dagster as dg

from floe_config.integration import BatchJob, OrchestrationConfig
from floe_loaders import _compat
from floe_loaders.discovery import JobObject
from floe_loaders.errors import (
    DuplicateDefinitionError,
    MixedPartitionsError,
    PartitionsDefinitionError,
    SelectionError,
    UnknownReferenceError,
)
from floe_loaders.locations import Locate, config_path, default_locate
from floe_loaders.ops_jobs import build_ops_job, check_ops_signature, ops_op_name
from floe_loaders.partitions import partitions_name
from floe_loaders.selection_terms import unmatched_terms
from floe_loaders.target_functions import import_target_function


@dataclass(frozen=True)
class BuiltJobs:
    """The jobs of floe.yaml plus what sensors, schedules and backfills need to know about them."""

    jobs: dict[str, JobObject] = field(default_factory=dict)
    """Every job by name: floe.yaml's and the modules' own."""
    selected_keys: dict[str, frozenset[dg.AssetKey]] = field(default_factory=dict)
    """Batch job name -> the asset keys it materializes."""
    partitions: dict[str, dg.PartitionsDefinition] = field(default_factory=dict)
    """Job name -> its partitions definition (partitioned jobs only)."""
    ops_op_names: dict[str, str] = field(default_factory=dict)
    """Ops job name -> the name of its single op (for run config)."""


def build_jobs(
    orchestration: OrchestrationConfig,
    asset_graph: _compat.BaseAssetGraph[Any],
    partitions: Mapping[str, dg.PartitionsDefinition],
    base_dir: Path,
    *,
    module_jobs: Sequence[JobObject] = (),
    locate: Locate = default_locate,
) -> BuiltJobs:
    """Build every job of ``orchestration.jobs``.

    Args:
        orchestration: floe.yaml's orchestration section.
        asset_graph: The graph of all assets (``Definitions(...).resolve_asset_graph()``).
        partitions: ``build_partitions(orchestration)``.
        base_dir: The directory holding floe.yaml.
        module_jobs: Jobs the asset modules define themselves (kept, and checked for name clashes).
        locate: Dotted floe.yaml path -> location prefix.

    Returns:
        The jobs and their selections/partitions.

    Raises:
        SelectionError: A selection does not parse or selects no asset.
        MixedPartitionsError: A batch job selects assets with different partitions definitions.
        PartitionsDefinitionError: A job names unknown partitions.
        TargetFunctionError: An ops job's function is outside the import boundary or missing.
        DuplicateDefinitionError: A floe.yaml job has the name of a module's job.
    """
    built = BuiltJobs(jobs={job.name: job for job in module_jobs})
    for job in module_jobs:
        if job.partitions_def is not None:
            built.partitions[job.name] = job.partitions_def
    for name, config in orchestration.jobs.items():
        path = config_path("orchestration", "jobs", name)
        if name in built.jobs:
            raise DuplicateDefinitionError(
                path,
                f"job {name!r} is also defined in an asset module",
                "Rename the floe.yaml job or the Python job",
                locate=locate,
            )
        if isinstance(config, BatchJob):
            job, keys, partitions_def = build_batch_job(name, config, asset_graph, partitions, path=path, locate=locate)
            built.selected_keys[name] = keys
            if partitions_def is not None:
                built.partitions[name] = partitions_def
        else:
            function = import_target_function(
                config.target_function, orchestration, base_dir, entry_path=path, locate=locate
            )
            check_ops_signature(config, function, path=path, locate=locate)
            job = build_ops_job(name, config, function)
            built.ops_op_names[name] = ops_op_name(name)
        built.jobs[name] = job
    return built


def _from_string(text: str) -> dg.AssetSelection:
    """Parse one selection string without the BetaWarning Dagster's own parser raises against itself."""
    with _compat.silenced_selection_beta_warning():
        return dg.AssetSelection.from_string(text)


def parse_selection(strings: Sequence[str], *, path: str, locate: Locate = default_locate) -> dg.AssetSelection:
    """Parse selection strings with Dagster's grammar and union them.

    Args:
        strings: Selection strings (``group:bronze``, ``key:"a/b"+``...).
        path: Dotted floe.yaml path of the ``selection`` entry.
        locate: Dotted floe.yaml path -> location prefix.

    Returns:
        The union of the selections.

    Raises:
        SelectionError: A string does not parse.
    """
    selections = []
    for index, text in enumerate(strings):
        try:
            selections.append(_from_string(text))
        except Exception as exc:
            raise SelectionError(
                config_path(path, index),
                f"selection {text!r} is not valid Dagster selection syntax ({exc})",
                "Use Dagster's asset-selection syntax, e.g. 'group:bronze', 'key:\"a/b\"+', 'tag:k=v and kind:dbt'",
                locate=locate,
            ) from exc
    return reduce(lambda left, right: left | right, selections)


def build_batch_job(
    name: str,
    config: BatchJob,
    asset_graph: _compat.BaseAssetGraph[Any],
    partitions: Mapping[str, dg.PartitionsDefinition],
    *,
    path: str,
    locate: Locate = default_locate,
) -> tuple[dg.UnresolvedAssetJobDefinition, frozenset[dg.AssetKey], dg.PartitionsDefinition | None]:
    """Build one asset job and check its selection against the asset graph.

    Args:
        name: Job name.
        config: The batch job entry.
        asset_graph: The graph of all assets.
        partitions: floe.yaml's partitions by name.
        path: Dotted floe.yaml path of the job.
        locate: Dotted floe.yaml path -> location prefix.

    Returns:
        The job, the keys it materializes, and its partitions definition.

    Raises:
        SelectionError: A selection does not parse or selects no asset.
        MixedPartitionsError: The selected assets have different partitions definitions.
        PartitionsDefinitionError: ``partitions`` names an unknown entry.
    """
    selection_path = config_path(path, "selection")
    selection = parse_selection(config.selection, path=selection_path, locate=locate)
    try:
        resolved = selection.resolve(asset_graph)
    except Exception as exc:
        raise SelectionError(
            selection_path,
            f"job {name!r}: selection {config.selection!r} cannot be resolved: {exc}",
            "Check the asset keys, groups and tags it names (`floe list` shows them)",
            locate=locate,
        ) from exc
    keys = frozenset(key for key in resolved if asset_graph.get(key).is_materializable)
    if not keys:
        term = unmatched_terms(config.selection, asset_graph)[0]
        raise SelectionError(
            config_path(selection_path, term.index),
            f"job {name!r}: selection {term.text!r} matches no asset{term.hint}",
            "Check the group, key, tag or kind names it uses (`floe list` shows the assets and their groups)",
            locate=locate,
        )
    partitions_def = _job_partitions(name, config, keys, asset_graph, partitions, path=path, locate=locate)
    inferred_by_dagster = config.partitions is None or any(
        asset_graph.get(key).partitions_def is not None for key in keys
    )
    if inferred_by_dagster:
        job = dg.define_asset_job(
            name=name, selection=selection, description=config.description, tags=dict(config.tags) or None
        )
    else:
        # Dagster infers partitions from the assets (and deprecates passing them); pass them only when the job
        # declares partitions its unpartitioned assets do not have.
        job = dg.define_asset_job(
            name=name,
            selection=selection,
            description=config.description,
            tags=dict(config.tags) or None,
            partitions_def=partitions_def,
        )
    return job, keys, partitions_def


def _job_partitions(
    name: str,
    config: BatchJob,
    keys: frozenset[dg.AssetKey],
    asset_graph: _compat.BaseAssetGraph[Any],
    partitions: Mapping[str, dg.PartitionsDefinition],
    *,
    path: str,
    locate: Locate,
) -> dg.PartitionsDefinition | None:
    by_key = {key: asset_graph.get(key).partitions_def for key in sorted(keys)}
    distinct: list[dg.PartitionsDefinition] = []
    for candidate in by_key.values():
        if candidate is not None and not any(candidate == seen for seen in distinct):
            distinct.append(candidate)
    named = dict(partitions)
    if len(distinct) > 1:
        detail = "; ".join(f"{key.to_user_string()}: {partitions_name(p, named)}" for key, p in by_key.items())
        raise MixedPartitionsError(
            config_path(path, "selection"),
            f"job {name!r} selects assets with different partitions definitions ({detail})",
            "Split the job so that each job's assets share one partitions definition",
            locate=locate,
        )
    inferred = distinct[0] if distinct else None
    if config.partitions is None:
        return inferred
    explicit = partitions.get(config.partitions)
    if explicit is None:
        raise PartitionsDefinitionError(
            config_path(path, "partitions"),
            f"unknown partitions {config.partitions!r} (known: {', '.join(sorted(partitions)) or 'none defined'})",
            "Use a name defined under orchestration.partitions",
            locate=locate,
        )
    if inferred is not None and inferred != explicit:
        raise MixedPartitionsError(
            config_path(path, "partitions"),
            f"job {name!r} declares partitions {config.partitions!r} but its assets use "
            f"{partitions_name(inferred, named)}",
            "Remove the job's partitions (they are inferred from its assets) or change the assets' pattern",
            locate=locate,
        )
    return explicit


def lookup_job(name: str, jobs: Mapping[str, JobObject], *, path: str, locate: Locate = default_locate) -> JobObject:
    """Find a job by name, or fail with a located "did you mean" error.

    Args:
        name: Job name from floe.yaml.
        jobs: Every job by name.
        path: Dotted floe.yaml path of the reference.
        locate: Dotted floe.yaml path -> location prefix.

    Returns:
        The job.

    Raises:
        UnknownReferenceError: No job has that name.
    """
    job = jobs.get(name)
    if job is None:
        close = difflib.get_close_matches(name, list(jobs), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(sorted(jobs)) or 'none'})"
        raise UnknownReferenceError(
            path,
            f"unknown job {name!r}{hint}",
            "Name a job of orchestration.jobs or of an asset module",
            locate=locate,
        )
    return job
