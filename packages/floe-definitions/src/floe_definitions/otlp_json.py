"""Spans as OTLP/JSON lines: the OpenTelemetry file-exporter format, which a Collector's ``otlpjsonfile`` reads.

Each export writes one line: an ``ExportTraceServiceRequest`` (opentelemetry-proto) encoded by the OTLP
exporters' own encoder and mapped to JSON by protobuf's ``json_format``, with trace and span ids written as hex as
the OTLP/JSON specification requires (protobuf's mapping would write them as base64). :func:`read_spans` reads
such a file back (and :func:`spans_from_request` a request a receiver got) as one flat record per span.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from floe_dbt_observe.tracing import ns_to_iso

_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
_STATUS_CODES = {0: "UNSET", 1: "OK", 2: "ERROR"}
_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


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


def read_spans(path: Path) -> list[dict[str, Any]]:
    """Read an OTLP/JSON lines file into one flat record per span (see :func:`spans_from_request`).

    Args:
        path: The file; a missing file has no spans.

    Returns:
        The spans, in file order.
    """
    if not path.exists():
        return []
    return [
        span
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
        for span in spans_from_request(json.loads(line))
    ]


def spans_from_request(request: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield each span of an OTLP/JSON ``ExportTraceServiceRequest`` as a flat record.

    A record has ``name``, ``kind``, ``context`` (``trace_id`` / ``span_id`` as ``0x``-prefixed hex),
    ``parent_id`` (or None), ``start_time`` / ``end_time`` (ISO 8601, UTC), ``status`` (``status_code``
    ``UNSET`` / ``OK`` / ``ERROR`` and ``description``), plain-valued ``attributes``, ``events`` (``name``,
    ``attributes``) and ``resource`` (``attributes``): the keys of the SDK's ``ReadableSpan.to_json``.
    """
    for resource_spans in request.get("resourceSpans", []):
        resource = {"attributes": _attributes(resource_spans.get("resource", {}).get("attributes", []))}
        for scope_spans in resource_spans.get("scopeSpans", []):
            for span in scope_spans.get("spans", []):
                status = span.get("status", {})
                parent = span.get("parentSpanId")
                yield {
                    "name": span.get("name", ""),
                    "kind": _KINDS.get(int(span.get("kind", 0)), "UNSPECIFIED"),
                    "context": {"trace_id": f"0x{span['traceId']}", "span_id": f"0x{span['spanId']}"},
                    "parent_id": f"0x{parent}" if parent else None,
                    "start_time": _iso(span.get("startTimeUnixNano")),
                    "end_time": _iso(span.get("endTimeUnixNano")),
                    "status": {
                        "status_code": _STATUS_CODES.get(int(status.get("code", 0)), "UNSET"),
                        "description": status.get("message"),
                    },
                    "attributes": _attributes(span.get("attributes", [])),
                    "events": [
                        {"name": event.get("name", ""), "attributes": _attributes(event.get("attributes", []))}
                        for event in span.get("events", [])
                    ],
                    "resource": resource,
                }


def _iso(nanos: str | int | None) -> str | None:
    return None if nanos is None else ns_to_iso(int(nanos))


def _attributes(pairs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {pair["key"]: _value(pair.get("value", {})) for pair in pairs}


def _value(value: Mapping[str, Any]) -> Any:
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [_value(item) for item in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return _attributes(value["kvlistValue"].get("values", []))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None
