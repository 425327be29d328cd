"""``floe run``'s progress view: a run's events, printed one line per step and per materialized asset, then a summary.

:class:`ProgressView` renders events from either source: :class:`RunProgress` reads them from the instance (a run
``floe run`` executes itself); :mod:`~floe_definitions.commands.run_through_dev` from a running ``floe dev``'s
GraphQL API. Importing this module does not import Dagster (the ``floe dev`` path never needs it).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import dagster as dg

INVOCATION_TAG = "floe/invocation"
"""Tag naming one ``floe run`` invocation (how the progress thread finds the run ``execute_job`` creates)."""
POLL_SECONDS = 0.5
STEP_STATUS = {
    "STEP_SUCCESS": "ok",
    "STEP_FAILURE": "FAILED",
    "STEP_SKIPPED": "skipped",
    "STEP_UP_FOR_RETRY": "retrying",
}
RUN_LEVEL_ERROR_EVENTS = frozenset({"RUN_FAILURE", "ENGINE_EVENT"})


@dataclass(frozen=True)
class ProgressEvent:
    """One event of a run, as the progress view needs it, whichever source it was read from.

    Attributes:
        kind: The name of Dagster's event type (``"STEP_START"``, ``"RUN_FAILURE"``); ``None`` for a log message.
        level: The log level's name (``"DEBUG"``, ``"INFO"``, ...).
        step_key: The step the event belongs to; ``None`` for run-level events.
        timestamp: Seconds since the epoch.
        message: The event's message.
        asset: The materialized asset (``raw/numbers``) of an ``ASSET_MATERIALIZATION``.
        error: The innermost error's message and class name, for events that carry an error.
    """

    kind: str | None
    level: str
    step_key: str | None
    timestamp: float
    message: str
    asset: str | None = None
    error: tuple[str, str | None] | None = None


@dataclass(frozen=True)
class TelemetryPlaces:
    """Where a project's spans, lineage and compute logs go (for the summary of a failed run).

    Attributes:
        spans: The span sink, described.
        lineage: The lineage sink, described.
        lineage_namespace: The OpenLineage namespace of the project's runs.
        compute_logs: The compute log directory, or a phrase naming the instance's storage.
    """

    spans: str
    lineage: str
    lineage_namespace: str
    compute_logs: str


@dataclass
class ProgressView:
    """Prints a run's events as they arrive and remembers what the summary needs."""

    verbose: bool
    out: TextIO
    started: dict[str, float] = field(default_factory=dict)
    steps: dict[str, tuple[str, float]] = field(default_factory=dict)
    materialized: set[str] = field(default_factory=set)
    run_errors: list[str] = field(default_factory=list)

    def header(self, run_id: str, job_name: str) -> None:
        """Print the run's first line."""
        print(f"run {run_id} ({job_name})", file=self.out, flush=True)

    def show(self, event: ProgressEvent) -> None:
        """Print one event (or nothing, for events the summary view leaves out)."""
        if self.verbose:
            kind = event.kind or event.level
            print(f"  {kind:<24} {event.step_key or '':<28} {event.message}", file=self.out, flush=True)
        if event.step_key is None:
            if event.kind in RUN_LEVEL_ERROR_EVENTS and event.error is not None:
                reason = error_reason(*event.error)
                if reason not in self.run_errors:
                    self.run_errors.append(reason)
            return
        if event.kind is None:
            return
        step = event.step_key
        if event.kind == "STEP_START":
            self.started[step] = event.timestamp
            return
        if event.kind == "ASSET_MATERIALIZATION":
            asset = event.asset or "?"
            self.materialized.add(asset)
            if not self.verbose:
                print(f"  {'materialized':<12} {asset}", file=self.out, flush=True)
            return
        status = STEP_STATUS.get(event.kind)
        if status is None:
            return
        seconds = event.timestamp - self.started.get(step, event.timestamp)
        self.steps[step] = (status, seconds)
        if not self.verbose:
            print(f"  {status:<12} {step}  {seconds:.1f} s", file=self.out, flush=True)

    def failed_steps(self) -> list[str]:
        """The steps whose last status was FAILED, in the order they ended."""
        return [step for step, (status, _) in self.steps.items() if status == "FAILED"]

    def succeeded(self, job_name: str, seconds: float, run_id: str) -> None:
        """Print the summary of a successful run."""
        print(f"floe run: {job_name} succeeded in {seconds:.1f} s (run {run_id})", file=self.out, flush=True)

    def failed(
        self, job_name: str, seconds: float, run_id: str, *, failed_assets: Sequence[str], places: TelemetryPlaces
    ) -> None:
        """Print the summary of a failed (or canceled) run: its failed steps and assets, errors and telemetry."""
        from floe_dbt_observe.integration import format_trace_id, run_trace_id  # only a failed run pays for it

        out = self.out
        print(f"floe run: {job_name} FAILED in {seconds:.1f} s (run {run_id})", file=out)
        print(f"  failed steps: {', '.join(self.failed_steps()) or '(none: the run itself failed)'}", file=out)
        for reason in self.run_errors:
            print(f"  error: {reason}", file=out)
        if failed_assets:
            print(f"  failed assets: {', '.join(failed_assets)}", file=out)
        print(f"  spans: trace {format_trace_id(run_trace_id(run_id))} in {places.spans}", file=out)
        print(f"  lineage: parent run {run_id} (namespace {places.lineage_namespace}) in {places.lineage}", file=out)
        print(f"  logs: floe dev, then the run's page; compute logs under {places.compute_logs}", file=out, flush=True)


def error_reason(message: str, class_name: str | None) -> str:
    """Return the first line of an (innermost) error message; under a heading (dagster-celery's), its first entry."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    text = lines[0] if lines else class_name or "error"
    if text.endswith(":") and len(lines) > 1:
        text = f"{text} {lines[1]}"
    return text


@dataclass
class RunProgress:
    """Reads the run ``floe run`` executes from the instance and hands its events to a :class:`ProgressView`."""

    instance: dg.DagsterInstance
    invocation: str
    view: ProgressView
    run_id: str | None = None
    cursor: str | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    reading: threading.Lock = field(default_factory=threading.Lock)

    def follow(self) -> None:
        """Print events until :meth:`finish`; never raises (the run matters, the view does not)."""
        while not self.stop.wait(POLL_SECONDS):
            self.drain()

    def drain(self) -> None:
        """Print the events stored since the last call (one reader at a time: each event is printed once)."""
        with self.reading:
            self._drain()

    def _drain(self) -> None:
        from dagster import RunsFilter

        try:
            if self.run_id is None:
                runs = self.instance.get_runs(RunsFilter(tags={INVOCATION_TAG: self.invocation}), limit=1)
                if not runs:
                    return
                self.run_id = runs[0].run_id
                self.view.header(self.run_id, runs[0].job_name)
            while True:
                connection = self.instance.get_records_for_run(self.run_id, cursor=self.cursor, limit=500)
                for record in connection.records:
                    self.view.show(_progress_event(record.event_log_entry))
                self.cursor = connection.cursor
                if not connection.has_more:
                    break
        except Exception as exc:  # e.g. a storage being torn down: the view skips a beat, the run is unaffected
            if self.view.verbose:
                print(f"(progress view: {type(exc).__name__}: {exc})", file=self.view.out, flush=True)

    def finish(self) -> None:
        """Stop following and print what is left."""
        self.stop.set()
        self.drain()


def _progress_event(entry: dg.EventLogEntry) -> ProgressEvent:
    event = entry.dagster_event
    error = getattr(event.event_specific_data, "error", None) if event is not None else None
    while error is not None and error.cause is not None:
        error = error.cause
    return ProgressEvent(
        kind=event.event_type.name if event is not None else None,
        level=logging.getLevelName(entry.level) if isinstance(entry.level, int) else str(entry.level),
        step_key=entry.step_key,
        timestamp=entry.timestamp,
        message=entry.user_message or (event.message if event is not None else "") or "",
        asset=event.asset_key.to_user_string() if event is not None and event.asset_key is not None else None,
        error=(error.message, error.cls_name) if error is not None else None,
    )
