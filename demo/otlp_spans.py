"""OTLP/JSON trace files read back: one flat record per span, for the demo's report and floe's tests.

floe writes file traces as OTLP/JSON lines (``floe_definitions.telemetry.otlp_json``, the format a Collector's
``otlpjsonfile`` receiver reads); :func:`read_spans` reads such a file and :func:`spans_from_request` one request a
receiver got. It needs only the standard library and floe-dbt-observe (its exact ns-to-ISO formatter), so
floe-definitions' tests load this file by path too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from floe_dbt_observe.integration import ns_to_iso

_STATUS_CODES = {0: "UNSET", 1: "OK", 2: "ERROR"}
_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


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
