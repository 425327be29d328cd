"""Warm steps: the multiprocess executor forks each step from one server that imported floe and built the project.

``floe run`` on copies of the fixture project, as a user runs it, on the default (warm) executor and on an explicit
``start_method: spawn``: the same records, spans and lineage either way; a step process that never imports the
project's modules itself; retries and ``max_concurrent`` as Dagster promises. The project's asset package writes
the pid of every process that imports it to ``FLOE_TEST_IMPORTS``: a process that loaded the project cold.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from dagster import DagsterEventType, DagsterInstance, build_reconstructable_job, execute_job, instance_for_test

from floe_definitions.execution.reconstruct import RECONSTRUCT_MODULE, reconstruct_job

FLOE = str(Path(sys.executable).with_name("floe"))
WARM = "environment: test\nexecution:\n  executor: {type: multiprocess, max_concurrent: 1}\n"
SPAWN = "environment: test\nexecution:\n  executor: {type: multiprocess, max_concurrent: 1, start_method: spawn}\n"
IMPORT_MARKER = (
    "import os as _os\n"
    "with open(_os.environ['FLOE_TEST_IMPORTS'], 'a') as _marker:\n"
    "    _marker.write(f'{_os.getpid()}\\n')\n"
)
FLAKY = '''"""A Python asset that fails its first attempt and succeeds on its retry."""

import dagster as dg


@dg.asset(key=["raw", "flaky"], group_name="raw", retry_policy=dg.RetryPolicy(max_retries=1))
def flaky(context: dg.AssetExecutionContext) -> None:
    """Fail on the first attempt."""
    if context.retry_number == 0:
        raise RuntimeError("first attempt fails on purpose")
'''
STEP_ENDS = {DagsterEventType.STEP_SUCCESS, DagsterEventType.STEP_FAILURE, DagsterEventType.STEP_UP_FOR_RETRY}


@dataclass(frozen=True)
class Ran:
    """One ``floe run`` of ``everything`` on the copy, and what it left."""

    copy: Any
    completed: subprocess.CompletedProcess[str]
    run_id: str
    importers: list[int]
    """Pids of the processes that imported the project's asset package during the run."""


def _warm_copy(base: Path, copy_project: Any, package: str) -> Any:
    copy = copy_project(base, package=package)
    assets = copy.root / package
    raw = assets / "raw.py"
    raw.write_text(IMPORT_MARKER + raw.read_text())
    (assets / "flaky.py").write_text(FLAKY)
    floe_yaml = copy.floe_yaml
    floe_yaml.write_text(floe_yaml.read_text().replace(f"[.{package}.raw]", f"[.{package}.raw, .{package}.flaky]"))
    (copy.root / "warm.yaml").write_text(WARM)
    (copy.root / "spawn.yaml").write_text(SPAWN)
    copy.env["FLOE_TEST_IMPORTS"] = str(base / "imports.txt")
    return copy


def _floe_run(copy: Any, platform: str) -> Ran:
    imports = Path(copy.env["FLOE_TEST_IMPORTS"])
    imports.write_text("")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOE_", "DAGSTER_", "OTEL_", "OPENLINEAGE"))
    }
    env.update(copy.env)
    completed = subprocess.run(
        [FLOE, "run", "everything", str(copy.root), "--platform", str(copy.root / platform)],
        cwd=copy.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-3000:]
    run_id = completed.stdout.splitlines()[-1].rsplit("(run ", 1)[1].rstrip(")")
    return Ran(copy, completed, run_id, [int(line) for line in imports.read_text().split()])


@pytest.fixture(scope="module")
def warm_copy(tmp_path_factory: pytest.TempPathFactory, copy_project: Any) -> Any:
    return _warm_copy(tmp_path_factory.mktemp("warm_steps"), copy_project, "warm_step_assets")


@pytest.fixture(scope="module")
def warm_run(warm_copy: Any) -> Ran:
    return _floe_run(warm_copy, "warm.yaml")


@pytest.fixture(scope="module")
def spawn_run(warm_copy: Any, warm_run: Ran) -> Ran:
    return _floe_run(warm_copy, "spawn.yaml")


def _records(ran: Ran) -> list[Any]:
    with DagsterInstance.from_config(os.fspath(ran.copy.root / ".floe" / "dagster")) as instance:
        return list(instance.get_records_for_run(ran.run_id, limit=100_000).records)


def _step_process_pids(ran: Ran) -> dict[str, list[int]]:
    """Step key -> pids of the step processes Dagster started for it (``STEP_WORKER_STARTED``), in order."""
    pids: dict[str, list[int]] = {}
    for record in _records(ran):
        event = record.event_log_entry.dagster_event
        if event is not None and event.event_type == DagsterEventType.STEP_WORKER_STARTED:
            pid = int(event.event_specific_data.metadata["pid"].value)
            pids.setdefault(event.step_key, []).append(pid)
    return pids


def test_steps_fork_from_one_server_that_loaded_the_project(warm_run: Ran) -> None:
    pids = _step_process_pids(warm_run)
    assert set(pids) == {"raw__numbers", "raw__flaky", "tiny_dbt"}
    # The floe run process and the step server loaded the project; no step process did.
    assert len(set(warm_run.importers)) == 2, warm_run.importers
    assert not {pid for step in pids.values() for pid in step} & set(warm_run.importers)


def test_spawned_steps_each_load_the_project(spawn_run: Ran) -> None:
    """The contrast the warm default removes (and what every multiprocess run did before it)."""
    pids = _step_process_pids(spawn_run)
    assert {pid for step in pids.values() for pid in step} <= set(spawn_run.importers)


def _event_types(ran: Ran) -> collections.Counter[str]:
    return collections.Counter(
        record.event_log_entry.dagster_event.event_type_value
        for record in _records(ran)
        if record.event_log_entry.dagster_event is not None
    )


def _materializations(ran: Ran) -> dict[str, list[str]]:
    """Asset key -> sorted metadata keys of its materializations in the run."""
    found: dict[str, list[str]] = {}
    for record in _records(ran):
        materialization = record.event_log_entry.asset_materialization
        if materialization is not None:
            found[materialization.asset_key.to_user_string()] = sorted(materialization.metadata)
    return found


def _spans(ran: Ran) -> list[tuple[str, str, str | None]]:
    """(name, status, parent span name) of the run's spans, sorted."""
    trace_id = f"0x{ran.run_id.replace('-', '')}"
    spans = [span for span in ran.copy.spans() if span["context"]["trace_id"] == trace_id]
    names = {span["context"]["span_id"]: span["name"] for span in spans}
    return sorted((s["name"], s["status"]["status_code"], names.get(s["parent_id"] or "")) for s in spans)


def _lineage(ran: Ran) -> dict[str, list[str]]:
    """Lineage job name -> event types, for the runs whose parent is the Dagster run (and the run itself)."""
    found: dict[str, list[str]] = {}
    for event in ran.copy.lineage():
        parent = event["run"].get("facets", {}).get("parent", {}).get("run", {}).get("runId")
        if ran.run_id in (parent, event["run"]["runId"]):
            found.setdefault(event["job"]["name"], []).append(event["eventType"])
    return found


def test_warm_steps_store_and_emit_what_spawned_steps_do(warm_run: Ran, spawn_run: Ran) -> None:
    assert _event_types(warm_run) == _event_types(spawn_run)
    assert _materializations(warm_run) == _materializations(spawn_run)
    assert set(_materializations(warm_run)) == {"raw/numbers", "raw/flaky", "stg_numbers", "total"}
    assert _spans(warm_run) == _spans(spawn_run)
    assert _lineage(warm_run) == _lineage(spawn_run)


def test_a_retried_step_runs_again_in_a_new_forked_process(warm_run: Ran) -> None:
    types = _event_types(warm_run)
    assert types[DagsterEventType.STEP_UP_FOR_RETRY.value] == 1
    assert types[DagsterEventType.STEP_RESTARTED.value] == 1
    flaky = _step_process_pids(warm_run)["raw__flaky"]
    assert len(flaky) == 2
    assert flaky[0] != flaky[1]


def test_max_concurrent_one_runs_one_step_at_a_time(warm_run: Ran) -> None:
    running: set[str] = set()
    most = 0
    for record in _records(warm_run):  # in storage order: each process stores its events as they happen
        event = record.event_log_entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type in (DagsterEventType.STEP_START, DagsterEventType.STEP_RESTARTED):
            running.add(event.step_key)
            most = max(most, len(running))
        elif event.event_type in STEP_ENDS:
            running.discard(event.step_key)
    assert most == 1


def _team_of_dbt_spans(copy: Any, run_id: str) -> set[str]:
    trace_id = f"0x{run_id.replace('-', '')}"
    return {
        span["resource"]["attributes"]["team"]
        for span in copy.spans()
        if span["context"]["trace_id"] == trace_id and span["name"].startswith("dbt.model")
    }


def test_a_changed_floe_yaml_is_used_by_the_next_run_of_a_long_lived_process(tmp_path: Path, copy_project: Any) -> None:
    """Two runs in this process share its step server; floe.yaml changes between them."""
    copy = _warm_copy(tmp_path, copy_project, "changed_step_assets")
    (copy.root / "platform.yaml").write_text(WARM)
    (tmp_path / "imports.txt").write_text("")
    (tmp_path / "dagster").mkdir()
    run_ids = []
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in copy.env.items():
            monkeypatch.setenv(key, value)
        recon = build_reconstructable_job(
            RECONSTRUCT_MODULE,
            reconstruct_job.__name__,
            reconstructable_args=(str(copy.floe_yaml), str(copy.root / "platform.yaml"), "everything", False),  # type: ignore[arg-type]
        )
        with instance_for_test(temp_dir=str(tmp_path / "dagster"), set_dagster_home=False) as instance:
            for team in ("before", "after"):
                document = yaml.safe_load(copy.floe_yaml.read_text())
                document["observability"]["attributes"]["team"] = team
                copy.floe_yaml.write_text(yaml.safe_dump(document, sort_keys=False))
                result = execute_job(recon, instance=instance, raise_on_error=False)
                assert result.success
                run_ids.append(result.run_id)
    assert _team_of_dbt_spans(copy, run_ids[0]) == {"before"}
    assert _team_of_dbt_spans(copy, run_ids[1]) == {"after"}
