"""What a process knows about its lineage backend: healthy, or slow / failing and not worth waiting for.

Every :class:`~floe_dbt_observe.lineage_emitter.LineageEmitter` of a process that sends through the same
``OpenLineageClient`` shares one :class:`DeliveryHealth` (kept per client while it lives), so once any send
has failed or been slow, no later end-of-step or end-of-run flush waits for that backend: a dead or slow endpoint
costs a run at most one ``slow_send_seconds`` wait, however many steps and emitters the run has. A send that
succeeds quickly marks the backend healthy again.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient

SLOW_SEND_SECONDS = 1.0
"""A send taking longer than this (or still in flight after this long) marks the backend slow."""

_RECORDS: weakref.WeakKeyDictionary[OpenLineageClient, DeliveryHealth] = weakref.WeakKeyDictionary()
_RECORDS_LOCK = threading.Lock()


class DeliveryHealth:
    """Shared, thread-safe record of how the sends to one lineage backend went.

    Args:
        slow_send_seconds: A send that fails, takes longer than this, or is still in flight after this long marks
            the backend unhealthy; flushes then stop waiting for it until a send succeeds within this time.
        backend: What the sends go to, as the reasons name it (``lineage backend``, ``span collector``).
    """

    def __init__(self, slow_send_seconds: float = SLOW_SEND_SECONDS, *, backend: str = "lineage backend") -> None:
        self.slow_send_seconds = max(slow_send_seconds, 0.0)
        self.backend = backend
        self._lock = threading.Lock()
        self._in_flight: dict[int, float] = {}
        self._problem: str | None = None

    def send_started(self, token: int) -> None:
        """Record that the sender identified by ``token`` started one send now."""
        with self._lock:
            self._in_flight[token] = time.monotonic()

    def send_finished(self, token: int, *, ok: bool) -> None:
        """Record the outcome of the send ``token`` started: a quick success heals, anything else marks unhealthy."""
        now = time.monotonic()
        with self._lock:
            started = self._in_flight.pop(token, now)
            took = now - started
            if not ok:
                self._problem = f"a send to the {self.backend} failed"
            elif took > self.slow_send_seconds:
                self._problem = f"a send to the {self.backend} took {took:.1f} s"
            else:
                self._problem = None

    def reason_not_to_wait(self) -> str | None:
        """Return why a flush should not wait for this backend, or ``None`` while it looks healthy."""
        now = time.monotonic()
        with self._lock:
            if self._problem is not None:
                return self._problem
            oldest = min(self._in_flight.values(), default=now)
            if now - oldest > self.slow_send_seconds:
                self._problem = f"a send to the {self.backend} got no answer within {self.slow_send_seconds:g} s"
            return self._problem

    @property
    def healthy(self) -> bool:
        """Whether flushes currently wait for this backend."""
        return self.reason_not_to_wait() is None


def delivery_health(client: OpenLineageClient) -> DeliveryHealth:
    """Return the :class:`DeliveryHealth` shared by every emitter sending through ``client``.

    The record travels with the client object, so emitters built independently (floe's executor, every dbt
    step of the process) share what any of them learnt about the backend.

    Args:
        client: The OpenLineage client whose backend is tracked.

    Returns:
        The client's health record, created on first use.
    """
    with _RECORDS_LOCK:
        try:
            return _RECORDS.setdefault(client, DeliveryHealth())
        except TypeError:  # a client that cannot be weakly referenced: track this emitter on its own
            return DeliveryHealth()
