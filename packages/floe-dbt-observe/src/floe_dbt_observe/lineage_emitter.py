"""Non-blocking, bounded OpenLineage emission.

The dbt step only enqueues; one daemon thread builds and sends events. A full queue drops events
(counted), transport errors are counted, and the final flush waits at most a fixed time, so a
down or slow lineage backend never fails, stalls or noticeably slows a dbt run.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient

logger = logging.getLogger(__name__)

EventFactory = Callable[[], Any]
"""A zero-argument callable returning an OpenLineage event (or None to skip); built on the worker thread."""

_STOP = object()


@dataclass(frozen=True)
class EmissionReport:
    """What happened to the events of one emitter.

    Attributes:
        sent: Events the transport accepted.
        failed: Events whose building or transport raised.
        dropped: Events refused because the queue was full.
        pending: Events still queued or in flight when the flush deadline passed.
    """

    sent: int
    failed: int
    dropped: int
    pending: int

    @property
    def problems(self) -> int:
        """Events that did not reach the transport in time."""
        return self.failed + self.dropped + self.pending


class LineageEmitter:
    """Send OpenLineage events from a background thread with a bounded queue.

    Args:
        client: The OpenLineage client whose transport sends the events.
        max_queue: Most events held in memory before new ones are dropped.
    """

    def __init__(self, client: OpenLineageClient, max_queue: int = 10_000) -> None:
        self._client = client
        self._queue: queue.Queue[object] = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._sent = 0
        self._failed = 0
        self._dropped = 0
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, factory: EventFactory) -> None:
        """Enqueue an event factory without blocking; drop and count it when the queue is full."""
        if self._closed:
            with self._lock:
                self._dropped += 1
            return
        if self._thread is None:
            self._start()
        try:
            self._queue.put_nowait(factory)
        except queue.Full:
            with self._lock:
                self._dropped += 1

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="floe-openlineage-emitter", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                self._send(item)
            finally:
                self._queue.task_done()

    def _send(self, item: object) -> None:
        try:
            event = item() if callable(item) else item
            if event is None:
                return
            self._client.emit(event)  # type: ignore[arg-type]  # factories return OpenLineage events
        except Exception:  # the transport is user code: any failure is counted, never raised
            logger.debug("OpenLineage emission failed", exc_info=True)
            with self._lock:
                self._failed += 1
            return
        with self._lock:
            self._sent += 1

    def close(self, timeout_seconds: float) -> EmissionReport:
        """Wait up to ``timeout_seconds`` for queued events, then stop accepting new ones.

        Returns:
            Counts of sent, failed, dropped and still-pending events.
        """
        self._closed = True
        deadline = time.monotonic() + max(timeout_seconds, 0.0)
        if self._thread is not None:
            with self._queue.all_tasks_done:
                while self._queue.unfinished_tasks:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._queue.all_tasks_done.wait(remaining)
            try:
                self._queue.put_nowait(_STOP)
            except queue.Full:
                pass
        pending = max(self._queue.unfinished_tasks - (1 if self._thread is not None else 0), 0)
        with self._lock:
            return EmissionReport(sent=self._sent, failed=self._failed, dropped=self._dropped, pending=pending)
