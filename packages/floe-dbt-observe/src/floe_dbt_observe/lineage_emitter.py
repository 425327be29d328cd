"""Non-blocking, bounded OpenLineage emission.

The dbt step only appends to a buffer; one daemon thread builds and sends events. A full buffer drops events
(counted) and transport errors are counted. The final flush waits for a healthy backend (up to a cap) but not for
one that has failed or been slow (see :mod:`floe_dbt_observe.delivery_health`), so a down or slow lineage backend
never fails, stalls or noticeably slows a dbt run, while a healthy one still gets every event.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from floe_dbt_observe.delivery_health import DeliveryHealth, delivery_health

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
        pending: Events still queued or in flight when the flush stopped waiting; they are not sent afterwards.
        gave_up: Why the flush stopped waiting with events pending (``None`` when it did not): the backend was
            known to be failing or slow, or the flush timeout passed.
    """

    sent: int
    failed: int
    dropped: int
    pending: int
    gave_up: str | None = None

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
        health: What is known about the backend; default the record shared by every emitter using ``client``.
        max_build_seconds: Longest a flush ``while_progressing`` waits for one event still being built (the first
            held COMPLETE reads the warehouse's columns; each computes its column lineage): local work that says
            nothing about the backend, so it does not run down the backend's flush timeout, up to this cap.
    """

    def __init__(
        self,
        client: OpenLineageClient,
        max_queue: int = 10_000,
        poll_seconds: float = 0.1,
        batch_size: int = 256,
        health: DeliveryHealth | None = None,
        max_build_seconds: float = 60.0,
    ) -> None:
        self._client = client
        self._health = health if health is not None else delivery_health(client)
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
        self._abandoned = False
        self._max_build_seconds = max_build_seconds
        self._building_since: float | None = None

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
            while not self._abandoned:
                try:
                    item = self._items.popleft()
                except IndexError:
                    break
                self._send(item)
            with self._progress:
                self._progress.notify_all()
                if self._abandoned or (self._closed and not self._items):
                    # Abandoned: the flush reported what was left as undelivered, so it is discarded, not sent late
                    # (nor does a thread per run keep talking to a dead backend).
                    self._items.clear()
                    return

    def _send(self, item: EventFactory) -> None:
        self._building_since = time.monotonic()
        try:
            event = item()
        except Exception:  # building facets is counted, never raised; it says nothing about the backend
            logger.debug("building an OpenLineage event failed", exc_info=True)
            self._count(sent=False)
            return
        finally:
            self._building_since = None
        if self._abandoned:  # the flush stopped waiting while this one was built: reported pending, not sent late
            return
        if event is None:
            self._count(sent=True)
            return
        token = id(self)
        self._health.send_started(token)
        try:
            self._client.emit(event)
        except Exception:  # the transport is user code: any failure is counted, never raised
            logger.debug("OpenLineage emission failed", exc_info=True)
            self._health.send_finished(token, ok=False)
            self._count(sent=False)
            return
        self._health.send_finished(token, ok=True)
        self._count(sent=True)

    def _count(self, *, sent: bool) -> None:
        with self._progress:
            if sent:
                self._sent += 1
            else:
                self._failed += 1
            self._progress.notify_all()

    def close(self, timeout_seconds: float, *, while_progressing: bool = False) -> EmissionReport:
        """Stop accepting events and wait for the buffered ones while the backend is healthy.

        Waits until every buffered event is sent, at most ``timeout_seconds``, and not at all once the backend is
        known to be failing or slow (a send failed, took longer than the health's ``slow_send_seconds``, or has
        been in flight longer than that -- in this emitter or any other sharing the client). Events still pending
        then are counted in the report and discarded.

        Args:
            timeout_seconds: Longest wait for a healthy backend to take the remaining events.
            while_progressing: Restart that wait each time an event is sent, and do not count the time an event
                spends being built (up to ``max_build_seconds`` each), so events still being built (held until dbt
                exited) are all delivered while the backend keeps taking them, however busy the machine is.

        Returns:
            Counts of sent, failed, dropped and still-pending events, and why the wait stopped early.
        """
        self._closed = True
        self._wake.set()
        deadline = time.monotonic() + max(timeout_seconds, 0.0)
        gave_up: str | None = None
        with self._progress:
            done = self._sent + self._failed
            while self._thread is not None and self._sent + self._failed < self._accepted:
                gave_up = self._health.reason_not_to_wait()
                if gave_up is not None:
                    break
                now = time.monotonic()
                building_since = self._building_since
                if while_progressing and self._sent + self._failed > done:
                    done = self._sent + self._failed
                    deadline = now + max(timeout_seconds, 0.0)
                if while_progressing and building_since is not None:
                    if now - building_since > self._max_build_seconds:
                        gave_up = f"an event was still being built after {self._max_build_seconds:g} s"
                        break
                    deadline = max(deadline, now + max(timeout_seconds, 0.0))
                remaining = deadline - now
                if remaining <= 0:
                    gave_up = f"the flush timeout ({timeout_seconds:g} s) passed"
                    break
                self._progress.wait(min(remaining, self._poll_seconds))
            pending = self._accepted - self._sent - self._failed
            if pending:
                self._abandoned = True
            else:
                gave_up = None
            return EmissionReport(
                sent=self._sent, failed=self._failed, dropped=self._dropped, pending=pending, gave_up=gave_up
            )
