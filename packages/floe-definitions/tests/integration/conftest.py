from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dagster import DagsterEventType, execute_job, instance_for_test

from floe_definitions import FloeProject, load_project
from floe_test_support.reconstruct import reconstructable_job
from otlp_spans import read_spans

PROJECT = Path(__file__).parent / "project"
IN_PROCESS_PLATFORM = "environment: test\nexecution:\n  executor: {type: in_process}\n"


@dataclass(frozen=True)
class ProjectCopy:
    """A private copy of the fixture project with its own warehouse and platform file."""

    root: Path
    env: dict[str, str]

    @property
    def floe_yaml(self) -> Path:
        return self.root / "floe.yaml"

    def spans(self) -> list[dict[str, Any]]:
        return read_spans(self.root / ".floe" / "traces" / "tiny.jsonl")

    def lineage(self) -> list[dict[str, Any]]:
        path = self.root / ".floe" / "lineage" / "tiny.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@dataclass(frozen=True)
class RunOutcome:
    copy: ProjectCopy
    success: bool
    run_id: str
    materializations: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Asset key -> metadata values of the run's materializations."""


def make_copy(base: Path, *, break_staging: bool = False, package: str = "fixture_assets") -> ProjectCopy:
    """Copy the project; ``package`` renames its asset package (one process imports each top-level name once)."""
    root = base / "project"
    shutil.copytree(PROJECT, root, ignore=shutil.ignore_patterns(".floe", "target", "__pycache__", "*.duckdb"))
    if package != "fixture_assets":
        (root / "fixture_assets").rename(root / package)
        floe_yaml = root / "floe.yaml"
        floe_yaml.write_text(floe_yaml.read_text().replace(".fixture_assets.", f".{package}."))
    if break_staging:
        (root / "dbt" / "models" / "staging" / "stg_numbers.sql").write_text(
            "select definitely_not_a_column from {{ source('raw', 'numbers') }}\n"
        )
    (root / "platform.yaml").write_text(IN_PROCESS_PLATFORM)
    env = {"FLOE_TEST_WAREHOUSE": str(base / "warehouse.duckdb"), "FLOE_PLATFORM_FILE": str(root / "platform.yaml")}
    return ProjectCopy(root=root, env=env)


def run_everything(copy: ProjectCopy, job: str = "everything") -> RunOutcome:
    """Execute a job of the copy's code location through Dagster (reconstructable, floe's executor)."""
    home = copy.root / ".floe" / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in copy.env.items():
            monkeypatch.setenv(key, value)
        with instance_for_test(temp_dir=str(home), set_dagster_home=False) as instance:
            recon = reconstructable_job(copy.root / "definitions.py", job)
            result = execute_job(recon, instance=instance, raise_on_error=False)
            records = instance.get_records_for_run(
                result.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
            ).records
            materializations = {
                record.asset_key.to_user_string(): {
                    key: value.value
                    for key, value in record.event_log_entry.asset_materialization.metadata.items()  # type: ignore[union-attr]
                }
                for record in records
                if record.asset_key is not None
            }
            return RunOutcome(
                copy=copy, success=result.success, run_id=result.run_id, materializations=materializations
            )


@pytest.fixture(scope="session")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> ProjectCopy:
    return make_copy(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def loaded_project(project_copy: ProjectCopy) -> FloeProject:
    """The fixture project loaded once (this runs `dbt parse` with an absolute project dir)."""
    return load_project(project_copy.floe_yaml, environ={**os.environ, **project_copy.env})


@pytest.fixture(scope="session")
def successful_run(project_copy: ProjectCopy, loaded_project: FloeProject) -> RunOutcome:
    return run_everything(project_copy)


@pytest.fixture(scope="session")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> RunOutcome:
    return run_everything(make_copy(tmp_path_factory.mktemp("broken"), break_staging=True, package="broken_assets"))


@pytest.fixture(scope="session")
def copy_project() -> Any:
    """``make_copy`` for tests that need a fresh copy of their own (no ``.floe``, no dbt target yet)."""
    return make_copy


@pytest.fixture(scope="session")
def run_copy() -> Any:
    """``run_everything`` for tests that run a copy of their own."""
    return run_everything
