"""Checks across entries of floe.yaml: names that must exist, ranges that must fit, runs that must not loop.

They run on the loaded document (not on validated models), so a file with type errors still gets its dangling
references reported in the same pass.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from floe_config.errors import ConfigIssue
from floe_config.validation_issues import did_you_mean
from floe_config.yaml_loading import KeyPath, SourceMap

_ORCH = "orchestration"


def cross_reference_issues(data: Any, source_map: SourceMap) -> list[ConfigIssue]:
    """Return every cross-reference problem of a loaded floe.yaml document.

    Args:
        data: The loaded document (plain values).
        source_map: Where each value is in the file.

    Returns:
        The problems found; empty when every reference resolves.
    """
    if not isinstance(data, dict) or not isinstance(data.get(_ORCH), dict):
        return []
    orchestration: dict[str, Any] = data[_ORCH]
    checker = _Checker(orchestration, source_map)
    checker.check_job_references()
    checker.check_partition_references()
    checker.check_backfill_ranges()
    checker.check_function_targets()
    checker.check_run_status_cycles()
    checker.check_automation_names()
    return checker.issues


def _section(orchestration: dict[str, Any], name: str) -> dict[str, Any]:
    section = orchestration.get(name)
    return section if isinstance(section, dict) else {}


def _entries(section: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, entry) for name, entry in section.items() if isinstance(entry, dict)]


class _Checker:
    def __init__(self, orchestration: dict[str, Any], source_map: SourceMap) -> None:
        self.orchestration = orchestration
        self.source_map = source_map
        self.jobs = _section(orchestration, "jobs")
        self.partitions = _section(orchestration, "partitions")
        self.issues: list[ConfigIssue] = []

    def _add(self, path: KeyPath, message: str, *, at_key: bool = False) -> None:
        self.issues.append(self.source_map.issue(path, self.source_map.redact(path, message), at_key=at_key))

    def _unknown(self, what: str, name: str, known: dict[str, Any], section: str) -> str:
        shown = repr(name)
        if not known:
            return f"unknown {what} {shown}: orchestration.{section} defines none"
        hint = did_you_mean(name, list(known))
        if hint:
            return f"unknown {what} {shown}{hint}"
        return f"unknown {what} {shown}; defined {section}: {', '.join(sorted(known))}"

    def _check_job(self, path: KeyPath, name: Any) -> None:
        if isinstance(name, str) and name not in self.jobs:
            self._add(
                path,
                self._unknown("job", self.source_map_display(path, name), self.jobs, "jobs"),
            )

    def source_map_display(self, path: KeyPath, name: str) -> str:
        interpolation = self.source_map.interpolations.get(path)
        return interpolation.written if interpolation is not None and interpolation.from_environment else name

    def check_job_references(self) -> None:
        for section in ("schedules", "sensors", "backfills"):
            for name, entry in _entries(_section(self.orchestration, section)):
                self._check_job((_ORCH, section, name, "job"), entry.get("job"))
        for name, sensor in _entries(_section(self.orchestration, "sensors")):
            watched = sensor.get("watched_jobs")
            if sensor.get("type") == "run_status" and isinstance(watched, list):
                for index, job in enumerate(watched):
                    self._check_job((_ORCH, "sensors", name, "watched_jobs", index), job)

    def check_partition_references(self) -> None:
        references: list[tuple[KeyPath, Any]] = [
            ((_ORCH, "assets", pattern, "partitions"), entry.get("partitions"))
            for pattern, entry in _entries(_section(self.orchestration, "assets"))
        ]
        references += [
            ((_ORCH, "jobs", name, "partitions"), job.get("partitions")) for name, job in _entries(self.jobs)
        ]
        for path, name in references:
            if isinstance(name, str) and name not in self.partitions:
                shown = self.source_map_display(path, name)
                self._add(
                    path,
                    self._unknown("partitions", shown, self.partitions, "partitions"),
                )

    def check_backfill_ranges(self) -> None:
        for name, backfill in _entries(_section(self.orchestration, "backfills")):
            path: KeyPath = (_ORCH, "backfills", name)
            job_name = backfill.get("job")
            job = self.jobs.get(job_name) if isinstance(job_name, str) else None
            if isinstance(job, dict) and job.get("type") == "ops":
                self._add(
                    (*path, "job"),
                    f"backfills need a batch job; {backfill['job']!r} is an ops job with no partitions",
                )
                continue
            bounds = backfill.get("partition_range")
            if not isinstance(bounds, dict):
                continue
            start, end = bounds.get("start"), bounds.get("end")
            if not (isinstance(start, str) and isinstance(end, str)):
                continue
            range_path: KeyPath = (*path, "partition_range")
            start_date, end_date = _iso_date(start), _iso_date(end)
            if start_date and end_date and start_date > end_date:
                self._add(
                    (*range_path, "start"),
                    f"range start {start!r} is after its end {end!r}",
                )
                continue
            definition_name = job.get("partitions") if isinstance(job, dict) else None
            definition = self.partitions.get(definition_name) if isinstance(definition_name, str) else None
            if isinstance(definition, dict):
                self._check_range_fits(range_path, start, end, str(definition_name), definition)

    def _check_range_fits(
        self,
        range_path: KeyPath,
        start: str,
        end: str,
        definition_name: str,
        definition: dict[str, Any],
    ) -> None:
        kind = definition.get("type")
        if kind == "static" and isinstance(definition.get("partition_keys"), list):
            keys = [str(key) for key in definition["partition_keys"]]
            for bound, key in (("start", start), ("end", end)):
                if key not in keys:
                    message = f"{key!r} is not a key of partitions {definition_name!r}{did_you_mean(key, keys)}"
                    self._add((*range_path, bound), message)
            if start in keys and end in keys and keys.index(start) > keys.index(end):
                self._add(
                    (*range_path, "start"),
                    f"range start {start!r} comes after its end {end!r}",
                )
            return
        if kind not in (
            "time_window",
            "daily",
            "hourly",
            "weekly",
            "monthly",
        ) or definition.get("fmt"):
            return
        first = _iso_date(definition.get("start"))
        last = _iso_date(definition.get("end"))
        start_date, end_date = _iso_date(start), _iso_date(end)
        if first and start_date and start_date < first:
            message = f"range start {start!r} is before partitions {definition_name!r} start at {first.isoformat()}"
            self._add((*range_path, "start"), message)
        if last and end_date and end_date >= last:
            message = f"range end {end!r} is not before partitions {definition_name!r} end at {last.isoformat()}"
            self._add((*range_path, "end"), message)

    def check_function_targets(self) -> None:
        allowed = {str(name) for name in self.orchestration.get("allowed_function_packages") or [] if name}
        modules = self.orchestration.get("asset_modules")
        if isinstance(modules, list):
            allowed |= {module.split(".")[0] for module in modules if isinstance(module, str) and module[:1] != "."}
        targets: list[tuple[KeyPath, Any]] = [
            ((_ORCH, section, name, "target_function"), entry.get("target_function"))
            for section in ("jobs", "sensors")
            for name, entry in _entries(_section(self.orchestration, section))
        ]
        for path, target in targets:
            if not isinstance(target, str) or ":" not in target or target.startswith("."):
                continue
            package = target.split(":", 1)[0].split(".")[0]
            if package and package not in allowed:
                self._add(
                    path,
                    f"target function {self.source_map_display(path, target)!r} is outside the project; use a module "
                    f"relative to floe.yaml (e.g. '.ops:{target.split(':', 1)[1]}') or list {package!r} in "
                    "orchestration.allowed_function_packages",
                )

    def check_run_status_cycles(self) -> None:
        edges: dict[str, list[tuple[str, str]]] = {}
        for name, sensor in _entries(_section(self.orchestration, "sensors")):
            watched, job = sensor.get("watched_jobs"), sensor.get("job")
            if sensor.get("type") != "run_status" or not isinstance(watched, list) or not isinstance(job, str):
                continue
            for source in watched:
                if isinstance(source, str):
                    edges.setdefault(source, []).append((job, name))
        reported: set[frozenset[str]] = set()
        for start in sorted(edges):
            cycle = _find_cycle(start, edges)
            if cycle is None or frozenset(cycle[0]) in reported:
                continue
            jobs, sensors = cycle
            reported.add(frozenset(jobs))
            chain = " -> ".join([*jobs, jobs[0]])
            self._add(
                (_ORCH, "sensors", sensors[-1]),
                f"run-status sensors form a cycle ({chain}): each run would trigger the next forever; break the cycle",
                at_key=True,
            )

    def check_automation_names(self) -> None:
        schedules = _section(self.orchestration, "schedules")
        for name in _section(self.orchestration, "sensors"):
            if name in schedules:
                self._add(
                    (_ORCH, "sensors", name),
                    f"sensor {name!r} has the same name as a schedule; Dagster needs distinct names, rename one",
                    at_key=True,
                )


def _find_cycle(start: str, edges: dict[str, list[tuple[str, str]]]) -> tuple[list[str], list[str]] | None:
    """Depth-first search for a path of jobs from ``start`` back to ``start``; returns (jobs, sensors)."""
    stack: list[tuple[str, list[str], list[str]]] = [(start, [start], [])]
    visited: set[str] = set()
    while stack:
        job, jobs, sensors = stack.pop()
        for target, sensor in edges.get(job, []):
            if target == start:
                return jobs, [*sensors, sensor]
            if target not in visited:
                visited.add(target)
                stack.append((target, [*jobs, target], [*sensors, sensor]))
    return None


def _iso_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value).date() if "T" in value or " " in value else dt.date.fromisoformat(value)
    except ValueError:
        return None
