"""Fixtures for the demo's tests: a temporary warehouse, bronze materializations and one shared dbt build.

Importing ``demo``: the demo is a uv *virtual* workspace member (``package = false``), so nothing installs it.
With the repository's pytest settings (rootdir = repository root, ``--import-mode=importlib``) pytest already
imports ``demo/__init__.py`` as the parent package of ``demo.tests.conftest``; the ``sys.path`` line below also
makes ``import demo.assets...`` work when pytest runs with another rootdir (e.g. ``--rootdir demo``). It is
not a ``pythonpath`` ini setting because that would need a pytest table in ``demo/pyproject.toml``, which would
shadow the repository's pytest configuration for these tests.
"""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from dagster import ExecuteInProcessResult, materialize  # noqa: E402
from demo.assets import bronze  # noqa: E402
from demo.assets.warehouse import WAREHOUSE_ENV  # noqa: E402

DBT_PROJECT_DIR = REPO_ROOT / "demo" / "dbt"
BRONZE_ASSETS = [bronze.raw_customers, bronze.raw_products, bronze.raw_orders, bronze.raw_order_items]
DBT_PARTITIONS = ["2024-01-01", "2024-01-02", "2024-01-03"]


def _materialize_bronze(partition_key: str | None = None, tags: dict[str, str] | None = None) -> ExecuteInProcessResult:
    """Materialize the bronze assets in process: one partition, or a partition range given by run tags."""
    assets = BRONZE_ASSETS if tags is None else [bronze.raw_orders, bronze.raw_order_items]
    return materialize(assets, partition_key=partition_key, tags=tags)


@pytest.fixture
def warehouse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ``FLOE_DEMO_WAREHOUSE`` at a DuckDB file in this test's temporary directory."""
    path = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv(WAREHOUSE_ENV, str(path))
    monkeypatch.delenv("FLOE_DEMO_ALERTS_LOG", raising=False)
    return path


@pytest.fixture
def materialize_bronze(warehouse: Path) -> Callable[..., ExecuteInProcessResult]:
    """Return a function materializing the bronze assets into the test's warehouse."""
    return _materialize_bronze


@dataclass(frozen=True)
class DbtBuild:
    """One ``dbt build`` of the demo project against a warehouse holding three bronze partitions."""

    process: subprocess.CompletedProcess[str]
    warehouse: Path
    target_path: Path

    def run_results(self) -> dict[str, Any]:
        """Return dbt's ``run_results.json`` for this build."""
        results: dict[str, Any] = json.loads((self.target_path / "run_results.json").read_text())
        return results

    def manifest(self) -> dict[str, Any]:
        """Return dbt's ``manifest.json`` for this build."""
        manifest: dict[str, Any] = json.loads((self.target_path / "manifest.json").read_text())
        return manifest


def dbt_executable() -> Path:
    """Return the ``dbt`` installed beside this interpreter (the nox or dev venv)."""
    dbt = Path(sys.executable).parent / "dbt"
    assert dbt.exists(), f"no dbt executable beside {sys.executable}"
    return dbt


def run_dbt(*args: str, warehouse: Path, target_path: Path) -> subprocess.CompletedProcess[str]:
    """Run dbt on the demo project with an absolute ``--project-dir``; target and logs go under ``target_path``."""
    env = {**os.environ, WAREHOUSE_ENV: str(warehouse), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.pop("DBT_PROFILES_DIR", None)
    return subprocess.run(
        [
            str(dbt_executable()),
            *args,
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(target_path),
            "--log-path",
            str(target_path / "logs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="session")
def dbt_build(tmp_path_factory: pytest.TempPathFactory) -> DbtBuild:
    """Materialize three bronze partitions, then ``dbt build`` the demo project once for the whole session."""
    root = tmp_path_factory.mktemp("dbt_build")
    warehouse = root / "warehouse.duckdb"
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(WAREHOUSE_ENV, str(warehouse))
        for partition_key in DBT_PARTITIONS:
            assert _materialize_bronze(partition_key).success
    process = run_dbt("build", warehouse=warehouse, target_path=root / "target")
    return DbtBuild(process=process, warehouse=warehouse, target_path=root / "target")
