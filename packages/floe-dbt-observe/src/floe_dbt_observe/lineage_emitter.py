"""Non-blocking, bounded OpenLineage emission.

The dbt step only appends to a buffer; one daemon thread builds and sends events. A full buffer drops events
(counted), transport errors are counted, and the final flush waits at most a fixed time, so a
down or slow lineage backend never fails, stalls or noticeably slows a dbt run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient

logger = logging.getLogger(__name__)

EventFactory = Callable[[], Any]
"""A zero-argument callable returning an OpenLineage event (or None to skip); built on the worker thread."""


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
    """Send OpenLineage events from a background thread with a bounded buffer.

    ``submit`` only appends to a deque: it never wakes the worker, which drains the buffer every
    ``poll_seconds`` (or as soon as ``batch_size`` events wait). Waking a thread per event made the
    dbt step hand the GIL over on every submission -- measured as 15 % of the step thread's time
    at 1,000 models on 2 cores.

    Args:
        client: The OpenLineage client whose transport sends the events.
        max_queue: Most events held in memory before new ones are dropped.
        poll_seconds: Longest time an event waits before the worker picks it up.
        batch_size: Number of waiting events that wakes the worker early.
    """

    def __init__(
        self, client: OpenLineageClient, max_queue: int = 10_000, poll_seconds: float = 0.1, batch_size: int = 256
    ) -> None:
        self._client = client
        self._max_queue = max(max_queue, 1)
        self._poll_seconds = poll_seconds
        self._batch_size = max(batch_size, 1)
        self._items: deque[EventFactory] = deque()
        self._wake = threading.Event()
        self._progress = threading.Condition(threading.Lock())
        self._accepted = 0
        self._sent = 0
        self._failed = 0
        self._dropped = 0
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, factory: EventFactory) -> None:
        """Buffer an event factory without blocking; drop and count it when the buffer is full."""
        if self._closed or len(self._items) >= self._max_queue:
            with self._progress:
                self._dropped += 1
            return
        if self._thread is None:
            self._start()
        with self._progress:
            self._accepted += 1
        self._items.append(factory)
        if len(self._items) == self._batch_size:
            self._wake.set()

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._work, name="floe-openlineage-emitter", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while True:
            self._wake.wait(self._poll_seconds)
            self._wake.clear()
            while True:
                try:
                    item = self._items.popleft()
                except IndexError:
                    break
                self._send(item)
            with self._progress:
                self._progress.notify_all()
                if self._closed and not self._items:
                    return

    def _send(self, item: EventFactory) -> None:
        try:
            event = item()
            if event is not None:
                self._client.emit(event)
        except Exception:  # the transport is user code: any failure is counted, never raised
            logger.debug("OpenLineage emission failed", exc_info=True)
            with self._progress:
                self._failed += 1
            return
        with self._progress:
            self._sent += 1

    def close(self, timeout_seconds: float) -> EmissionReport:
        """Wait up to ``timeout_seconds`` for buffered events, then stop accepting new ones.

        Returns:
            Counts of sent, failed, dropped and still-pending events.
        """
        self._closed = True
        self._wake.set()
        deadline = time.monotonic() + max(timeout_seconds, 0.0)
        with self._progress:
            while self._thread is not None and self._sent + self._failed < self._accepted:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._progress.wait(min(remaining, self._poll_seconds))
            pending = self._accepted - self._sent - self._failed
            return EmissionReport(sent=self._sent, failed=self._failed, dropped=self._dropped, pending=pending)
