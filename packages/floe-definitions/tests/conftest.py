from __future__ import annotations

import http.server
import importlib.util
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest

CONFORMANCE = Path(__file__).resolve().parents[2] / "floe-dbt-observe" / "tests" / "openlineage_conformance.py"
OTLP_SPANS = Path(__file__).resolve().parents[3] / "demo" / "otlp_spans.py"


def _load_by_path(name: str, path: Path) -> ModuleType:
    """Import a helper module of another folder by file, once, under ``name`` (no test folder is a package)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# The OTLP/JSON trace-file reader (the demo's; it needs the standard library and floe-dbt-observe): test modules
# ``from otlp_spans import read_spans`` to read back what floe's file exporter wrote.
_load_by_path("otlp_spans", OTLP_SPANS)


@pytest.fixture(scope="session")
def openlineage_conformance() -> ModuleType:
    """floe-dbt-observe's conformance helper: the official OpenLineage schemas (vendored there) + floe's facets.

    ``validate_events(events)`` validates each event and each facet and returns ``(events, facets)`` checked.
    """
    return _load_by_path("openlineage_conformance", CONFORMANCE)


@dataclass
class Received:
    """Requests a local HTTP server got: (path, headers, body)."""

    requests: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)
    event: threading.Event = field(default_factory=threading.Event)


@dataclass
class LocalServer:
    url: str
    received: Received


@pytest.fixture
def http_server() -> Iterator[LocalServer]:
    """A real HTTP server on 127.0.0.1 that records every POST and answers 200."""
    received = Received()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            received.requests.append((self.path, dict(self.headers.items()), body))
            received.event.set()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalServer(url=f"http://127.0.0.1:{server.server_address[1]}", received=received)
    finally:
        server.shutdown()
        server.server_close()
