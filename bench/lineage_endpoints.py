"""Inputs of the ``lineage`` and ``otlp`` benchmarks: the fault tests' small project and real endpoints on 127.0.0.1.

The project is ``packages/floe-definitions/tests/integration/faults/project`` (a Python asset -> a dbt staging
view with a ``not_null`` test -> a dbt mart table: 8 OpenLineage events per run), copied once under
``bench/.work/lineage/``. The endpoints are ``http.server`` servers in threads of the benchmark runner: one
answering HTTP 500, one answering 200 after 10 s, one answering 200 after 0.3 s (healthy but not instant), and a
port where nothing listens (connection refused). A file-transport case is the reference for what lineage itself
costs (building events, column lineage) with no network involved. Every case gets its own ``platform.yaml``; the
OpenLineage HTTP transport is the client's own, with platform.yaml's default 5 s request timeout.

The ``otlp`` cases send spans with the SDK's OTLP exporters (platform.yaml's default 10 s export timeout) to a
port where nothing listens, a collector answering after 10 s, and a live one answering at once; lineage is off.
Each runs once over OTLP/HTTP (``http.server`` endpoints) and once over OTLP/gRPC (grpcio servers serving
opentelemetry-proto's ``TraceService``).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from generate_dbt_project import WORK_DIR

from floe_test_support.grpc_collector import GrpcCollectorFactory
from floe_test_support.http_endpoints import EndpointFactory, refused_url

REPO = Path(__file__).resolve().parent.parent
FAULT_PROJECT = REPO / "packages" / "floe-definitions" / "tests" / "integration" / "faults" / "project"
LINEAGE_WORK = WORK_DIR / "lineage"
PLATFORM_BASE = "environment: bench\nexecution:\n  executor: {type: in_process}\ntracing: {type: none}\n"
LINEAGE_OFF = "lineage: {transport: {type: none}}\n"
EVENTS_PER_RUN = 8
OTLP_BASE = "environment: bench\nexecution:\n  executor: {type: in_process}\nlineage: {transport: {type: none}}\n"


@dataclass(frozen=True)
class LineageCase:
    """One way the lineage backend behaves, and the platform.yaml pointing at it."""

    label: str
    platform: Path


def ensure_project() -> Path:
    """Copy the fault tests' project under ``bench/.work/lineage/project`` (fresh each session); return it."""
    root = LINEAGE_WORK / "project"
    if root.exists():
        shutil.rmtree(root)
    ignore = shutil.ignore_patterns(".floe", "target", "logs", "__pycache__", "*.duckdb")
    shutil.copytree(FAULT_PROJECT, root, ignore=ignore)
    return root


def _platform(path: Path, url: str | None) -> Path:
    lineage = LINEAGE_OFF if url is None else f"lineage:\n  transport: {{type: http, url: '{url}'}}\n"
    path.write_text(PLATFORM_BASE + lineage, encoding="utf-8")
    return path


def _file_platform(path: Path, directory: Path) -> Path:
    path.write_text(PLATFORM_BASE + f"lineage:\n  transport: {{type: file, path: '{directory}'}}\n", encoding="utf-8")
    return path


@contextmanager
def _serving(answers: dict[str, tuple[int, float]]) -> Iterator[Callable[[str], str]]:
    """Start one endpoint per name (HTTP status, seconds before answering); yield name -> URL; stop them on exit."""
    factory = EndpointFactory()
    try:
        endpoints = {name: factory(status, delay) for name, (status, delay) in answers.items()}
        yield lambda name: endpoints[name].url
    finally:
        factory.close()


@contextmanager
def lineage_cases(directory: Path) -> Iterator[list[LineageCase]]:
    """Start the endpoints and write one platform file per case under ``directory``; stop them on exit."""
    directory.mkdir(parents=True, exist_ok=True)
    with _serving({"500": (500, 0.0), "slow": (200, 10.0), "healthy": (200, 0.3)}) as url:
        yield [
            LineageCase("lineage off", _platform(directory / "off.yaml", None)),
            LineageCase("file transport", _file_platform(directory / "file.yaml", directory / "events")),
            LineageCase("connection refused", _platform(directory / "refused.yaml", refused_url())),
            LineageCase("HTTP 500", _platform(directory / "http500.yaml", url("500"))),
            LineageCase("answers after 10 s", _platform(directory / "slow.yaml", url("slow"))),
            LineageCase("healthy, answers after 0.3 s", _platform(directory / "healthy.yaml", url("healthy"))),
        ]


@contextmanager
def _grpc_collectors(delays: dict[str, float]) -> Iterator[Callable[[str], str]]:
    """Start one OTLP/gRPC collector per name (seconds before answering); yield name -> URL; stop them on exit."""
    factory = GrpcCollectorFactory()
    try:
        collectors = {name: factory(delay) for name, delay in delays.items()}
        yield lambda name: collectors[name].url
    finally:
        factory.close()


def _otlp_platform(path: Path, url: str | None, protocol: str = "http/protobuf") -> Path:
    tracing = (
        "tracing: {type: none}\n"
        if url is None
        else f"tracing: {{type: otlp, endpoint: '{url}', protocol: {protocol}}}\n"
    )
    path.write_text(OTLP_BASE + tracing, encoding="utf-8")
    return path


@contextmanager
def otlp_cases(directory: Path) -> Iterator[list[LineageCase]]:
    """Start the OTLP collectors and write one platform file per case under ``directory``; stop them on exit."""
    directory.mkdir(parents=True, exist_ok=True)
    delays = {"slow": 10.0, "live": 0.0}
    with (
        _serving({name: (200, delay) for name, delay in delays.items()}) as http_url,
        _grpc_collectors(delays) as grpc_url,
    ):
        cases = [LineageCase("tracing off", _otlp_platform(directory / "off.yaml", None))]
        for protocol, label, url in (("http/protobuf", "HTTP", http_url), ("grpc", "gRPC", grpc_url)):
            stem = label.lower()
            cases += [
                LineageCase(
                    f"OTLP/{label} live collector",
                    _otlp_platform(directory / f"{stem}-live.yaml", url("live"), protocol),
                ),
                LineageCase(
                    f"OTLP/{label} connection refused",
                    _otlp_platform(directory / f"{stem}-refused.yaml", refused_url(), protocol),
                ),
                LineageCase(
                    f"OTLP/{label} answers after 10 s",
                    _otlp_platform(directory / f"{stem}-slow.yaml", url("slow"), protocol),
                ),
            ]
        yield cases
