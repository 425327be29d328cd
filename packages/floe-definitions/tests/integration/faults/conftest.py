"""Fixtures for the fault tests: private copies of a tiny floe project, real Dagster runs, real local endpoints.

Every run goes through Dagster's own path (``execute_job`` on a reconstructable job, floe's observed executor,
dagster-dbt running real dbt on DuckDB). Endpoints are real HTTP servers on 127.0.0.1 in a thread, and the gRPC
span collector is a real grpcio server serving opentelemetry-proto's ``TraceService`` (floe-test-support's
``http_endpoints_factory`` and ``grpc_collector_factory``); nothing is mocked. A
project copy's asset package gets a unique name because one process imports each top-level package once.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from dagster import DagsterInstance, execute_job, instance_for_test

from floe_test_support.reconstruct import reconstructable_job
from otlp_spans import read_spans

PROJECT = Path(__file__).parent / "project"
PLATFORM_BASE = "environment: fault-tests\nexecution:\n  executor: {type: in_process}\n"
_package_numbers = itertools.count()


@dataclass(frozen=True)
class FaultProject:
    """A private copy of the fault tests' project with its own warehouse."""

    root: Path
    package: str
    warehouse: Path

    @property
    def traces_file(self) -> Path:
        return self.root / ".floe" / "traces" / "faulty.jsonl"

    @property
    def lineage_file(self) -> Path:
        return self.root / ".floe" / "lineage" / "faulty.jsonl"

    def spans(self) -> list[dict[str, Any]]:
        """Spans the file exporter wrote (OTLP/JSON lines, one record per span)."""
        return read_spans(self.traces_file)

    def lineage(self) -> list[dict[str, Any]]:
        """OpenLineage events the file transport wrote."""
        if not self.lineage_file.exists():
            return []
        return [json.loads(line) for line in self.lineage_file.read_text().splitlines() if line.strip()]

    def write_platform(self, extra: str = "") -> Path:
        """Write ``platform.yaml`` (in-process executor plus ``extra``) and return its path."""
        path = self.root / "platform.yaml"
        path.write_text(PLATFORM_BASE + extra, encoding="utf-8")
        return path

    def env(self) -> dict[str, str]:
        return {"FLOE_TEST_WAREHOUSE": str(self.warehouse), "FLOE_PLATFORM_FILE": str(self.root / "platform.yaml")}


@dataclass(frozen=True)
class RunOutcome:
    """What one Dagster run of a fault project did."""

    success: bool
    run_id: str
    seconds: float
    dagster_messages: list[tuple[int, str]]
    """(level, message) of every Dagster log event of the run."""
    materialized: set[str]
    """Asset keys (``a/b``) materialized by the run."""
    failed_steps: set[str]
    failures: list[str] = field(default_factory=list)
    """The error text of each step failure (message and causes), as the Dagster UI shows it."""

    def warnings(self) -> list[str]:
        return [message for level, message in self.dagster_messages if level >= logging.WARNING]


def make_project(base: Path, mutate: Callable[[Path], None] | None = None) -> FaultProject:
    """Copy the project under ``base``; ``mutate(root)`` may break it before it is loaded."""
    root = base / "project"
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns(".floe", "target", "logs", "__pycache__", "*.duckdb"))
    package = f"fault_assets_{os.getpid()}_{next(_package_numbers)}"
    (root / "fault_assets").rename(root / package)
    floe_yaml = root / "floe.yaml"
    floe_yaml.write_text(floe_yaml.read_text().replace(".fault_assets.", f".{package}."), encoding="utf-8")
    if mutate is not None:
        mutate(root)
    project = FaultProject(root=root, package=package, warehouse=base / "warehouse.duckdb")
    project.write_platform()
    return project


def run_job(
    project: FaultProject,
    monkeypatch: pytest.MonkeyPatch,
    job: str = "everything",
    instance: DagsterInstance | None = None,
) -> RunOutcome:
    """Load the project's code location (with its current platform.yaml) and execute ``job`` through Dagster."""
    for key, value in project.env().items():
        monkeypatch.setenv(key, value)
    home = project.root / ".floe" / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    with instance_for_test(temp_dir=str(home), set_dagster_home=False) as own_instance:
        active = instance or own_instance
        started = time.perf_counter()
        recon = reconstructable_job(project.root / "definitions.py", job)
        result = execute_job(recon, instance=active, raise_on_error=False)
        seconds = time.perf_counter() - started
        records = active.all_logs(result.run_id)
        messages = [(record.level, record.message or "") for record in records]
        materialized = {
            record.dagster_event.asset_key.to_user_string()
            for record in records
            if record.dagster_event is not None
            and record.dagster_event.is_step_materialization
            and record.dagster_event.asset_key is not None
        }
        failed_steps = {
            record.dagster_event.step_key or ""
            for record in records
            if record.dagster_event is not None and record.dagster_event.is_step_failure
        }
        failures = [
            _error_text(record.dagster_event.event_specific_data)
            for record in records
            if record.dagster_event is not None and record.dagster_event.is_step_failure
        ]
    return RunOutcome(
        success=result.success,
        run_id=result.run_id,
        seconds=seconds,
        dagster_messages=messages,
        materialized=materialized,
        failed_steps=failed_steps,
        failures=failures,
    )


def _error_text(data: Any) -> str:
    """The user-facing text of a step failure: its error's message and every cause's, innermost last."""
    error = getattr(data, "error", None)
    parts: list[str] = []
    while error is not None:
        parts.append(f"{error.cls_name}: {error.message}")
        error = error.cause
    return "\n".join(parts)


@pytest.fixture(scope="module")
def project_in_module() -> Callable[..., FaultProject]:
    """``project_in_module(base, mutate=None)``: :func:`make_project` for module-scoped fixtures.

    Dagster caches a code location per definitions file, so a project copy keeps the platform it was first
    loaded with: use one copy per platform configuration.
    """
    return make_project


@pytest.fixture
def run_floe_job(monkeypatch: pytest.MonkeyPatch, openlineage_conformance: ModuleType) -> Callable[..., RunOutcome]:
    """``run_floe_job(project, job="everything")``: one real Dagster run of the project (see :func:`run_job`).

    Every lineage event the project's file transport holds afterwards must validate against the official
    OpenLineage schemas.
    """

    def run(project: FaultProject, job: str = "everything") -> RunOutcome:
        outcome = run_job(project, monkeypatch, job)
        events = project.lineage()
        if events:
            openlineage_conformance.validate_events(events)
        return outcome

    return run


@pytest.fixture
def fault_project(tmp_path: Path) -> Callable[..., FaultProject]:
    """``fault_project(mutate=None)``: a fresh private copy of the project, optionally broken by ``mutate(root)``."""
    return lambda mutate=None: make_project(tmp_path, mutate)


@pytest.fixture(scope="module")
def run_in_module() -> Iterator[Callable[..., RunOutcome]]:
    """Like ``run_floe_job`` for module-scoped fixtures (its environment changes are undone after the module)."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield lambda project, job="everything": run_job(project, monkeypatch, job)
