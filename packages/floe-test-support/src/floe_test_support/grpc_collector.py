"""Real OTLP/gRPC span collectors on 127.0.0.1: grpcio servers serving opentelemetry-proto's ``TraceService``.

The gRPC counterpart of :mod:`~floe_test_support.http_endpoints`: each collector answers after ``delay_seconds`` and
records every export request (serialized, like the HTTP bodies, under the method's path) as it arrives.
:class:`GrpcCollectorFactory` starts any number and stops them all at once. Imports grpcio and opentelemetry-proto
(floe-definitions brings both): only the suites and the bench that send OTLP/gRPC import this module.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from floe_test_support.http_endpoints import Endpoint, Recorded

EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
"""The path each recorded request is filed under."""


class _TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    """Records every OTLP/gRPC export request and answers after a delay."""

    def __init__(self, recorded: Recorded, delay_seconds: float, stop: threading.Event) -> None:
        self.recorded = recorded
        self.delay_seconds = delay_seconds
        self.stop = stop

    def Export(  # the gRPC method's name
        self, request: trace_service_pb2.ExportTraceServiceRequest, context: grpc.ServicerContext
    ) -> trace_service_pb2.ExportTraceServiceResponse:
        with self.recorded.lock:
            self.recorded.requests.append((EXPORT_PATH, {}, request.SerializeToString()))
        self.recorded.event.set()
        if self.delay_seconds:
            self.stop.wait(self.delay_seconds)
        return trace_service_pb2.ExportTraceServiceResponse()


def span_names(recorded: Recorded) -> list[str]:
    """Return the names of the spans a collector received, in arrival order."""
    names: list[str] = []
    for body in recorded.bodies(EXPORT_PATH):
        request = trace_service_pb2.ExportTraceServiceRequest.FromString(body)
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                names.extend(span.name for span in scope_spans.spans)
    return names


class GrpcCollectorFactory:
    """Starts recording OTLP/gRPC collectors; :meth:`close` stops every one (and ends the delays they wait out)."""

    def __init__(self) -> None:
        self._servers: list[grpc.Server] = []
        self._stop = threading.Event()

    def __call__(self, delay_seconds: float = 0.0) -> Endpoint:
        """Start a collector answering after ``delay_seconds``; return it (its URL is ``http://127.0.0.1:<port>``)."""
        recorded = Recorded()
        server = grpc.server(ThreadPoolExecutor(max_workers=8, thread_name_prefix="test-grpc-collector"))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
            _TraceService(recorded, delay_seconds, self._stop), server
        )
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._servers.append(server)
        return Endpoint(url=f"http://127.0.0.1:{port}", recorded=recorded)

    def close(self) -> None:
        """Stop every collector started."""
        self._stop.set()
        for server in self._servers:
            server.stop(grace=None)
        self._servers.clear()
