"""Turn dbt's raw structured-log events into one span and one lineage run per executed node.

A node's life at dbt's default log level is ``LogStartLine`` then a ``Log*Result`` event; nodes
skipped after an upstream failure only get ``SkippingDetails``; the error message of a failed
node arrives later in ``RunResultError``. Failed nodes therefore stay pending until their message
(or the end of the stream) arrives, then close with dbt's own finish timestamp.

dbt Fusion sends the same names with three differences: a failed node's message comes before its result, as an
error-level ``Generic`` event carrying the node's ``node_info`` (``[error] [DbDriverFailed (dbt1308)]: Database
Error in model ...`` and a backtrace); a skipped node that had started gets its ``Log*Result`` with status
``skipped``; one that had not gets only ``MarkSkippedChildren`` (its unique id in ``data``, no ``node_info``).
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from openlineage.client.event_v2 import RunState
from openlineage.client.uuid import generate_new_uuid
from opentelemetry.context import Context
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from floe_dbt_observe.lineage_context import LineageContext, NodeOutcome
from floe_dbt_observe.lineage_emitter import LineageEmitter
from floe_dbt_observe.lineage_events import node_start_event, node_terminal_event
from floe_dbt_observe.link_metadata import NodeLink
from floe_dbt_observe.manifest import manifest_adapter_type
from floe_dbt_observe.tracing import dbt_time_ns, format_span_id, format_trace_id, ns_to_iso

RESULT_EVENTS = frozenset(
    {"LogModelResult", "LogSeedResult", "LogSnapshotResult", "LogTestResult", "LogNodeNoOpResult", "LogFreshnessResult"}
)
MESSAGE_EVENTS = frozenset({"RunResultError", "RunResultFailure", "RunResultWarning", "RunResultWarningMessage"})
SUCCESS_STATUSES = frozenset({"success", "pass", "warn", "no-op", "noop", "reused", "ok"})
ERROR_STATUSES = frozenset({"error", "fail", "runtime error"})
LINEAGE_RESOURCE_TYPES = frozenset({"model", "seed", "snapshot", "test"})
_ROWS = re.compile(r"(\d+)\s*$")
_DBT_ERROR_CLASS = re.compile(r"^\s*((?:[A-Z][a-z]+ )*?[A-Z][a-z]+ Error) in ")
_FUSION_PREFIX = re.compile(r"^\s*\[(?:error|warn|warning)\]\s*(?:\[[A-Za-z]+ \(dbt\d+\)\]:\s*)?")
_BACKTRACE_LINE = re.compile(r"^\s*(?:\d+: .*|at \S+:\d+(?::\d+)?)$")
DB_SYSTEM_NAMES: Mapping[str, str] = {
    "postgres": "postgresql",
    "redshift": "aws.redshift",
    "bigquery": "gcp.bigquery",
    "sqlserver": "microsoft.sql_server",
    "fabric": "microsoft.sql_server",
    "synapse": "microsoft.sql_server",
    "databricks": "databricks",
    "spark": "spark",
}
"""dbt adapter type -> OpenTelemetry ``db.system.name`` where they differ (others keep the adapter's name)."""


def fusion_message(text: str) -> str:
    """Return a dbt Fusion error text as dbt-core words it: no ``[error] [Code (dbtNNNN)]:`` prefix, no backtrace."""
    lines = [line for line in text.splitlines() if not _BACKTRACE_LINE.match(line)]
    return _FUSION_PREFIX.sub("", "\n".join(lines)).strip()


def error_type(status: str, message: str) -> str:
    """Return a low-cardinality ``error.type`` for a failed dbt node.

    dbt's message names the error's class (``Database Error in model ...``, ``Compilation Error in ...``);
    ``DatabaseError`` is then the type. A failing test (no such prefix) is ``dbt.test.fail``; anything else
    ``dbt.<status>``.
    """
    match = _DBT_ERROR_CLASS.match(_FUSION_PREFIX.sub("", message))
    if match:
        return match.group(1).replace(" ", "")
    return "dbt.test.fail" if status == "fail" else f"dbt.{status.replace(' ', '_') or 'error'}"


def db_attributes(adapter_type: str, node_relation: Mapping[str, Any] | None) -> dict[str, str]:
    """Return OpenTelemetry ``db.*`` attributes of a node's relation (empty when the relation is unknown).

    ``db.namespace`` joins database and schema with ``|``, from the most general to the most specific,
    as the conventions ask for systems with several namespace levels.
    """
    if not node_relation:
        return {}
    attributes: dict[str, str] = {}
    if adapter_type:
        attributes["db.system.name"] = DB_SYSTEM_NAMES.get(adapter_type, adapter_type)
    namespace = "|".join(str(part) for part in (node_relation.get("database"), node_relation.get("schema")) if part)
    if namespace:
        attributes["db.namespace"] = namespace
    collection = node_relation.get("alias") or node_relation.get("identifier")
    if collection:
        attributes["db.collection.name"] = str(collection)
    return attributes


@dataclass
class _OpenNode:
    unique_id: str
    span: Span
    run_id: str | None
    resource_type: str
    emits_lineage: bool
    end_ns: int | None = None
    outcome_status: str | None = None
    result_data: Mapping[str, Any] | None = None
    thread: str | None = None
    invocation_id: str | None = None


def _status(node_info: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    """Return a result event's node status, lower case (``node_info.node_status``, else ``data.status``)."""
    status = str(node_info.get("node_status") or "")
    if status in ("", "None"):
        status = str(data.get("status") or "")
    return status.lower()


def _status_message(node: _OpenNode) -> str:
    """Return the message of a failed node dbt sent none for (dbt Fusion's failing tests)."""
    failures = (node.result_data or {}).get("num_failures")
    if node.outcome_status == "fail" and isinstance(failures, int):
        return f"Got {failures} result{'s' if failures != 1 else ''}, dbt reported status 'fail'"
    return f"dbt reported status '{node.outcome_status}'"


def _rows_affected(data: Mapping[str, Any]) -> tuple[str | None, int | None]:
    message = data.get("result_message")
    if message is None:
        adapter = data.get("adapter_response")
        if isinstance(adapter, Mapping):
            rows = adapter.get("rows_affected")
            return (str(adapter.get("_message")) if adapter.get("_message") else None), (
                int(rows) if isinstance(rows, int) else None
            )
        status = data.get("status")
        return (str(status) if status else None), None
    match = _ROWS.search(str(message))
    return str(message), (int(match.group(1)) if match else None)


class NodeObserver:
    """Per-node spans and lineage runs for one dbt invocation (``per_model``).

    Args:
        tracer: Tracer for node spans.
        parent: Context holding the step span, parent of every node span.
        emitter: Lineage emitter, or None when lineage is off.
        lineage: Lineage context shared by the invocation's events, or None when lineage is off.
        asset_keys: dbt unique id -> asset key string, for span attributes.
        dagster_run_id: The Dagster run id.
        manifest: The dbt manifest: the adapter type for ``db.system.name`` and, for a test, the asset it
            checks (``dagster.asset_key``; its name is ``dagster.check_name``).
        pin_span_id: ``unique id -> context manager`` in which a node's span is started, giving it the id dbt's
            query comments name (``dbt_trace``); None for the provider's own ids.
        span_attributes: Attributes every node span carries (the dbt engine's name and version).
        node_run_id: ``unique id -> OpenLineage run id`` of a node's lineage run (``StepAttempt.node_run_id``: the
            run worker can derive it too); None for random ids.
    """

    def __init__(
        self,
        tracer: Tracer,
        parent: Context,
        emitter: LineageEmitter | None,
        lineage: LineageContext | None,
        asset_keys: Mapping[str, str],
        dagster_run_id: str,
        manifest: Mapping[str, Any] | None = None,
        pin_span_id: Callable[[str], AbstractContextManager[None]] | None = None,
        span_attributes: Mapping[str, str] | None = None,
        node_run_id: Callable[[str], str] | None = None,
    ) -> None:
        self._tracer = tracer
        self._parent = parent
        self._emitter = emitter
        self._lineage = lineage
        self._asset_keys = asset_keys
        self._run_id = dagster_run_id
        self._manifest: Mapping[str, Any] = manifest or {}
        self._adapter_type = manifest_adapter_type(self._manifest)
        self._pin_span_id = pin_span_id
        self._span_attributes: Mapping[str, str] = span_attributes or {}
        self._node_run_id = node_run_id or (lambda _unique_id: str(generate_new_uuid()))
        self._open: dict[str, _OpenNode] = {}
        self._pending_errors: dict[str, _OpenNode] = {}
        self._messages: dict[str, str] = {}
        self.links: dict[str, NodeLink] = {}
        self.statuses: dict[str, str] = {}

    def on_event(self, raw_event: Mapping[str, Any]) -> NodeLink | None:
        """Update spans and lineage for one raw dbt event; return the node's link if it has one."""
        data = raw_event.get("data") or {}
        node_info = data.get("node_info")
        if not node_info:
            if (raw_event.get("info") or {}).get("name") == "MarkSkippedChildren":
                self._fusion_skipped(data, raw_event.get("info") or {})
            return None
        unique_id = node_info.get("unique_id")
        if not unique_id:
            return None
        info = raw_event.get("info") or {}
        name = info.get("name")
        if name == "LogStartLine":
            self._start(unique_id, node_info, info)
        elif name in RESULT_EVENTS and _status(node_info, data) == "skipped":
            self._skip(unique_id, node_info, info)  # dbt Fusion: a started node skipped after an upstream failure
        elif name in RESULT_EVENTS:
            self._finish(unique_id, node_info, data, info)
        elif name == "SkippingDetails":
            self._skip(unique_id, node_info, info)
        elif name in MESSAGE_EVENTS:
            message = data.get("msg") or info.get("msg")
            if message and name == "RunResultError":
                self._messages[unique_id] = str(message).strip()
                pending = self._pending_errors.pop(unique_id, None)
                if pending is not None:
                    self._close_error(pending, str(message).strip())
        elif name == "Generic" and info.get("level") == "error" and info.get("msg"):
            # dbt Fusion: a node's error, before its result event
            self._messages.setdefault(unique_id, fusion_message(str(info["msg"])))
        return self.links.get(unique_id)

    def _fusion_skipped(self, data: Mapping[str, Any], info: Mapping[str, Any]) -> None:
        """Close a node dbt Fusion skipped before starting it (``MarkSkippedChildren`` names it, nothing else)."""
        unique_id = data.get("unique_id")
        if not unique_id or str(data.get("status") or "") != "skipped":
            return
        unique_id = str(unique_id)
        if unique_id in self.statuses or unique_id in self._open:
            return
        self._skip(unique_id, self._manifest_node_info(unique_id), info)

    def _manifest_node_info(self, unique_id: str) -> dict[str, Any]:
        """Return the ``node_info`` dbt would have sent for a node, from the manifest."""
        node = self._manifest.get("nodes", {}).get(unique_id) or {}
        relation = {
            key: node.get(key) for key in ("database", "schema", "alias", "relation_name") if node.get(key) is not None
        }
        return {
            "unique_id": unique_id,
            "node_name": node.get("name") or unique_id.split(".")[-1],
            "resource_type": node.get("resource_type") or unique_id.split(".", 1)[0],
            "materialized": (node.get("config") or {}).get("materialized") or "",
            "node_relation": relation,
        }

    def _start(self, unique_id: str, node_info: Mapping[str, Any], info: Mapping[str, Any]) -> _OpenNode:
        existing = self._open.get(unique_id)
        if existing is not None:
            return existing
        start_ns = dbt_time_ns(node_info.get("node_started_at")) or dbt_time_ns(info.get("ts")) or time.time_ns()
        resource_type = str(node_info.get("resource_type") or unique_id.split(".", 1)[0])
        emits_lineage = self._emitter is not None and resource_type in LINEAGE_RESOURCE_TYPES
        run_id = self._node_run_id(unique_id) if emits_lineage else None
        relation = (node_info.get("node_relation") or {}).get("relation_name")
        attributes: dict[str, str] = {
            **self._span_attributes,
            "dbt.node.unique_id": unique_id,
            "dbt.node.name": str(node_info.get("node_name") or ""),
            "dbt.node.resource_type": resource_type,
            "dbt.node.materialization": str(node_info.get("materialized") or ""),
            "dagster.run_id": self._run_id,
        }
        if relation:
            attributes["dbt.node.relation"] = str(relation)
        if info.get("invocation_id"):
            attributes["dbt.invocation_id"] = str(info["invocation_id"])
        if unique_id in self._asset_keys:
            attributes["dagster.asset_key"] = self._asset_keys[unique_id]
        elif resource_type == "test":
            attributes.update(self._check_attributes(unique_id, node_info))
        if resource_type != "test":
            attributes.update(db_attributes(self._adapter_type, node_info.get("node_relation")))
        if run_id is not None and self._lineage is not None:
            attributes["openlineage.run_id"] = run_id
            attributes["openlineage.job.namespace"] = self._lineage.job_namespace
            attributes["openlineage.job.name"] = self._lineage.job_name(unique_id)
        with self._pin_span_id(unique_id) if self._pin_span_id is not None else contextlib.nullcontext():
            span = self._tracer.start_span(
                f"dbt.{resource_type} {node_info.get('node_name') or unique_id}",
                context=self._parent,
                start_time=start_ns,
                attributes=attributes,
            )
        node = _OpenNode(unique_id, span, run_id, resource_type, emits_lineage)
        self._open[unique_id] = node
        span_context = span.get_span_context()
        self.links[unique_id] = NodeLink(
            trace_id=format_trace_id(span_context.trace_id),
            span_id=format_span_id(span_context.span_id),
            openlineage_run_id=run_id,
            openlineage_job=(
                f"{self._lineage.job_namespace}/{self._lineage.job_name(unique_id)}"
                if run_id is not None and self._lineage is not None
                else None
            ),
        )
        if run_id is not None and self._emitter is not None and self._lineage is not None:
            lineage, event_time = self._lineage, ns_to_iso(start_ns)
            invocation_id = str(info["invocation_id"]) if info.get("invocation_id") else None
            self._emitter.submit(lambda: node_start_event(lineage, unique_id, run_id, event_time, invocation_id))
        return node

    def unreported(self) -> list[tuple[str, str]]:
        """Return ``(unique id, status)`` of the nodes dagster-dbt records nothing for.

        Those are failed or skipped models, seeds and snapshots, and skipped tests (a test that ran has its
        check evaluation).
        """
        found = []
        for unique_id, status in self.statuses.items():
            is_test = unique_id.split(".", 1)[0] == "test"
            if status == "skipped" or (not is_test and status in ERROR_STATUSES):
                found.append((unique_id, status))
        return found

    def record_target(self, unique_id: str) -> tuple[str, str | None] | None:
        """Return ``(asset key, check name or None)`` a node's Dagster record belongs to, if it has an asset."""
        if unique_id in self._asset_keys:
            return self._asset_keys[unique_id], None
        checked = self._check_attributes(unique_id, {})
        if not checked:
            return None
        return checked["dagster.asset_key"], checked["dagster.check_name"]

    def message(self, unique_id: str) -> str | None:
        """Return dbt's error message for a node, if it sent one."""
        return self._messages.get(unique_id)

    def _check_attributes(self, unique_id: str, node_info: Mapping[str, Any]) -> dict[str, str]:
        """Return the asset key a test checks and its check name (dagster-dbt names a check after its test)."""
        node = self._manifest.get("nodes", {}).get(unique_id) or {}
        target = node.get("attached_node")
        if not target:
            parents = [p for p in (node.get("depends_on") or {}).get("nodes", []) if p in self._asset_keys]
            target = parents[-1] if parents else None
        if not target or target not in self._asset_keys:
            return {}
        return {
            "dagster.asset_key": self._asset_keys[target],
            "dagster.check_name": str(node.get("name") or node_info.get("node_name") or unique_id.split(".")[-1]),
        }

    def _finish(
        self, unique_id: str, node_info: Mapping[str, Any], data: Mapping[str, Any], info: Mapping[str, Any]
    ) -> None:
        node = self._open.pop(unique_id, None) or self._start(unique_id, node_info, info)
        self._open.pop(unique_id, None)
        status = _status(node_info, data)
        node.outcome_status = status
        node.result_data = data
        node.thread = info.get("thread")
        node.invocation_id = info.get("invocation_id")
        node.end_ns = dbt_time_ns(node_info.get("node_finished_at")) or dbt_time_ns(info.get("ts")) or time.time_ns()
        self.statuses[unique_id] = status
        adapter_response, rows = _rows_affected(data)
        span = node.span
        span.set_attribute("dbt.node.status", status)
        if data.get("execution_time") is not None:
            span.set_attribute("dbt.node.execution_time_s", float(data["execution_time"]))
        if adapter_response:
            span.set_attribute("dbt.node.adapter_response", adapter_response)
        if rows is not None:
            span.set_attribute("dbt.node.rows_affected", rows)
        if data.get("num_failures") is not None:
            span.set_attribute("dbt.test.failures", int(data["num_failures"]))
        if node.thread:
            span.set_attribute("dbt.node.thread", str(node.thread))
        if status in ERROR_STATUSES:
            message = self._messages.get(unique_id)
            if message is not None:
                self._close_error(node, message)
            else:
                self._pending_errors[unique_id] = node
            return
        # success leaves the status UNSET, as OpenTelemetry's conventions ask of instrumentation
        span.end(end_time=node.end_ns)
        self._emit_terminal(node, RunState.COMPLETE, None)

    def _skip(self, unique_id: str, node_info: Mapping[str, Any], info: Mapping[str, Any]) -> None:
        if unique_id in self.statuses and unique_id not in self._open:
            return  # already ended (dbt Fusion can name a skipped node twice): one span per node
        node = self._open.pop(unique_id, None) or self._start(unique_id, node_info, info)
        self._open.pop(unique_id, None)
        node.outcome_status = "skipped"
        node.thread = info.get("thread")
        node.invocation_id = info.get("invocation_id")
        node.end_ns = dbt_time_ns(info.get("ts")) or time.time_ns()
        self.statuses[unique_id] = "skipped"
        node.span.set_attribute("dbt.node.status", "skipped")
        # UNSET, not ERROR: a skipped node did not fail, it was never run
        node.span.end(end_time=node.end_ns)
        self._emit_terminal(node, RunState.ABORT, "skipped by dbt because an upstream node failed")

    def _close_error(self, node: _OpenNode, message: str) -> None:
        kind = error_type(node.outcome_status or "", message)
        node.span.set_status(Status(StatusCode.ERROR, message))
        node.span.set_attribute("dbt.node.message", message)
        node.span.set_attribute("error.type", kind)
        node.span.add_event("exception", {"exception.type": kind, "exception.message": message})
        node.span.end(end_time=node.end_ns)
        self._emit_terminal(node, RunState.FAIL, message)

    def _emit_terminal(self, node: _OpenNode, state: RunState, message: str | None) -> None:
        if node.run_id is None or self._emitter is None or self._lineage is None:
            return
        data = node.result_data or {}
        adapter_response, rows = _rows_affected(data) if data else (None, None)
        link = self.links.get(node.unique_id)
        outcome = NodeOutcome(
            state=state,
            status=node.outcome_status or "unknown",
            event_time=ns_to_iso(node.end_ns or time.time_ns()),
            message=message,
            execution_time=float(data["execution_time"]) if data.get("execution_time") is not None else None,
            adapter_response=adapter_response,
            rows_affected=rows,
            thread=str(node.thread) if node.thread else None,
            invocation_id=str(node.invocation_id) if node.invocation_id else None,
            trace_id=link.trace_id if link else None,
            span_id=link.span_id if link else None,
        )
        lineage, unique_id, run_id = self._lineage, node.unique_id, node.run_id
        if state == RunState.COMPLETE and lineage.holds(unique_id):
            # the warehouse's columns are read once dbt has exited (DuckDB's lock): the event waits until then
            lineage.hold(unique_id, lambda: node_terminal_event(lineage, unique_id, run_id, outcome))
            return
        self._emitter.submit(lambda: node_terminal_event(lineage, unique_id, run_id, outcome))

    def close(self, error: BaseException | None) -> None:
        """Close everything still open: failed nodes with their message, running nodes as aborted."""
        for unique_id, node in list(self._pending_errors.items()):
            message = self._messages.get(unique_id) or _status_message(node)
            self._close_error(node, message)
        self._pending_errors.clear()
        now = time.time_ns()
        reason = f"dbt run interrupted: {type(error).__name__}: {error}" if error else "dbt ended without a result"
        for node in list(self._open.values()):
            node.end_ns = now
            node.outcome_status = "cancelled"
            self.statuses[node.unique_id] = "cancelled"
            node.span.set_attribute("dbt.node.status", "cancelled")
            node.span.set_status(Status(StatusCode.ERROR, reason))
            kind = type(error).__qualname__ if error is not None else "dbt.cancelled"
            node.span.set_attribute("error.type", kind)
            node.span.add_event("exception", {"exception.type": kind, "exception.message": reason})
            node.span.end(end_time=now)
            self._emit_terminal(node, RunState.ABORT, reason)
        self._open.clear()
        if self._lineage is not None and self._emitter is not None:
            for factory in self._lineage.release():
                self._emitter.submit(factory)
