"""``floe run``'s progress view: the run's events, read from the instance, printed one line per step and asset."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TextIO

import dagster as dg
from dagster import DagsterEventType, DagsterInstance, RunsFilter

INVOCATION_TAG = "floe/invocation"
"""Tag naming one ``floe run`` invocation (how the progress thread finds the run ``execute_job`` creates)."""
POLL_SECONDS = 0.5


@dataclass
class RunProgress:
    """The progress view: reads the run's events from the instance and prints them as they arrive."""

    instance: DagsterInstance
    invocation: str
    verbose: bool
    out: TextIO
    run_id: str | None = None
    cursor: str | None = None
    started: dict[str, float] = field(default_factory=dict)
    steps: dict[str, tuple[str, float]] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def follow(self) -> None:
        """Print events until :meth:`finish`; never raises (the run matters, the view does not)."""
        while not self.stop.wait(POLL_SECONDS):
            self.drain()

    def drain(self) -> None:
        """Print the events stored since the last call."""
        try:
            if self.run_id is None:
                runs = self.instance.get_runs(RunsFilter(tags={INVOCATION_TAG: self.invocation}), limit=1)
                if not runs:
                    return
                self.run_id = runs[0].run_id
                print(f"run {self.run_id} ({runs[0].job_name})", file=self.out, flush=True)
            while True:
                connection = self.instance.get_records_for_run(self.run_id, cursor=self.cursor, limit=500)
                for record in connection.records:
                    self._show(record.event_log_entry)
                self.cursor = connection.cursor
                if not connection.has_more:
                    break
        except Exception as exc:  # e.g. a storage being torn down: the view skips a beat, the run is unaffected
            if self.verbose:
                print(f"(progress view: {type(exc).__name__}: {exc})", file=self.out, flush=True)

    def _show(self, entry: dg.EventLogEntry) -> None:
        event = entry.dagster_event
        if self.verbose:
            text = entry.user_message or (event.message if event is not None else "") or ""
            kind = event.event_type.name if event is not None else str(entry.level)
            print(f"  {kind:<24} {entry.step_key or '':<28} {text}", file=self.out, flush=True)
        if event is None or entry.step_key is None:
            return
        step = entry.step_key
        kind = event.event_type
        if kind == DagsterEventType.STEP_START:
            self.started[step] = entry.timestamp
            return
        if kind == DagsterEventType.ASSET_MATERIALIZATION and not self.verbose:
            asset = event.asset_key.to_user_string() if event.asset_key else "?"
            print(f"  {'materialized':<12} {asset}", file=self.out, flush=True)
            return
        status = {
            DagsterEventType.STEP_SUCCESS: "ok",
            DagsterEventType.STEP_FAILURE: "FAILED",
            DagsterEventType.STEP_SKIPPED: "skipped",
            DagsterEventType.STEP_UP_FOR_RETRY: "retrying",
        }.get(kind)
        if status is None:
            return
        seconds = entry.timestamp - self.started.get(step, entry.timestamp)
        self.steps[step] = (status, seconds)
        if not self.verbose:
            print(f"  {status:<12} {step}  {seconds:.1f} s", file=self.out, flush=True)

    def finish(self) -> None:
        """Stop following and print what is left."""
        self.stop.set()
        self.drain()
