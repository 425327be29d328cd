"""A local OTLP/HTTP traces and OpenLineage HTTP receiver on 127.0.0.1, so the demo checks what it sent.

One ``http.server`` answers both: ``POST …/v1/traces`` (OTLP ``application/x-protobuf`` or ``application/json``)
and ``POST …/api/v1/lineage`` (OpenLineage JSON). It records the spans (as the flat records of
``demo.otlp_spans``) and the events, and, when given the user's own endpoints, relays each request
to them unchanged, so the data still reaches a real collector or Marquez while the demo checks it.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from demo.otlp_spans import spans_from_request
from floe_definitions.integration import request_dict

TRACES_PATH = "/v1/traces"
LINEAGE_PATH = "/api/v1/lineage"


@dataclass
class Received:
    """What the receiver got, and what relaying it failed with."""

    spans: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    trace_requests: int = 0
    relay_errors: list[str] = field(default_factory=list)
    last_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class TelemetryReceiver:
    """Receive OTLP/HTTP traces and OpenLineage events on ``127.0.0.1`` (a free port).

    Args:
        relay_traces: The user's OTLP traces URL to forward each traces request to, or None.
        relay_lineage: The user's OpenLineage URL (``…/api/v1/lineage``) to forward each event to, or None.
    """

    def __init__(self, *, relay_traces: str | None = None, relay_lineage: str | None = None) -> None:
        self.received = Received()
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                content_type = self.headers.get("Content-Type", "")
                path = self.path.split("?", 1)[0]
                if path.endswith(TRACES_PATH):
                    if "json" in content_type:
                        document = json.loads(body)
                    else:
                        document = request_dict(ExportTraceServiceRequest.FromString(body))
                    with received.lock:
                        received.spans.extend(spans_from_request(document))
                        received.trace_requests += 1
                        received.last_at = time.monotonic()
                    _relay(relay_traces, body, dict(self.headers.items()), received)
                    self._answer(200, ExportTraceServiceResponse().SerializeToString(), "application/x-protobuf")
                elif path.endswith(LINEAGE_PATH):
                    with received.lock:
                        received.events.append(json.loads(body))
                        received.last_at = time.monotonic()
                    _relay(relay_lineage, body, dict(self.headers.items()), received)
                    self._answer(200, b"{}", "application/json")
                else:
                    self._answer(404, b"", "text/plain")

            def _answer(self, status: int, payload: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                return None

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-receiver", daemon=True)

    @property
    def spans(self) -> list[dict[str, Any]]:
        """The spans received so far."""
        with self.received.lock:
            return list(self.received.spans)

    @property
    def events(self) -> list[dict[str, Any]]:
        """The OpenLineage events received so far."""
        with self.received.lock:
            return list(self.received.events)

    def wait_until_quiet(self, quiet_seconds: float = 1.0, timeout_seconds: float = 15.0) -> None:
        """Wait until nothing has arrived for ``quiet_seconds`` (background senders finish), at most the timeout."""
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            with self.received.lock:
                last = self.received.last_at
            if last and time.monotonic() - last >= quiet_seconds:
                return
            time.sleep(0.1)

    @contextmanager
    def running(self) -> Iterator[TelemetryReceiver]:
        """Serve while the block runs."""
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


def _relay(url: str | None, body: bytes, headers: dict[str, str], received: Received) -> None:
    if url is None:
        return
    kept = {name: value for name, value in headers.items() if name.lower() not in ("host", "content-length")}
    request = urllib.request.Request(url, data=body, method="POST", headers=kept)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            response.read()
    except OSError as exc:
        with received.lock:
            received.relay_errors.append(f"{url}: {exc}")
