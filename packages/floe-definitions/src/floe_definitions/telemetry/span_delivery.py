"""Bounded span flushes, and a count of the spans a process ended, exported and failed to export, per trace.

The OpenTelemetry SDK's ``BatchSpanProcessor.force_flush(timeout_millis)`` ignores its timeout (SDK 1.45: it
exports everything synchronously), and the OTLP exporters retry with backoff until their own timeout (10 s by
default), so a dead or slow collector would cost every end-of-step and end-of-run flush that long.
:func:`flush_spans` instead runs the flush on a daemon thread and waits at most the flush timeout, and not at
all once the collector is known to be failing or slow. What it knows comes from ``span_export.track_span_delivery``,
which wraps the exporter a provider's batch processor uses and counts the spans the provider ended: one
:class:`SpanDelivery` per provider, kept in a weak-keyed registry (nothing is written onto SDK objects). Counts are
kept per trace as well, so a run's warning counts that run's spans (a floe run is one trace), not every run the
process has made.

Only the OpenTelemetry API is imported here; the SDK is imported when a provider is tracked. This is the
application layer's (floe-definitions owns the provider); floe-dbt-observe's dbt steps call :func:`flush_spans`
through the ``span_flush`` hook floe-definitions passes to ``build_dbt_assets``.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from floe_dbt_observe.integration import SLOW_SEND_SECONDS, DeliveryHealth, format_trace_id

_POLL_SECONDS = 0.05
# Traces whose counts are kept (oldest dropped first): far more than the runs one process makes at once.
MAX_COUNTED_TRACES = 1024
# Positions in a ``[ended, exported, failed]`` count list.
_ENDED, _EXPORTED, _FAILED = range(3)

_DELIVERIES: weakref.WeakKeyDictionary[object, SpanDelivery] = weakref.WeakKeyDictionary()
_FLUSHES: weakref.WeakKeyDictionary[object, _Call] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


class SpanDelivery:
    """Thread-safe counts of a provider's spans (ended, exported, failed), in all and per trace; its health.

    Args:
        slow_send_seconds: An export that fails, raises, takes longer than this or is still in flight after this
            long marks the collector unhealthy; flushes then stop waiting for it until an export succeeds quickly.
    """

    def __init__(self, slow_send_seconds: float = SLOW_SEND_SECONDS) -> None:
        self.health = DeliveryHealth(slow_send_seconds, backend="span collector")
        self._lock = threading.Lock()
        self._total = [0, 0, 0]  # indexed by _ENDED, _EXPORTED, _FAILED
        self._traces: OrderedDict[int, list[int]] = OrderedDict()

    def _of_trace(self, trace_id: int) -> list[int]:
        """The trace's counts (created, and the oldest trace dropped past ``MAX_COUNTED_TRACES``); hold the lock."""
        counts = self._traces.get(trace_id)
        if counts is None:
            counts = self._traces[trace_id] = [0, 0, 0]
            if len(self._traces) > MAX_COUNTED_TRACES:
                self._traces.popitem(last=False)
        return counts

    def span_ended(self, trace_id: int) -> None:
        """Count one sampled span of trace ``trace_id`` the provider ended (and handed to its batch processor)."""
        with self._lock:
            self._total[_ENDED] += 1
            self._of_trace(trace_id)[_ENDED] += 1

    def export_started(self, token: int) -> None:
        """Record that the export identified by ``token`` started now."""
        self.health.send_started(token)

    def export_finished(self, token: int, trace_ids: Iterable[int], *, ok: bool) -> None:
        """Record an export's outcome (``trace_ids``: each span's trace): a quick success heals, else unhealthy."""
        column = _EXPORTED if ok else _FAILED
        with self._lock:
            for trace_id in trace_ids:
                self._total[column] += 1
                self._of_trace(trace_id)[column] += 1
        self.health.send_finished(token, ok=ok)

    def counts(self, trace_id: int | None = None) -> tuple[int, int, int]:
        """Return ``(ended, exported, failed)`` so far: of trace ``trace_id``, or of every trace when ``None``."""
        with self._lock:
            ended, exported, failed = self._total if trace_id is None else self._traces.get(trace_id, [0, 0, 0])
            return ended, exported, failed


@dataclass(frozen=True)
class SpanFlushReport:
    """What one bounded flush saw.

    Attributes:
        completed: The provider's ``force_flush`` finished within the wait (or it has none).
        gave_up: Why the flush was not waited for (collector failing or slow, flush timeout), or ``None``.
        ended: Spans the provider ended so far (``None`` for a provider not tracked by floe).
        exported: Spans the collector accepted so far (``None`` when not tracked).
        failed: Spans whose export failed so far (``None`` when not tracked).
        trace_id: The trace the counts are of, or ``None`` when they cover every span of the process.
    """

    completed: bool
    gave_up: str | None = None
    ended: int | None = None
    exported: int | None = None
    failed: int | None = None
    trace_id: int | None = None

    @property
    def counted(self) -> bool:
        """Whether the provider's spans are counted (it was built with :func:`track_span_delivery`)."""
        return self.ended is not None

    @property
    def undelivered(self) -> int:
        """Spans ended but not (yet) accepted by the collector."""
        if self.ended is None or self.exported is None:
            return 0
        return max(self.ended - self.exported, 0)

    @property
    def queued(self) -> int:
        """Spans ended and neither exported nor failed: waiting in the batch queue or in an export in flight."""
        if self.ended is None or self.exported is None or self.failed is None:
            return 0
        return max(self.ended - self.exported - self.failed, 0)

    def problem(self) -> str | None:
        """Return the warning text for undelivered spans, or ``None`` when every span was delivered.

        With a tracked provider: ``N span(s) not delivered (failed=F, still queued=Q; ...)`` once an export failed
        or the flush did not complete, naming the trace counted (its id as a trace backend shows it) or saying the
        counts are the whole process's; with an untracked one: that the flush did not finish.
        """
        why = f", not waited for: {self.gave_up}" if self.gave_up else ""
        if not self.counted:
            return None if self.completed else f"span export did not finish within the flush{why}"
        if self.undelivered == 0 or (self.completed and not self.failed):
            return None
        scope = "in this process" if self.trace_id is None else f"in trace {format_trace_id(self.trace_id)}"
        return (
            f"{self.undelivered} span(s) not delivered (failed={self.failed}, still queued={self.queued}; "
            f"ended={self.ended}, exported={self.exported} {scope}{why})"
        )


def register_span_delivery(provider: object) -> SpanDelivery:
    """Start counting ``provider``'s spans in a new :class:`SpanDelivery` (see ``span_export.track_span_delivery``).

    Args:
        provider: The SDK tracer provider.

    Returns:
        The provider's delivery counts, as :func:`span_delivery` will return them.
    """
    delivery = SpanDelivery()
    with _REGISTRY_LOCK:
        _DELIVERIES[provider] = delivery
    return delivery


def span_delivery(provider: object) -> SpanDelivery | None:
    """Return the :class:`SpanDelivery` of ``provider``, or ``None`` when it is not tracked."""
    with _REGISTRY_LOCK:
        try:
            return _DELIVERIES.get(provider)
        except TypeError:  # not weakly referenceable: never tracked
            return None


def _flush_thread(provider: object, timeout_millis: int) -> tuple[_Call | None, bool]:
    """Return the provider's running flush or a new one, and whether it is new; ``None`` without ``force_flush``."""
    force_flush = getattr(provider, "force_flush", None)
    if force_flush is None:
        return None, True
    with _REGISTRY_LOCK:
        try:
            running = _FLUSHES.get(provider)
        except TypeError:
            running = None
        if running is not None and running.is_alive():
            return running, False
        thread = _start_daemon(lambda: force_flush(timeout_millis), "floe-span-flush")
        try:
            _FLUSHES[provider] = thread
        except TypeError:
            pass
        return thread, True


class _Call(threading.Thread):
    """A daemon thread making one call; ``answer`` is what it returned (``None`` while running or if it raised)."""

    def __init__(self, call: Callable[[], object], name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._call = call
        self.answer: object = None

    def run(self) -> None:
        """Make the call; an exporter's failure shows in the counts, never in the run."""
        try:
            self.answer = self._call()
        except Exception:
            return


def _start_daemon(call: Callable[[], object], name: str) -> _Call:
    thread = _Call(call, name)
    thread.start()
    return thread


def _wait(thread: threading.Thread | None, delivery: SpanDelivery | None, timeout_seconds: float) -> str | None:
    """Wait for ``thread`` while the collector looks healthy, at most ``timeout_seconds``; return why it stopped."""
    deadline = time.monotonic() + timeout_seconds
    while thread is not None and thread.is_alive():
        if delivery is not None and (gave_up := delivery.health.reason_not_to_wait()) is not None:
            return gave_up
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return f"the flush timeout ({timeout_seconds:g} s) passed"
        thread.join(min(remaining, _POLL_SECONDS))
    return None


def shutdown_spans(provider: object, timeout_seconds: float) -> bool:
    """Shut ``provider`` down (exporting what is queued), waiting at most ``timeout_seconds`` for it.

    The SDK's own exit handler waits up to 30 s for the batch worker, and the worker for the exporter; this runs
    ``shutdown`` on a daemon thread instead and stops waiting at the timeout, or at once if the collector is known
    to be failing or slow. For an exit handler (``TracerProvider(shutdown_on_exit=False)`` plus ``atexit``).

    Args:
        provider: A tracer provider (anything with ``shutdown()``).
        timeout_seconds: Longest wait for a healthy collector.

    Returns:
        Whether the shutdown finished within the wait.
    """
    shutdown = getattr(provider, "shutdown", None)
    if shutdown is None:
        return True
    delivery = span_delivery(provider)
    if delivery is not None and delivery.health.reason_not_to_wait() is not None:
        return False
    thread = _start_daemon(shutdown, "floe-span-shutdown")
    return _wait(thread, delivery, max(timeout_seconds, 0.0)) is None and not thread.is_alive()


def flush_spans(provider: object | None, timeout_seconds: float, *, trace_id: int | None = None) -> SpanFlushReport:
    """Flush ``provider``'s spans, waiting at most ``timeout_seconds`` and not at all for a failing collector.

    The SDK's ``force_flush`` runs on a daemon thread (it ignores its own timeout); this waits for it while the
    collector looks healthy, at most ``timeout_seconds``. A provider tracked with :func:`track_span_delivery` is
    not waited for at all once an export failed, raised, took longer than ``SLOW_SEND_SECONDS`` or has been in
    flight that long (until an export succeeds quickly), and its report carries the span counts. A provider
    floe did not build still gets the bounded wait, without counts.

    Args:
        provider: A tracer provider (anything with ``force_flush(timeout_millis)``); ``None`` does nothing.
        timeout_seconds: Longest wait for the flush.
        trace_id: Report the counts of this trace only (a run's: the flush itself is of every span); ``None``
            reports those of the whole process.

    Returns:
        Whether the flush completed, why it was not waited for, and the provider's span counts when tracked.
    """
    delivery = span_delivery(provider) if provider is not None else None
    gave_up: str | None = None
    completed = False
    timeout_seconds = max(timeout_seconds, 0.0)
    if provider is None or getattr(provider, "force_flush", None) is None:
        completed = True
    elif delivery is not None and (gave_up := delivery.health.reason_not_to_wait()) is not None:
        pass
    else:
        deadline = time.monotonic() + timeout_seconds
        thread, fresh = _flush_thread(provider, int(timeout_seconds * 1000))
        gave_up = _wait(thread, delivery, timeout_seconds)
        if not fresh and gave_up is None and thread is not None and not thread.is_alive():
            # The flush joined had started before this call, so it may not cover the spans ended since: flush again.
            remaining = max(deadline - time.monotonic(), 0.0)
            thread, _ = _flush_thread(provider, int(remaining * 1000))
            gave_up = _wait(thread, delivery, remaining)
        completed = thread is None or not thread.is_alive()
        if completed:
            gave_up = None
        if thread is not None and completed and thread.answer is False:
            # Older SDKs (1.28 at the floor) honour force_flush's timeout and answer False when it passed (1.45
            # exports everything before it answers): the flush ended, but not every span was exported.
            completed, gave_up = False, f"the flush timeout ({timeout_seconds:g} s) passed"
    if delivery is None:
        return SpanFlushReport(completed=completed, gave_up=gave_up)
    ended, exported, failed = delivery.counts(trace_id)
    return SpanFlushReport(
        completed=completed, gave_up=gave_up, ended=ended, exported=exported, failed=failed, trace_id=trace_id
    )
