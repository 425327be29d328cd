"""floe's shared pytest fixtures, a pytest plugin (``pytest11`` entry point) of every suite that installs this.

Imports nothing at load beyond the standard library and pytest: the fixtures import their subject when used.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from floe_test_support import http_endpoints, postgres, redis_server


@pytest.fixture
def http_endpoints_factory() -> Iterator[http_endpoints.EndpointFactory]:
    """``http_endpoints_factory(status=200, delay_seconds=0.0)``: recording HTTP servers, stopped at teardown."""
    factory = http_endpoints.EndpointFactory()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def http_endpoint(http_endpoints_factory: http_endpoints.EndpointFactory) -> http_endpoints.Endpoint:
    """One recording HTTP server on 127.0.0.1 answering 200 at once."""
    return http_endpoints_factory()


@pytest.fixture
def grpc_collector_factory() -> Iterator[Any]:
    """``grpc_collector_factory(delay_seconds=0.0)``: recording OTLP/gRPC collectors, stopped at teardown.

    Returns a :class:`floe_test_support.grpc_collector.GrpcCollectorFactory` (grpcio is imported only here).
    """
    from floe_test_support.grpc_collector import GrpcCollectorFactory

    factory = GrpcCollectorFactory()
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def refused_url() -> str:
    """A URL on 127.0.0.1 where nothing listens (the port was free a moment ago): connection refused."""
    return http_endpoints.refused_url()


@pytest.fixture(scope="session")
def openlineage_conformance() -> ModuleType:
    """The conformance helper: the official OpenLineage schemas (vendored here) + floe-dbt-observe's facets.

    ``validate_events(events)`` validates each event and each facet and returns ``(events, facets)`` checked.
    """
    from floe_test_support import openlineage_conformance

    return openlineage_conformance


@pytest.fixture(scope="session")
def postgres_server() -> postgres.PostgresServer:
    """The PostgreSQL server ``FLOE_TEST_POSTGRES_URL`` names; tests using it skip, saying why, without it."""
    server = postgres.configured_server()
    if server is None:
        pytest.skip(postgres.SKIP_REASON)
    return server


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """``FLOE_TEST_REDIS_URL``, else a throwaway server from ``.ci/redis.sh`` (skip when neither is possible)."""
    try:
        with redis_server.configured_or_throwaway_url() as url:
            yield url
    except RuntimeError as exc:
        pytest.skip(f"no Redis: {exc}")
