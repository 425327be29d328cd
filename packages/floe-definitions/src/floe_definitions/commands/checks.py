"""Deep check of a floe project against its real asset graph, aggregated in one located report.

Beyond floe-config's validation: the definitions must build (modules import, manifest loads, functions import),
every term of a job's selection union must resolve to at least one asset, watched assets must exist, asset
patterns should match something (warning), the asset graph must have no cycle, and partitioned jobs and backfills
must agree with their assets' partitions. Dagster's own validation of the code location runs last.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import dagster as dg

from floe_config import ConfigError
from floe_config.integration import AssetSensor, BatchJob, ConfigFileError
from floe_definitions.commands.dry_run import check_configured_sinks, dry_run_telemetry
from floe_definitions.errors import ConfigNotFoundError, ExecutorConfigError, FloeDefinitionsError, LocatedError
from floe_definitions.execution.executors import dagster_executor
from floe_definitions.instance.deployment_checks import check_deployment
from floe_definitions.project import FloeProject, load_project
from floe_definitions.telemetry.sinks import TelemetryOverrideWarning
from floe_loaders import FloeLoaderError
from floe_loaders.integration import parse_selection, unmatched_terms

if TYPE_CHECKING:
    from floe_definitions._compat import AssetGraph

Severity = Literal["error", "warning"]
Report = Callable[[Severity, str, str], None]


@dataclass(frozen=True)
class CheckIssue:
    """One finding of ``floe check``.

    Attributes:
        severity: ``error`` (the project cannot run as configured) or ``warning``.
        location: ``file:line:column`` (or the file alone).
        key: Dotted key of the entry at fault.
        message: What is wrong and what to do.
    """

    severity: Severity
    location: str
    key: str
    message: str

    def __str__(self) -> str:
        """Render as ``location: severity: key: message``."""
        key = f"{self.key}: " if self.key else ""
        return f"{self.location}: {self.severity}: {key}{self.message}"


@dataclass(frozen=True)
class CheckReport:
    """Every finding of one check, errors and warnings together.

    Attributes:
        issues: The findings, in the order found.
        summary: Counts of what was checked (assets, jobs...), when the project loaded.
    """

    issues: tuple[CheckIssue, ...] = ()
    summary: Mapping[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when there is no error (warnings allowed)."""
        return not self.errors

    @property
    def errors(self) -> tuple[CheckIssue, ...]:
        """The errors."""
        return tuple(issue for issue in self.issues if issue.severity == "error")

    @property
    def warnings(self) -> tuple[CheckIssue, ...]:
        """The warnings."""
        return tuple(issue for issue in self.issues if issue.severity == "warning")

    def to_dict(self) -> dict[str, Any]:
        """Return the report as JSON-ready data (``floe check --format json``)."""
        return {
            "ok": self.ok,
            "summary": dict(self.summary),
            "issues": [
                {"severity": i.severity, "location": i.location, "key": i.key, "message": i.message}
                for i in self.issues
            ],
        }


def check_floe_yaml(
    path: str | os.PathLike[str] | None = None,
    *,
    platform: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    dry: bool = False,
    connect: bool = False,
) -> CheckReport:
    """Load and deep-check a floe.yaml; never raises for a problem of the project itself.

    Args:
        path: floe.yaml or its directory; else ``FLOE_CONFIG``, else the current directory.
        platform: The platform file; else ``FLOE_PLATFORM_FILE`` / ``FLOE_PLATFORM_ENV`` / defaults.
        environ: Environment for interpolation; ``os.environ`` when omitted.
        dry: Write nothing: telemetry sinks discard, and only the sinks that can fail are built to check them
            (``floe check`` passes true; dbt still writes ``target/`` when it has to parse a missing manifest).
        connect: Also connect to the instance storage and the Celery broker, reporting the driver's reason.

    Returns:
        The report; ``report.ok`` is false when anything prevents the project from running.

    Raises:
        ConfigNotFoundError: No floe.yaml where it was looked for.
        floe_config.errors.ConfigFileError: floe.yaml or the chosen platform file cannot be read.
    """
    overrides: list[TelemetryOverrideWarning] = []
    try:
        if dry:
            project = load_project(path, platform=platform, environ=environ, **dry_run_telemetry())
            overrides = check_configured_sinks(
                project.spec, project.platform, project.base_dir, environ, locate=project.platform_locate
            )
        else:
            project = load_project(path, platform=platform, environ=environ)
    except ConfigFileError:
        raise
    except ConfigError as exc:
        return CheckReport(
            tuple(
                CheckIssue("error", f"{issue.file}:{issue.line}:{issue.column}", issue.path, issue.message)
                for issue in exc.issues
            )
        )
    except LocatedError as exc:
        return CheckReport((CheckIssue("error", exc.location or "floe.yaml", exc.key or "", exc.message),))
    except ConfigNotFoundError:
        raise
    except FloeDefinitionsError as exc:
        return CheckReport((CheckIssue("error", os.fspath(path or "floe.yaml"), "", str(exc)),))
    report = check_project(project, connect=connect)
    if not overrides:
        return report
    ignored = tuple(
        CheckIssue(
            "warning",
            w.location,
            w.key,
            f"{w.variable} is set but ignored: the platform file's {w.key} wins over the standard variables; remove "
            f"{w.key} from the platform file to use {w.variable}, or unset {w.variable}",
        )
        for w in overrides
    )
    return replace(report, issues=report.issues + ignored)


def check_project(project: FloeProject, *, connect: bool = False) -> CheckReport:
    """Deep-check a loaded project against its asset graph and the machine it runs on.

    Args:
        project: The loaded project.
        connect: Also connect to the instance storage and the Celery broker (``floe check --connect``).

    Returns:
        The report.
    """
    issues: list[CheckIssue] = []
    locate = project.locate

    def add(severity: Severity, key: str, message: str) -> None:
        issues.append(CheckIssue(severity, locate(key), key, message))

    deployment = check_deployment(project.platform, project.platform_locate, connect=connect)
    for problem in deployment:
        issues.append(CheckIssue("error", problem.location or "platform defaults", problem.key or "", problem.message))
    try:
        dagster_executor(project.platform.execution.executor)
    except ExecutorConfigError as exc:
        if not any(problem.key == exc.key for problem in deployment):
            where = os.fspath(project.platform_file) if project.platform_file else "platform defaults"
            issues.append(CheckIssue("error", where, exc.key or "execution.executor", exc.message))
    for warning in project.orchestration.warnings:
        issues.append(CheckIssue("warning", warning.location, warning.path, warning.message))
    definitions = project.definitions
    try:
        asset_graph = definitions.resolve_asset_graph()
    except Exception as exc:  # Dagster rejects the graph as a whole
        add("error", "orchestration", f"Dagster rejects the asset graph: {exc}")
        return CheckReport(tuple(issues))
    all_keys = asset_graph.get_all_asset_keys()
    has_cycle = _check_cycles(asset_graph, add)
    orchestration = project.spec.orchestration
    selected_by_job: dict[str, set[dg.AssetKey]] = {}
    for name, job in orchestration.jobs.items():
        if not isinstance(job, BatchJob):
            continue
        key = f"orchestration.jobs.{name}.selection"
        try:
            selection = parse_selection(job.selection, path=key, locate=locate)
            selected = set(selection.resolve(asset_graph)) & {
                k for k in all_keys if asset_graph.get(k).is_materializable
            }
        except FloeLoaderError as exc:
            add("error", exc.path, f"{exc.what}. {exc.fix}")
            continue
        except Exception as exc:
            add("error", key, f"selection {job.selection} cannot be resolved: {exc}")
            continue
        selected_by_job[name] = selected
        for term in unmatched_terms(job.selection, asset_graph):
            add(
                "error",
                f"{key}.{term.index}",
                f"selection term {term.text!r} matches no asset{term.hint}; every term of the union must select "
                "at least one asset (`floe list` shows the assets, their groups and tags)",
            )
        _check_job_partitions(name, job, selected, asset_graph, project, add)
    for name, sensor in orchestration.sensors.items():
        if not isinstance(sensor, AssetSensor):
            continue
        for index, written in enumerate(sensor.watched_assets):
            if dg.AssetKey.from_user_string(written) not in all_keys:
                add(
                    "error",
                    f"orchestration.sensors.{name}.watched_assets.{index}",
                    f"watched asset {written!r} does not exist; known keys are listed by `floe list`",
                )
    for name, backfill in orchestration.backfills.items():
        key = f"orchestration.backfills.{name}.job"
        if backfill.job in selected_by_job and not _job_partitions(backfill.job, project, selected_by_job, asset_graph):
            add("error", key, f"job {backfill.job!r} has no partitioned asset, so the backfill has nothing to fill")
    try:
        dg.Definitions.validate_loadable(definitions)
    except Exception as exc:
        if not has_cycle:  # Dagster's cycle message repeats the one reported above, in a random order
            add("error", "orchestration", f"Dagster rejects the code location: {exc}")
    dbt_types = Counter(dbt_resource_type(asset_graph.get(key).metadata) for key in project.dbt_asset_keys)
    summary = {
        "assets": sum(1 for k in all_keys if asset_graph.get(k).is_materializable),
        "dbt models": dbt_types.pop("model", 0),
        **{f"dbt {kind}s": count for kind, count in sorted(dbt_types.items())},
        "jobs": len(orchestration.jobs),
        "schedules": len(orchestration.schedules),
        "sensors": len(orchestration.sensors),
        "backfills": len(orchestration.backfills),
    }
    return CheckReport(tuple(issues), summary)


def dbt_resource_type(metadata: Mapping[str, Any]) -> str:
    """Return a dbt asset's resource type (``model``, ``seed``, ``snapshot``) from dagster-dbt's metadata."""
    unique_id = str(metadata.get(_DBT_UNIQUE_ID_METADATA_KEY) or "")
    return unique_id.split(".", 1)[0] if "." in unique_id else "dbt"


_DBT_UNIQUE_ID_METADATA_KEY = "dagster_dbt/unique_id"
"""The metadata key dagster-dbt sets on every dbt asset (``model.shop.orders``, ``seed.shop.raw``)."""


def _check_cycles(asset_graph: AssetGraph, add: Report) -> bool:
    """Report one dependency cycle of the asset graph, the same one every time; return whether there is one."""
    cycle = _find_cycle({key: set(asset_graph.get(key).parent_keys) for key in asset_graph.get_all_asset_keys()})
    if cycle is None:
        return False
    path = " -> ".join(key.to_user_string() for key in cycle)
    message = f"the assets form a dependency cycle: {path} (each depends on the next); remove one of these dependencies"
    add("error", "orchestration", message)
    return True


def _find_cycle(parents: Mapping[dg.AssetKey, set[dg.AssetKey]]) -> list[dg.AssetKey] | None:
    """Return a cycle as a closed path starting at its smallest key, or None; iterative DFS in sorted order."""
    state: dict[dg.AssetKey, int] = {}  # 1: on the current path, 2: done
    for root in sorted(parents, key=lambda key: key.to_user_string()):
        if root in state:
            continue
        path: list[dg.AssetKey] = [root]
        stack = [iter(sorted(parents.get(root, ()), key=lambda key: key.to_user_string()))]
        state[root] = 1
        while stack:
            child = next(stack[-1], None)
            if child is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(child) == 1:
                cycle = path[path.index(child) :]
                start = min(range(len(cycle)), key=lambda i: cycle[i].to_user_string())
                ordered = cycle[start:] + cycle[:start]
                return [*ordered, ordered[0]]
            elif child not in state:
                state[child] = 1
                path.append(child)
                stack.append(iter(sorted(parents.get(child, ()), key=lambda key: key.to_user_string())))
    return None


def _job_partitions(
    name: str, project: FloeProject, selected_by_job: Mapping[str, set[dg.AssetKey]], asset_graph: AssetGraph
) -> set[str]:
    return {
        str(asset_graph.get(key).partitions_def)
        for key in selected_by_job.get(name, set())
        if asset_graph.get(key).partitions_def is not None
    }


def _check_job_partitions(
    name: str,
    job: BatchJob,
    selected: set[dg.AssetKey],
    asset_graph: AssetGraph,
    project: FloeProject,
    add: Report,
) -> None:
    """A job's partitioned assets must share one partitions definition, the job's own when it names one."""
    by_partitions: dict[str, list[str]] = {}
    for key in sorted(selected, key=lambda k: k.to_user_string()):
        partitions_def = asset_graph.get(key).partitions_def
        if partitions_def is not None:
            by_partitions.setdefault(str(partitions_def), []).append(key.to_user_string())
    if len(by_partitions) > 1:
        listed = "; ".join(f"{definition}: {', '.join(keys)}" for definition, keys in by_partitions.items())
        add(
            "error",
            f"orchestration.jobs.{name}.selection",
            f"the job's assets have different partitions ({listed}); split the job or align the asset patterns",
        )
    if job.partitions is not None:
        wanted = project.orchestration.partitions.get(job.partitions)
        if wanted is not None and by_partitions and str(wanted) not in by_partitions:
            add(
                "error",
                f"orchestration.jobs.{name}.partitions",
                f"the job runs over {job.partitions!r} ({wanted}) but its assets are partitioned by "
                f"{', '.join(by_partitions)}; give the assets {job.partitions!r} with an asset pattern",
            )
