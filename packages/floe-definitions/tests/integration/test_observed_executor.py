from __future__ import annotations

import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from dagster import execute_job, instance_for_test
from dagster._core.definitions.reconstruct import ReconstructableRepository

from floe_dbt_observe.tracing import dagster_step_span_context
from floe_definitions import _compat
from floe_definitions.run_trace import run_span_id, run_trace_id

PIPELINE = Path(__file__).parent / "pipelines" / "observed_pipeline.py"


@dataclass(frozen=True)
class Ran:
    dir: Path
    result: Any


def _run(base: Path, **env: str) -> Ran:
    """Execute the pipeline's job on a fresh instance, with a private copy of the pipeline file.

    A copy per run: Dagster caches a loaded file's module in the test process, and the pipeline reads its
    output directory and switches from the environment when it is imported.
    """
    base.mkdir(parents=True, exist_ok=True)
    pipeline = base / "observed_pipeline.py"
    shutil.copy(PIPELINE, pipeline)
    home = base / "dagster"
    home.mkdir()
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("FLOE_TEST_DIR", str(base))
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        with instance_for_test(temp_dir=str(home), set_dagster_home=False) as instance:
            recon = ReconstructableRepository.for_file(str(pipeline), "defs", str(base))
            result = execute_job(recon.get_reconstructable_job("everything"), instance=instance, raise_on_error=False)
    return Ran(dir=base, result=result)


@pytest.fixture(scope="module")
def multiprocess_run(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    """One real multiprocess run, shared: each step subprocess costs seconds on a 2-core machine."""
    return _run(tmp_path_factory.mktemp("multiprocess"))


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    return _run(tmp_path_factory.mktemp("failed"), FLOE_TEST_FAIL="1", FLOE_TEST_EXECUTOR="in_process")


def _spans(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / ".floe" / "traces" / "obs.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _lineage(tmp_path: Path) -> list[dict[str, Any]]:
    path = tmp_path / ".floe" / "lineage" / "obs.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _by_name(spans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {span["name"]: span for span in spans}


def test_multiprocess_run_is_one_trace_with_a_span_per_step(multiprocess_run: Ran) -> None:
    assert multiprocess_run.result.success
    run_id = multiprocess_run.result.run_id
    spans = _by_name(_spans(multiprocess_run.dir))
    assert set(spans) == {"dagster run everything", "bronze/raw", "silver/clean", "gold/report", "silver/modelled"}
    trace_ids = {span["context"]["trace_id"] for span in spans.values()}
    assert trace_ids == {f"0x{run_trace_id(run_id):032x}"}
    run_span = spans["dagster run everything"]
    assert run_span["context"]["span_id"] == f"0x{run_span_id(run_id):016x}"
    assert run_span["parent_id"] is None
    for name in ("bronze/raw", "silver/clean", "gold/report", "silver/modelled"):
        assert spans[name]["parent_id"] == run_span["context"]["span_id"]
        assert spans[name]["status"]["status_code"] == "UNSET"  # OpenTelemetry: success stays UNSET
    assert run_span["status"]["status_code"] == "UNSET"


def test_python_assets_get_start_and_complete_and_dbt_steps_get_no_lineage(multiprocess_run: Ran) -> None:
    events = _lineage(multiprocess_run.dir)
    by_job: dict[str, list[str]] = {}
    for event in events:
        by_job.setdefault(event["job"]["name"], []).append(event["eventType"])
    assert by_job == {
        "obs.bronze.raw": ["START", "COMPLETE"],
        "obs.silver.clean": ["START", "COMPLETE"],
        "obs.gold.report": ["START", "COMPLETE"],
    }


def test_lineage_datasets_connect_upstream_to_downstream(multiprocess_run: Ran) -> None:
    result = multiprocess_run.result
    complete = {e["job"]["name"]: e for e in _lineage(multiprocess_run.dir) if e["eventType"] == "COMPLETE"}
    raw_out = complete["obs.bronze.raw"]["outputs"]
    # the table the asset reported, in the namespace mapped to its storage kind
    assert [(d["namespace"], d["name"]) for d in raw_out] == [("duckdb:///warehouse.duckdb", "warehouse.bronze.raw")]
    assert [(d["namespace"], d["name"]) for d in complete["obs.silver.clean"]["outputs"]] == [
        ("dagster://obs", "silver/clean")
    ]
    assert [(d["namespace"], d["name"]) for d in complete["obs.gold.report"]["inputs"]] == [
        ("dagster://obs", "silver/clean")
    ]
    parent = complete["obs.gold.report"]["run"]["facets"]["parent"]
    assert parent["run"]["runId"] == result.run_id
    assert (parent["job"]["namespace"], parent["job"]["name"]) == ("floe-test", "everything")


@pytest.mark.parametrize("ran", ["multiprocess_run", "failed_run"])
def test_every_event_validates_against_the_official_openlineage_schemas(
    ran: str, request: pytest.FixtureRequest, openlineage_conformance: ModuleType
) -> None:
    events = _lineage(request.getfixturevalue(ran).dir)
    counted, facets = openlineage_conformance.validate_events(events)
    print(f"{ran}: {counted} events, {facets} facets valid")
    assert counted == len(events) > 0


def test_failed_step_has_error_span_and_fail_event(failed_run: Ran) -> None:
    assert not failed_run.result.success
    spans = _by_name(_spans(failed_run.dir))
    assert spans["gold/report"]["status"]["status_code"] == "ERROR"
    assert "report exploded" in spans["gold/report"]["status"]["description"]
    assert spans["dagster run everything"]["status"]["status_code"] == "ERROR"
    assert spans["bronze/raw"]["status"]["status_code"] == "UNSET"
    report_events = [e for e in _lineage(failed_run.dir) if e["job"]["name"] == "obs.gold.report"]
    assert [e["eventType"] for e in report_events] == ["START", "FAIL"]
    assert "report exploded" in report_events[1]["run"]["facets"]["errorMessage"]["message"]


def test_failed_step_span_has_error_type_and_an_exception_event(failed_run: Ran) -> None:
    report = _by_name(_spans(failed_run.dir))["gold/report"]
    assert report["attributes"]["error.type"] == "ValueError"
    (event,) = [e for e in report["events"] if e["name"] == "exception"]
    assert event["attributes"]["exception.type"] == "ValueError"
    assert "report exploded" in event["attributes"]["exception.message"]


def test_step_spans_get_the_ids_a_dbt_step_derives_for_them(multiprocess_run: Ran) -> None:
    run_id = multiprocess_run.result.run_id
    for span in _spans(multiprocess_run.dir):
        step_key = span["attributes"].get("dagster.step_key")
        if step_key is not None:
            expected = dagster_step_span_context(run_id, step_key, span["attributes"]["dagster.step_attempt"])
            assert span["context"]["span_id"] == f"0x{expected.span_id:016x}"


def test_in_process_executor_is_observed_too(failed_run: Ran) -> None:
    spans = _spans(failed_run.dir)
    assert len(spans) == 5
    assert {span["context"]["trace_id"] for span in spans} == {f"0x{run_trace_id(failed_run.result.run_id):032x}"}


def test_failing_lineage_transport_never_fails_the_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ran = _run(tmp_path, FLOE_TEST_BROKEN_LINEAGE="1", FLOE_TEST_EXECUTOR="in_process")
    assert ran.result.success
    assert len(_spans(tmp_path)) == 5
    warnings = [r.getMessage() for r in caplog.records if "not delivered" in r.getMessage()]
    assert warnings
    assert warnings[0].startswith("floe: 6 OpenLineage event(s) not delivered")


def test_without_the_step_lookup_steps_are_matched_by_op_name_and_one_warning_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _compat.warn_unavailable.cache_clear()
    with caplog.at_level(logging.WARNING, logger="floe_definitions"):
        ran = _run(tmp_path, FLOE_COMPAT_DISABLE="step_assets", FLOE_TEST_EXECUTOR="in_process")
    _compat.warn_unavailable.cache_clear()
    assert ran.result.success
    # the same asset names on spans and lineage as through the plan lookup
    assert set(_by_name(_spans(tmp_path))) == {
        "dagster run everything",
        "bronze/raw",
        "silver/clean",
        "gold/report",
        "silver/modelled",
    }
    assert {e["job"]["name"] for e in _lineage(tmp_path)} == {"obs.bronze.raw", "obs.silver.clean", "obs.gold.report"}
    warnings = [
        r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "step_assets" in r.getMessage()
    ]
    assert len(warnings) == 1
    assert _compat.STEP_ASSETS_FALLBACK in warnings[0]
