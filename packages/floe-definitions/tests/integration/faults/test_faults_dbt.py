"""What a user sees when dbt or the warehouse fails: clear messages, honest span/lineage states, nothing lost.

Each case breaks a fresh copy of the fault project (a mart with a SQL error, a not-null test failing at error
and at warn severity, the DuckDB warehouse locked by another process) and runs it for real through Dagster and
dbt. Spans and lineage go to floe's default JSON-lines files, read back here.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb

NULL_IN_STAGING = (
    "select case when n = 3 then null else n end as n, n * n as square from {{ source('raw', 'numbers') }}\n"
)


def _break_mart(root: Path) -> None:
    (root / "dbt" / "models" / "marts" / "total.sql").write_text(
        "select sum(no_such_column) as total from {{ ref('stg_numbers') }}\n"
    )


def _null_in_staging(severity: str) -> Callable[[Path], None]:
    def mutate(root: Path) -> None:
        (root / "dbt" / "models" / "staging" / "stg_numbers.sql").write_text(NULL_IN_STAGING)
        (root / "dbt" / "models" / "staging" / "_staging.yml").write_text(
            textwrap.dedent(
                f"""\
                version: 2
                models:
                  - name: stg_numbers
                    columns:
                      - name: n
                        data_tests:
                          - not_null:
                              config: {{severity: {severity}}}
                """
            )
        )

    return mutate


def _node_span(project: Any, unique_id: str) -> dict[str, Any]:
    matches = [s for s in project.spans() if s["attributes"].get("dbt.node.unique_id", "").startswith(unique_id)]
    assert len(matches) == 1, [s["name"] for s in project.spans()]
    return matches[0]


def _lineage_states(project: Any) -> dict[str, list[str]]:
    states: dict[str, list[str]] = {}
    for event in project.lineage():
        states.setdefault(event["job"]["name"], []).append(event["eventType"])
    return states


def _failure_text(outcome: Any) -> str:
    return "\n".join(outcome.failures)


def test_mart_with_sql_error_fails_clearly_and_keeps_upstream(
    fault_project: Callable[..., Any], run_floe_job: Callable[..., Any]
) -> None:
    project = fault_project(_break_mart)
    outcome = run_floe_job(project)
    assert not outcome.success
    assert {"raw/numbers", "stg_numbers"} <= outcome.materialized
    assert "total" not in outcome.materialized
    failure = _failure_text(outcome)
    assert "total" in failure
    assert "no_such_column" in failure
    span = _node_span(project, "model.faulty.total")
    assert span["status"]["status_code"] == "ERROR"
    assert "no_such_column" in span["status"].get("description", "") + str(span["attributes"])
    assert _node_span(project, "model.faulty.stg_numbers")["status"]["status_code"] != "ERROR"
    states = _lineage_states(project)
    assert states["warehouse.main.faulty.total"] == ["START", "FAIL"]
    assert states["warehouse.main.faulty.stg_numbers"] == ["START", "COMPLETE"]
    assert states["faulty.raw.numbers"] == ["START", "COMPLETE"]
    fail_event = next(
        e for e in project.lineage() if e["job"]["name"] == "warehouse.main.faulty.total" and e["eventType"] == "FAIL"
    )
    assert "no_such_column" in fail_event["run"]["facets"]["errorMessage"]["message"]
    with duckdb.connect(str(project.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from main.stg_numbers").fetchone() == (10,)


def test_failing_test_at_error_severity_fails_the_run_and_marks_the_test(
    fault_project: Callable[..., Any], run_floe_job: Callable[..., Any]
) -> None:
    project = fault_project(_null_in_staging("error"))
    outcome = run_floe_job(project)
    assert not outcome.success
    assert {"raw/numbers", "stg_numbers"} <= outcome.materialized
    assert "not_null_stg_numbers_n" in _failure_text(outcome) + str(outcome.dagster_messages)
    test_span = _node_span(project, "test.faulty.not_null_stg_numbers_n")
    assert test_span["status"]["status_code"] == "ERROR"
    assert test_span["attributes"]["dbt.node.status"] == "fail"
    assert _node_span(project, "model.faulty.stg_numbers")["status"]["status_code"] != "ERROR"
    assert _lineage_states(project)["warehouse.main.faulty.stg_numbers"] == ["START", "COMPLETE"]


def test_failing_test_at_warn_severity_warns_and_the_run_succeeds(
    fault_project: Callable[..., Any], run_floe_job: Callable[..., Any]
) -> None:
    project = fault_project(_null_in_staging("warn"))
    outcome = run_floe_job(project)
    assert outcome.success
    assert outcome.materialized == {"raw/numbers", "stg_numbers", "total"}
    test_span = _node_span(project, "test.faulty.not_null_stg_numbers_n")
    assert test_span["attributes"]["dbt.node.status"] == "warn"
    assert test_span["status"]["status_code"] != "ERROR"
    states = _lineage_states(project)
    assert states["warehouse.main.faulty.total"] == ["START", "COMPLETE"]


@contextlib.contextmanager
def held_by_another_process(path: Path) -> Iterator[None]:
    """Have another process open the DuckDB file read-write (DuckDB's exclusive file lock) until the block ends."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('locked', flush=True); sys.stdin.read()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        yield
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        try:
            holder.wait(timeout=60)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()


def test_warehouse_locked_by_another_process_fails_clearly_and_keeps_earlier_data(
    fault_project: Callable[..., Any], run_floe_job: Callable[..., Any]
) -> None:
    project = fault_project()
    assert run_floe_job(project).success
    with held_by_another_process(project.warehouse):
        outcome = run_floe_job(project)
    assert not outcome.success
    assert outcome.materialized == set()
    failure = _failure_text(outcome)
    assert "lock" in failure.lower()
    assert str(project.warehouse) in failure
    raw_spans = [s for s in project.spans() if s["name"] == "raw/numbers"]
    assert [s["status"]["status_code"] for s in raw_spans] == ["UNSET", "ERROR"]
    assert _lineage_states(project)["faulty.raw.numbers"] == ["START", "COMPLETE", "START", "FAIL"]
    # dbt never ran against the locked file: the only model span is the first run's.
    assert len([s for s in project.spans() if s["attributes"].get("dbt.node.unique_id") == "model.faulty.total"]) == 1
    with duckdb.connect(str(project.warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw.numbers").fetchone() == (10,)
        assert con.execute("select total from main.total").fetchone() == (55,)
