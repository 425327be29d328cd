"""dbt's own spans and its warehouse query comments in floe's trace: the rules both ways of running dbt share.

- **Node span ids.** floe's span of a dbt node gets a span id computed from the step span's context and the node's
  unique id (:meth:`DbtTraceSettings.node_span_id`, the first 64 bits of ``md5("<trace id>-<step span id>:<unique
  id>")``), so dbt can name it in a query comment before the span exists, in whatever process dbt runs. The
  application's id generator honours it (``ApplicationHooks.pin_span_id``).
- **The query comment.** dbt's default query comment with a ``traceparent`` (W3C) added: the node's span for a
  node's statements, the step's span for the others (:func:`query_comment_template`). dbt's own ``local_md5``
  computes the span id in Jinja, so the comment needs no ``--vars`` (which would cost dbt a full re-parse).
- **dbt's own spans** (dbt-core >= 1.12, ``--snowflake-projects-otel``) go to the step's tracer provider, parented
  on floe's step span; each node span of dbt's is a child of floe's span of that node.

The settings travel in the OpenTelemetry context (:data:`DBT_TRACE_KEY`): floe attaches it in dbt's thread (in
process) or the launcher does (``dbt_launcher``, as a subprocess), and dbt copies the context to its worker threads
when its spans are on. ``_compat`` installs the two hooks into dbt that read it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TracerProvider
from packaging.version import Version

DBT_TRACE_KEY = otel_context.create_key("floe.dbt_trace")
"""The OpenTelemetry context key holding a step's :class:`DbtTraceSettings`."""
LAUNCH_FILE = "floe_dbt_trace.json"
"""The launcher's settings, written in the invocation's target path (``DBT_TARGET_PATH``)."""
DBT_OTEL_FLAG = "--snowflake-projects-otel"
"""dbt-core 1.12's switch for its own spans."""
DBT_SPANS_MIN_VERSION = Version("1.12")
"""The first dbt-core with spans of its own."""
NODE_RESOURCE_TYPES = frozenset({"model", "seed", "snapshot", "test", "unit_test"})
"""The unique-id prefixes of the nodes floe opens spans for (dbt names its node spans by unique id)."""


def dbt_core_version() -> Version | None:
    """Return the installed dbt-core's version, None when it is not installed."""
    try:
        return Version(version("dbt-core"))
    except PackageNotFoundError:
        return None


def dbt_has_spans() -> bool:
    """Return whether the installed dbt-core has spans of its own (1.12 and later)."""
    found = dbt_core_version()
    return found is not None and found.release[:2] >= DBT_SPANS_MIN_VERSION.release[:2]


def node_span_id_hex(seed: str, unique_id: str) -> str:
    """Return floe's span id (16 hex digits) of a dbt node in the step whose seed is ``seed``.

    The query comment computes the same with dbt's ``local_md5`` (:func:`query_comment_template`).
    """
    return hashlib.md5(f"{seed}:{unique_id}".encode(), usedforsecurity=False).hexdigest()[:16]


@dataclass(frozen=True)
class DbtTraceSettings:
    """What one dbt invocation of a step does with traces.

    Attributes:
        trace_id: The step span's trace id.
        step_span_id: The step span's id: the parent of dbt's invocation span, and of statements outside a node.
        spans: Turn dbt's own spans on (``--snowflake-projects-otel``).
        query_comment: Add ``traceparent`` to dbt's query comment (a project's own ``query-comment`` is kept).
        node_span_ids: floe's node spans carry :meth:`node_span_id` (the application's id generator honours it):
            query comments name them and dbt's node spans become their children.
        tracer_provider: The provider dbt's spans go to in process (None: the global one); never serialised.
    """

    trace_id: int
    step_span_id: int
    spans: bool = False
    query_comment: bool = False
    node_span_ids: bool = False
    tracer_provider: TracerProvider | None = None

    @property
    def seed(self) -> str:
        """The step's ``<trace id>-<step span id>``, from which node span ids are computed."""
        return f"{trace.format_trace_id(self.trace_id)}-{trace.format_span_id(self.step_span_id)}"

    def node_span_id(self, unique_id: str) -> int:
        """Return floe's span id of the node ``unique_id`` in this step (never 0)."""
        return int(node_span_id_hex(self.seed, unique_id), 16) or 1

    def step_context(self) -> otel_context.Context:
        """Return the context dbt runs in: the step span as parent, these settings under :data:`DBT_TRACE_KEY`."""
        parent = NonRecordingSpan(
            SpanContext(self.trace_id, self.step_span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))
        )
        return otel_context.set_value(DBT_TRACE_KEY, self, trace.set_span_in_context(parent))

    def node_context(self, unique_id: str, base: otel_context.Context | None) -> otel_context.Context:
        """Return ``base`` with floe's span of ``unique_id`` as the current span (dbt's node span's parent)."""
        parent = NonRecordingSpan(
            SpanContext(
                self.trace_id,
                self.node_span_id(unique_id),
                is_remote=True,
                trace_flags=TraceFlags(TraceFlags.SAMPLED),
            )
        )
        return trace.set_span_in_context(parent, base)

    def to_json(self) -> str:
        """Serialise for the launcher (without the tracer provider)."""
        return json.dumps(
            {
                "trace_id": trace.format_trace_id(self.trace_id),
                "step_span_id": trace.format_span_id(self.step_span_id),
                "spans": self.spans,
                "query_comment": self.query_comment,
                "node_span_ids": self.node_span_ids,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> DbtTraceSettings:
        """Read what :meth:`to_json` wrote."""
        data = json.loads(text)
        return cls(
            trace_id=int(data["trace_id"], 16),
            step_span_id=int(data["step_span_id"], 16),
            spans=bool(data.get("spans")),
            query_comment=bool(data.get("query_comment")),
            node_span_ids=bool(data.get("node_span_ids")),
        )

    def without_provider(self) -> DbtTraceSettings:
        """Return these settings without the in-process tracer provider."""
        return replace(self, tracer_provider=None)


def current_settings(context: otel_context.Context | None = None) -> DbtTraceSettings | None:
    """Return the settings in ``context`` (default: the current context), None outside a floe dbt invocation."""
    value = otel_context.get_value(DBT_TRACE_KEY, context)
    return value if isinstance(value, DbtTraceSettings) else None


def query_comment_template(settings: DbtTraceSettings) -> str:
    """Return dbt's default query comment with ``traceparent`` added, for dbt's ``query-comment`` setting.

    dbt renders it as a macro with ``connection_name`` and ``node``; the JSON object it returns becomes
    ``/* {...} */`` before each statement, as dbt's default comment does. Statements of a node floe has no span
    for (hooks, ``operation`` nodes) and of no node name the step's span.
    """
    trace_hex = trace.format_trace_id(settings.trace_id)
    step_hex = trace.format_span_id(settings.step_span_id)
    node_span = (
        f"local_md5('{settings.seed}:' ~ node.unique_id)[:16]"
        if settings.node_span_ids
        else f"'{step_hex}'"  # floe's node span ids are not known: the step's span
    )
    return (
        "{%- set comment_dict = {} -%}\n"
        "{%- do comment_dict.update(app='dbt', dbt_version=dbt_version, "
        "profile_name=target.get('profile_name'), target_name=target.get('target_name')) -%}\n"
        "{%- if node is not none -%}\n"
        "  {%- do comment_dict.update(node_id=node.unique_id) -%}\n"
        "{%- else -%}\n"
        "  {%- do comment_dict.update(connection_name=connection_name) -%}\n"
        "{%- endif -%}\n"
        f"{{%- if node is not none and node.resource_type in {sorted(NODE_RESOURCE_TYPES)!r} -%}}\n"
        f"  {{%- do comment_dict.update(traceparent='00-{trace_hex}-' ~ {node_span} ~ '-01') -%}}\n"
        "{%- else -%}\n"
        f"  {{%- do comment_dict.update(traceparent='00-{trace_hex}-{step_hex}-01') -%}}\n"
        "{%- endif -%}\n"
        "{{ return(tojson(comment_dict)) }}"
    )


def write_launch_file(target_path: Path, settings: DbtTraceSettings, span_export: Any | None) -> Path:
    """Write the launcher's settings (and the span exporter spec) into the invocation's target path."""
    target_path.mkdir(parents=True, exist_ok=True)
    path = target_path / LAUNCH_FILE
    payload = json.loads(settings.to_json())
    payload["span_export"] = span_export
    path.write_text(json.dumps(payload))
    path.chmod(0o600)  # the exporter spec may carry a collector's headers
    return path


def read_launch_file(target_path: Path) -> tuple[DbtTraceSettings, Any | None] | None:
    """Read what :func:`write_launch_file` wrote, None when there is no such file."""
    path = target_path / LAUNCH_FILE
    if not path.is_file():
        return None
    text = path.read_text()
    return DbtTraceSettings.from_json(text), json.loads(text).get("span_export")


class ContextTracer(trace.Tracer):
    """dbt's tracer (``dbt.runner``) as floe installs it: it follows the :class:`DbtTraceSettings` in the context.

    Outside a floe dbt invocation (no settings in the context) every call goes to ``fallback``, dbt's own tracer
    from the global provider, so dbt behaves exactly as without floe. Inside one, spans go to the settings' tracer
    provider (the global one when it is None), and a node span (dbt names it by the node's unique id and gives it
    its upstream nodes' links) becomes a child of floe's span of that node when floe's node span ids are known.

    Args:
        fallback: dbt's own tracer.
        instrumenting_version: dbt-core's version, the tracer's version.
    """

    def __init__(self, fallback: trace.Tracer, instrumenting_version: str | None = None) -> None:
        self._fallback = fallback
        self._version = instrumenting_version

    def _route(
        self, name: str, context: otel_context.Context | None, links: object
    ) -> tuple[trace.Tracer, otel_context.Context | None]:
        settings = current_settings(context)
        if settings is None:
            return self._fallback, context
        provider = settings.tracer_provider
        tracer = provider.get_tracer("dbt.runner", self._version) if provider is not None else self._fallback
        if settings.node_span_ids and links is not None and name.split(".", 1)[0] in NODE_RESOURCE_TYPES:
            context = settings.node_context(name, context if context is not None else otel_context.get_current())
        return tracer, context

    def start_span(
        self, name: str, context: otel_context.Context | None = None, *args: Any, **kwargs: Any
    ) -> trace.Span:
        """Start a span with the tracer and parent the context's settings choose."""
        tracer, context = self._route(name, context, kwargs.get("links"))
        return tracer.start_span(name, context, *args, **kwargs)

    def start_as_current_span(
        self, name: str, context: otel_context.Context | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        """Start a span as the current span, with the tracer and parent the context's settings choose."""
        tracer, context = self._route(name, context, kwargs.get("links"))
        return tracer.start_as_current_span(name, context, *args, **kwargs)
