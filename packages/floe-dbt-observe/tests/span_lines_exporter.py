"""A span exporter a dbt subprocess can import (``PYTHONPATH``): each span as one JSON line in a file."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import format_span_id, format_trace_id


class SpanLinesExporter(SpanExporter):
    """Append every exported span's name, ids, parent, links and attributes to ``path``."""

    def __init__(self, path: str) -> None:
        self.path = Path(path)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self.path.open("a") as out:
            for span in spans:
                context = span.get_span_context()
                out.write(
                    json.dumps(
                        {
                            "name": span.name,
                            "trace_id": format_trace_id(context.trace_id),
                            "span_id": format_span_id(context.span_id),
                            "parent_id": format_span_id(span.parent.span_id) if span.parent else None,
                            "links": [format_span_id(link.context.span_id) for link in span.links],
                            "attributes": dict(span.attributes or {}),
                            "resource": dict(span.resource.attributes),
                        },
                        default=str,
                    )
                    + "\n"
                )
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        """Nothing to release."""


def read_span_lines(path: Path) -> list[dict[str, object]]:
    """Return the spans a ``SpanLinesExporter`` wrote to ``path``."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def span_lines_provider(path: str, resource: dict[str, str] | None = None) -> TracerProvider:
    """The application's provider factory for a dbt subprocess (``ApplicationHooks.dbt_span_export``)."""
    provider = TracerProvider(resource=Resource.create(resource or {}), shutdown_on_exit=False)
    provider.add_span_processor(SimpleSpanProcessor(SpanLinesExporter(path)))
    return provider
