"""An SDK id generator honouring floe's span-id pin (``ApplicationHooks.pin_span_id``), as floe-definitions' does."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry.sdk.trace.id_generator import RandomIdGenerator


class PinningIdGenerator(RandomIdGenerator):
    """Random ids, except for the next span started inside :meth:`pin`."""

    def __init__(self) -> None:
        self._pending: contextvars.ContextVar[int | None] = contextvars.ContextVar("pinned", default=None)

    def generate_span_id(self) -> int:
        pending = self._pending.get()
        if pending is not None:
            self._pending.set(None)
            return pending
        return super().generate_span_id()

    @contextmanager
    def pin(self, span_id: int) -> Iterator[None]:
        token = self._pending.set(span_id)
        try:
            yield
        finally:
            self._pending.reset(token)
