"""Real HTTP servers on 127.0.0.1 that record every POST: the OTLP/HTTP collector and OpenLineage backend of tests.

One handler for every test: it answers ``status`` after ``delay_seconds`` (HTTP/1.1, a JSON ``{}`` body), records
each request's path, headers and body (gzip bodies decompressed, as an OTLP exporter may send them) as it arrives,
and sets an event at the first one. :class:`EndpointFactory` starts any number and stops them all at once.
"""

from __future__ import annotations

import gzip
import http.server
import json
import socket
import sys
import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Recorded:
    """What a local endpoint received: ``(path, headers, body)`` per request, in arrival order."""

    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    event: threading.Event = field(default_factory=threading.Event)
    """Set when the first request arrives."""

    def bodies(self, path_prefix: str = "") -> list[bytes]:
        """Return the bodies of the requests whose path starts with ``path_prefix``."""
        with self.lock:
            return [body for path, _, body in self.requests if path.startswith(path_prefix)]

    def json_bodies(self, path_prefix: str = "") -> list[Any]:
        """Return the bodies of the requests whose path starts with ``path_prefix``, decoded as JSON."""
        return [json.loads(body) for body in self.bodies(path_prefix)]


@dataclass(frozen=True)
class Endpoint:
    """A local HTTP endpoint: its URL and what it received."""

    url: str
    recorded: Recorded


class _QuietServer(http.server.ThreadingHTTPServer):
    """Prints no traceback when a client (a process exiting, a timed-out request) drops its connection."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler(recorded: Recorded, status: int, delay_seconds: float, stop: threading.Event) -> type:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            with recorded.lock:
                recorded.requests.append((self.path, dict(self.headers.items()), body))
            recorded.event.set()
            if delay_seconds:
                stop.wait(delay_seconds)
            payload = b"{}"
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except OSError:  # the client timed out and went away (a slow endpoint)
                self.close_connection = True

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler


class EndpointFactory:
    """Starts recording endpoints; :meth:`close` stops every one (and ends the delays they are waiting out)."""

    def __init__(self) -> None:
        self._servers: list[http.server.ThreadingHTTPServer] = []
        self._stop = threading.Event()

    def __call__(self, status: int = 200, delay_seconds: float = 0.0) -> Endpoint:
        """Start an endpoint answering ``status`` after ``delay_seconds``; return it."""
        recorded = Recorded()
        server = _QuietServer(("127.0.0.1", 0), _handler(recorded, status, delay_seconds, self._stop))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name=f"test-endpoint-{status}", daemon=True).start()
        self._servers.append(server)
        return Endpoint(url=f"http://127.0.0.1:{server.server_address[1]}", recorded=recorded)

    def close(self) -> None:
        """Stop every endpoint started."""
        self._stop.set()
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers.clear()


def refused_url() -> str:
    """Return a URL on 127.0.0.1 where nothing listens (the port was free a moment ago): connection refused."""
    return f"http://127.0.0.1:{free_port()}"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
