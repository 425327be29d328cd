"""Dataset identity through floe.yaml and ``floe run`` equals dbt-ol's for the same dbt profile.

dbt-ol (OpenLineage's dbt integration, openlineage-dbt at the locked openlineage-python version) names a warehouse
by the profile it reads: ``duckdb://<path as the profile writes it>``, ``postgres://<host>:<port>``. Each test runs
a floe.yaml project with ``floe run`` (the whole user path: floe.yaml, the facade, the executor, dbt on a real
warehouse, the OpenLineage file transport) and compares every warehouse dataset's namespace with the one dbt-ol's
own code derives from the project's profile and the run's dbt artifacts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from floe_test_support.postgres import PostgresServer

FLOE = str(Path(sys.executable).with_name("floe"))
IN_PROCESS_PLATFORM = "environment: test\nexecution:\n  executor: {type: in_process}\n"


def _floe_run(root: Path, env: Mapping[str, str], job: str) -> subprocess.CompletedProcess[str]:
    clean = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOE_", "DAGSTER_", "OTEL_", "OPENLINEAGE"))
    }
    return subprocess.run(
        [FLOE, "run", job, str(root)],
        cwd=root,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def _lineage(root: Path, pipeline: str) -> list[dict[str, Any]]:
    path = root / ".floe" / "lineage" / f"{pipeline}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _dataset_namespaces(events: list[dict[str, Any]], producer_part: str) -> set[str]:
    return {
        dataset["namespace"]
        for event in events
        if producer_part in event["producer"]
        for dataset in [*event.get("inputs", []), *event.get("outputs", [])]
    }


def dbt_ol_namespace(dbt_dir: Path, env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch) -> str:
    """Return the dataset namespace dbt-ol's own code gives the dbt project's profile."""
    local = pytest.importorskip("openlineage.common.provider.dbt.local", reason="openlineage-dbt (test group)")
    for key, value in env.items():  # dbt-ol renders env_var() from its own environment
        monkeypatch.setenv(key, value)
    processor = local.DbtLocalArtifactProcessor(
        producer="https://github.com/OpenLineage/OpenLineage/tree/main/integration/dbt",
        job_namespace="identity-test",
        project_dir=str(dbt_dir),
        dbt_command_line=["dbt", "build", "--profiles-dir", str(dbt_dir)],
    )
    # get_dbt_metadata's own profile lookup (dagster-dbt writes run_results.json under a per-invocation target path)
    profiles = processor.load_yaml_with_jinja(str(dbt_dir / "profiles.yml"))[processor.profile_name]
    profile = profiles["outputs"][profiles["target"]]
    processor.extract_adapter_type(profile)
    processor.extract_dataset_namespace(profile)
    return str(processor.dataset_namespace)


# --- DuckDB: the fixture project with a relative warehouse path -----------------------------------------------------


def test_a_relative_duckdb_path_names_datasets_as_dbt_ol_does(
    tmp_path: Path, copy_project: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = copy_project(tmp_path, package="identity_duckdb_assets")
    dbt_dir = copy.root / "dbt"
    profiles = dbt_dir / "profiles.yml"
    written = "{{ env_var('FLOE_TEST_WAREHOUSE', '/tmp/floe-definitions-tests-unset.duckdb') }}"
    assert written in profiles.read_text()
    profiles.write_text(profiles.read_text().replace(f'"{written}"', "shop.duckdb"))  # relative: dbt opens it here
    # the Python asset writes the same file dbt reads (dbt runs in the dbt project directory)
    env = {**copy.env, "FLOE_TEST_WAREHOUSE": str(dbt_dir / "shop.duckdb")}

    completed = _floe_run(copy.root, env, "everything")
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    events = _lineage(copy.root, "tiny")
    theirs = dbt_ol_namespace(dbt_dir, env, monkeypatch)
    assert theirs == "duckdb://shop.duckdb"
    assert _dataset_namespaces(events, "floe-dbt-observe") == {theirs}  # every dbt node's inputs and outputs
    complete = {e["job"]["name"]: e for e in events if e["eventType"] == "COMPLETE"}
    # the Python asset's table is the dataset the dbt source reads: one namespace for the warehouse
    assert [(d["namespace"], d["name"]) for d in complete["tiny.raw.numbers"]["outputs"]] == [
        (theirs, "shop.raw.numbers")
    ]


# --- PostgreSQL: a seed and a model on the server FLOE_TEST_POSTGRES_URL names ---------------------------------------

PG_FLOE_YAML = """\
name: pgshop
version: "1.0.0"
orchestration:
  dbt:
    project_dir: dbt
  jobs:
    everything: {type: batch, selection: ["*"]}
"""
PG_DBT_PROJECT = """\
name: pgshop
version: "1.0.0"
config-version: 2
profile: pgshop
flags:
  send_anonymous_usage_stats: false
models:
  pgshop: {+materialized: table}
"""
PG_PROFILES = """\
pgshop:
  target: dev
  outputs:
    dev:
      type: postgres
      host: "{{ env_var('PGSHOP_HOST') }}"
      port: "{{ env_var('PGSHOP_PORT') | as_number }}"
      user: "{{ env_var('PGSHOP_USER') }}"
      password: "{{ env_var('PGSHOP_PASSWORD', '') }}"
      dbname: "{{ env_var('PGSHOP_DBNAME') }}"
      schema: shop
      threads: 2
"""


@pytest.fixture
def postgres_database(postgres_server: PostgresServer) -> Iterator[dict[str, str]]:
    """A fresh database on ``FLOE_TEST_POSTGRES_URL``'s server, dropped afterwards."""
    pytest.importorskip("psycopg2", reason="dbt-postgres brings psycopg2 (test group)")
    with postgres_server.fresh_database("floe_identity") as database:
        yield {
            "PGSHOP_HOST": database.host,
            "PGSHOP_PORT": str(database.port),
            "PGSHOP_USER": database.user,
            "PGSHOP_PASSWORD": database.password,
            "PGSHOP_DBNAME": database.name,
        }


def test_a_postgres_project_names_datasets_as_dbt_ol_does(
    tmp_path: Path, postgres_database: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "pgshop"
    dbt_dir = root / "dbt"
    (dbt_dir / "seeds").mkdir(parents=True)
    (dbt_dir / "models").mkdir()
    (root / "floe.yaml").write_text(PG_FLOE_YAML)
    (root / "platform.yaml").write_text(IN_PROCESS_PLATFORM)
    (dbt_dir / "dbt_project.yml").write_text(PG_DBT_PROJECT)
    (dbt_dir / "profiles.yml").write_text(PG_PROFILES)
    (dbt_dir / "seeds" / "customers.csv").write_text("id,name\n1,ada\n2,grace\n")
    (dbt_dir / "models" / "customer_count.sql").write_text("select count(*) as customers from {{ ref('customers') }}\n")
    env = {**postgres_database, "FLOE_PLATFORM_FILE": str(root / "platform.yaml")}

    completed = _floe_run(root, env, "everything")
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]

    theirs = dbt_ol_namespace(dbt_dir, env, monkeypatch)
    assert theirs == f"postgres://{postgres_database['PGSHOP_HOST']}:{postgres_database['PGSHOP_PORT']}"
    events = _lineage(root, "pgshop")
    assert _dataset_namespaces(events, "floe-dbt-observe") == {theirs}
    names = {d["name"] for e in events for d in [*e.get("inputs", []), *e.get("outputs", [])]}
    assert f"{postgres_database['PGSHOP_DBNAME']}.shop.customer_count" in names
