"""Each of the demo's jobs launched cold (Dagster's run launcher) and warm (floe's): the same spans, lineage and
materializations (issue 22).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pytest
from dagster import DagsterEventType, DagsterRunStatus
from demo.demo_copy import copy_demo
from demo.otlp_spans import read_spans

from floe_definitions.telemetry.run_trace import run_trace_id
from floe_definitions.warm.launcher import PID_TAG
from floe_test_support.launched_runs import launched_runs

WARM_JOBS: dict[str, dict[str, str]] = {
    "seed_bronze": {"dagster/partition": "2024-01-02"},
    "transform": {},
    "maintenance": {},  # nothing to remove: 2024-01-02 lies in the january_2024 range retention keeps
    "alert": {"floe/failed_run_id": "0" * 8, "floe/failed_job": "transform", "floe/failure_message": "on purpose"},
}
VOLATILE = re.compile(
    r"(^|[._])(run_?id|runid|span_?id|trace_?id|pid|time|timestamp|duration|elapsed|id|execution_?time_?s(econds)?"
    r"|thread)$",
    re.I,
)
"""Keys whose values differ between any two runs: ids, process ids, times, durations, the dbt thread a node ran on."""
VOLATILE_TEXT = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:?\d\d)?"
)
"""Run ids (UUIDs) and ISO timestamps inside values (a lineage namespace, a span's event message)."""


@dataclass(frozen=True)
class LaunchedJob:
    """What one launched run of a demo job recorded: its status, spans, lineage events and materializations."""

    status: DagsterRunStatus
    warm_pid: str | None
    spans: list[str]
    lineage: list[str]
    materializations: list[tuple[str, tuple[str, ...]]]


def _normalized(value: Any) -> Any:
    """``value`` without what differs between two runs of the same job (ids, times, durations)."""
    if isinstance(value, dict):
        return {key: _normalized(item) for key, item in sorted(value.items()) if not VOLATILE.search(key)}
    if isinstance(value, list):
        return [_normalized(item) for item in value]
    if isinstance(value, str):
        return VOLATILE_TEXT.sub("<volatile>", value)
    return value


def _span_shapes(spans: list[dict[str, Any]], run_id: str) -> list[str]:
    """The run's spans (its trace) as name, parent's name, kind, status and attributes, ids and times left out."""
    mine = [span for span in spans if int(span["context"]["trace_id"], 16) == run_trace_id(run_id)]
    names = {span["context"]["span_id"]: span["name"] for span in mine}
    return sorted(
        json.dumps(
            {
                "name": span["name"],
                "parent": names.get(span["parent_id"]) if span["parent_id"] else None,
                "kind": span["kind"],
                "status": span["status"]["status_code"],
                "attributes": _normalized(span["attributes"]),
                "events": [event["name"] for event in span["events"]],
            },
            sort_keys=True,
        )
        for span in mine
    )


def _lineage_shapes(events: list[dict[str, Any]], run_id: str) -> list[str]:
    """The run's lineage events (its own and its nodes', which name it as parent or root), ids and times left out."""
    mine = [event for event in events if run_id in json.dumps(event)]
    return sorted(
        json.dumps(
            {
                "eventType": event["eventType"],
                "job": _normalized(event["job"]),
                "inputs": _normalized(event.get("inputs", [])),
                "outputs": _normalized(event.get("outputs", [])),
                "run_facets": _normalized(event["run"].get("facets", {})),
            },
            sort_keys=True,
        )
        for event in mine
    )


@pytest.fixture(scope="module")
def launched_jobs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, LaunchedJob]]:
    """Each of the demo's jobs launched cold (Dagster's launcher) then warm (floe's), from one code server.

    One copy of the demo (in-process executor, spans and lineage to the default files), served by a code server
    subprocess as ``floe dev`` serves it; the runs are created from its snapshots and launched by the instance, as
    the webserver and the daemon launch them (floe-test-support's ``launched_runs``).
    """
    base = tmp_path_factory.mktemp("demo_warm")
    copy = copy_demo(base, "warm_shop_assets")
    found: dict[str, dict[str, LaunchedJob]] = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        for key, value in copy.env.items():
            monkeypatch.setenv(key, value)
        for key in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_TRACES_EXPORTER"):
            monkeypatch.delenv(key, raising=False)
        for key in ("OPENLINEAGE_URL", "OPENLINEAGE_CONFIG"):
            monkeypatch.delenv(key, raising=False)
        with launched_runs(base / "instances", copy.root, "shop", python_file=copy.root / "definitions.py") as runs:
            for job, tags in WARM_JOBS.items():
                for side, instance in (("cold", runs.cold), ("warm", runs.warm)):
                    run = runs.run(instance, job, tags)
                    records = instance.get_records_for_run(
                        run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION
                    ).records
                    materializations = sorted(
                        (
                            record.asset_key.to_user_string() if record.asset_key is not None else "",
                            tuple(sorted(record.event_log_entry.asset_materialization.metadata))
                            if record.event_log_entry.asset_materialization is not None
                            else (),
                        )
                        for record in records
                    )
                    lineage_file = copy.root / ".floe" / "lineage" / "shop.jsonl"
                    events = [json.loads(line) for line in lineage_file.read_text().splitlines() if line.strip()]
                    found.setdefault(job, {})[side] = LaunchedJob(
                        status=run.status,
                        warm_pid=run.tags.get(PID_TAG),
                        spans=_span_shapes(read_spans(copy.root / ".floe" / "traces" / "shop.jsonl"), run.run_id),
                        lineage=_lineage_shapes(events, run.run_id),
                        materializations=materializations,
                    )
    return found


def _difference(warm: list[str], cold: list[str]) -> str:
    """What only the warm run recorded, and what only the cold run recorded (each entry counted)."""
    only_warm = "\n".join(sorted((Counter(warm) - Counter(cold)).elements()))
    only_cold = "\n".join(sorted((Counter(cold) - Counter(warm)).elements()))
    return f"only in the warm run:\n{only_warm}\nonly in the cold run:\n{only_cold}"


@pytest.mark.parametrize("job", list(WARM_JOBS))
def test_a_warm_run_records_the_same_spans_lineage_and_materializations_as_a_cold_run(
    launched_jobs: dict[str, dict[str, LaunchedJob]], job: str
) -> None:
    cold, warm = launched_jobs[job]["cold"], launched_jobs[job]["warm"]
    assert cold.status == warm.status == DagsterRunStatus.SUCCESS
    assert warm.warm_pid is not None  # started by floe's warm launcher: a fork of the warm process
    assert cold.warm_pid is None  # Dagster's run worker
    assert warm.spans
    assert warm.spans == cold.spans, _difference(warm.spans, cold.spans)
    assert warm.lineage
    assert warm.lineage == cold.lineage, _difference(warm.lineage, cold.lineage)
    assert warm.materializations == cold.materializations
    if job in {"seed_bronze", "transform"}:
        assert warm.materializations
