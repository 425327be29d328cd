"""Spans as OTLP/JSON lines: the OpenTelemetry file-exporter format, which a Collector's ``otlpjsonfile`` reads.

Each export writes one line: an ``ExportTraceServiceRequest`` (opentelemetry-proto) encoded by the OTLP
exporters' own encoder and mapped to JSON by protobuf's ``json_format``, with trace and span ids written as hex as
the OTLP/JSON specification requires (protobuf's mapping would write them as base64). The demo reads such a file
back (``demo/otlp_spans.py``).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


class OtlpJsonFileSpanExporter(SpanExporter):
    """Append each batch of spans to a file as one OTLP/JSON ``ExportTraceServiceRequest`` line.

    The file is opened for each export and closed right after it, so no handle outlives a write: none is left to
    the garbage collector (``ResourceWarning: unclosed file``) in a process that never shuts its provider down or
    does not wait for the shutdown (an exit handler that stops waiting, a step process, a Celery worker), and a
    forked child inherits none.
    """

    def __init__(self, path: Path) -> None:
        """Append to ``path`` (several processes of one run share the file: each line is one ``O_APPEND`` write).

        Args:
            path: The JSON-lines file; its folder is created.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._shut_down = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Write the spans as one line (nothing after :meth:`shutdown`)."""
        if self._shut_down:
            return SpanExportResult.FAILURE
        if not spans:
            return SpanExportResult.SUCCESS
        line = (request_json(spans) + "\n").encode("utf-8")
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            written = 0
            while written < len(line):  # one write for a regular file; the loop only guards a short write
                written += os.write(descriptor, line[written:])
        finally:
            os.close(descriptor)
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Refuse later exports (no file is held open between exports)."""
        self._shut_down = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Every export is already written through."""
        return True


def request_json(spans: Sequence[ReadableSpan]) -> str:
    """Return the spans as one OTLP/JSON ``ExportTraceServiceRequest`` (no newline)."""
    return json.dumps(request_dict(encode_spans(spans)), separators=(",", ":"))


def request_dict(request: ExportTraceServiceRequest) -> dict[str, Any]:
    """Map a protobuf request to its OTLP/JSON form (lowerCamelCase keys, integer enums, hex ids)."""
    mapped: dict[str, Any] = json_format.MessageToDict(request, use_integers_for_enums=True)
    _hex_ids(mapped)
    return mapped


def _hex_ids(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str):
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)
