"""Run a step's dbt command inside the step's process with dbt's programmatic ``dbtRunner`` (``dbt_invocation``).

dagster-dbt starts ``dbt`` as a subprocess and reads its JSON log lines. Here dbt runs in a thread of the step's
process: dbt calls back with each ``EventMsg``, which dbt's own ``msg_to_dict`` turns into exactly the dict of the
JSON log line (the one the subprocess would print at dbt's default log level, secrets scrubbed as dbt scrubs them),
wrapped as dagster-dbt's ``DbtCoreCliEventMessage``. So the step's observer, its spans, lineage runs and Dagster
events see the same stream on both paths; the arguments are the ones ``DbtCliResource.cli`` would pass (subsetting,
partitions' ``--vars``, the invocation's own target path), built by dagster-dbt's helpers.

What an in-process dbt changes, and how this module keeps the subprocess's behaviour:

- **Cancellation.** Dagster interrupts the step's main thread (``DagsterExecutionInterruptedError``, or the step's
  generator is closed). There is no dbt process to signal, so dbt's own Ctrl-C path is taken in its thread: a
  ``KeyboardInterrupt`` raised there (dbt then cancels its queries, stops its thread pool and writes its run results)
  while the adapter's ``cancel_open_connections`` stops the query running now; the step waits up to
  ``DAGSTER_DBT_TERMINATION_TIMEOUT_SECONDS`` (25) for dbt to end, as dagster-dbt waits for its subprocess, then
  re-raises, and the observer ends every open span and lineage run as for the subprocess.
- **Process-wide state.** dbt keeps its flags, event manager, invocation context and adapters in module globals and
  resets them at the start of each invocation: invocations in one process run one at a time (a lock), and each
  invocation runs with the project directory as the working directory, where the subprocess would start (relative
  paths in profiles, e.g. a DuckDB file, resolve there). dbt's own adapter management closes the connections at the
  end of each invocation, and what the adapter keeps beyond them (dbt-duckdb's database) is closed as the adapter
  closes it at process exit, so a DuckDB file is not left locked by the step's process.
"""

from __future__ import annotations

import contextlib
import copy
import os
import queue
import shutil
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from dagster import get_dagster_logger
from dagster_dbt import DagsterDbtCliRuntimeError, DbtCliResource
from opentelemetry import context as otel_context

from floe_dbt_observe import _compat
from floe_dbt_observe.dbt_trace import DbtTraceSettings
from floe_dbt_observe.manifest import manifest_adapter_type

logger = get_dagster_logger(__name__)  # a step's Dagster log shows these lines, as dagster-dbt's own

PARTIAL_PARSE_FILE = "partial_parse.msgpack"
TERMINATION_TIMEOUT_SECONDS = float(os.getenv("DAGSTER_DBT_TERMINATION_TIMEOUT_SECONDS", "25"))
"""Longest wait for dbt to stop after an interrupt (dagster-dbt's setting for its subprocess)."""
ENDING_SECONDS = 10.0
"""Longest wait for dbt's thread to end once its events are all read (it is then only leaving ``invoke``)."""
POLL_SECONDS = 0.5
_INVOCATION_LOCK = threading.Lock()
"""dbt's flags, event manager and adapters are process-wide: one in-process dbt invocation at a time."""
_DONE = object()


@dataclass(frozen=True)
class _Outcome:
    """What ``dbtRunner.invoke`` returned, or what escaped it."""

    result: Any | None
    error: BaseException | None = None


def start_in_process(
    resource: DbtCliResource, args: Sequence[str], context: Any, trace_settings: DbtTraceSettings | None = None
) -> InProcessDbtInvocation | None:
    """Prepare ``args`` (``["build", ...]``) to run in this process; None when the ``dbt_in_process`` probe fails.

    Args:
        resource: The step's dbt resource (project, profiles dir, profile, target, global flags).
        args: The dbt command and its flags, as passed to ``DbtCliResource.cli``.
        context: The step's asset execution context (subsetting and the target path come from it).
        trace_settings: The step's trace settings for dbt (its spans, query comments), attached as dbt's
            OpenTelemetry context in dbt's thread; None for none.

    Returns:
        The invocation, started by iterating :meth:`InProcessDbtInvocation.stream_raw_events`.
    """
    if not _compat.dbt_in_process_available():
        return None
    return InProcessDbtInvocation(_compat.dbt_cli_plan(resource, args, context), trace_settings)


def copy_partial_parse(project_dir: Path, target_path: Path) -> None:
    """Give the invocation's target path the project's ``partial_parse.msgpack``, as dagster-dbt does."""
    current = Path(os.getenv("DBT_TARGET_PATH", "target"))
    source = (current if current.is_absolute() else project_dir / current) / PARTIAL_PARSE_FILE
    destination = target_path / PARTIAL_PARSE_FILE
    if source.exists() and not destination.exists():
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, destination)


class InProcessDbtInvocation:
    """One dbt command run by ``dbtRunner`` in a thread of this process.

    It has the parts of dagster-dbt's ``DbtCliInvocation`` a floe step reads: ``manifest``,
    ``dagster_dbt_translator``, ``target_path``, ``project``, ``adapter`` (None: no adapter is handed out) and
    ``stream_raw_events()``.

    Args:
        plan: The command ``DbtCliResource.cli`` would have run.
        trace_settings: The step's trace settings for dbt, or None.
    """

    adapter: None = None

    def __init__(self, plan: _compat.DbtCliPlan, trace_settings: DbtTraceSettings | None = None) -> None:
        self.plan = plan
        self.trace_settings = trace_settings
        self.manifest: Mapping[str, Any] = plan.manifest
        self.dagster_dbt_translator: Any = plan.translator
        self.target_path = plan.target_path
        self.project: Any | None = plan.project
        # the warehouse adapter whose running queries an interrupt cancels
        self.adapter_type = manifest_adapter_type(plan.manifest)
        self._events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._accepting = threading.Event()
        self._error_messages: list[str] = []

    @property
    def dbt_command(self) -> str:
        """The dbt command as a shell would show it."""
        return " ".join(["dbt", *self.plan.args])

    def stream_raw_events(self) -> Iterator[Any]:
        """Run dbt and yield its events as dagster-dbt's ``DbtCoreCliEventMessage``s, as they happen.

        Raises:
            DagsterDbtCliRuntimeError: dbt reported an error or did not succeed (after every event was yielded).
        """
        copy_partial_parse(self.plan.project_dir, self.target_path)
        outcome: list[_Outcome] = []
        thread = threading.Thread(target=self._invoke, args=(outcome,), name="floe-dbt-in-process", daemon=True)
        with _INVOCATION_LOCK, contextlib.chdir(self.plan.project_dir):
            logger.info("Running dbt command in process: `%s`.", self.dbt_command)
            self._accepting.set()
            thread.start()
            try:
                yield from self._stream(thread)
            except BaseException:
                # interrupted (Dagster's termination, the step's generator closed, an error downstream): stop dbt
                # the way Ctrl-C stops it, and wait for it as dagster-dbt waits for its subprocess
                self._accepting.clear()
                self._stop(thread)
                raise
            finally:
                self._accepting.clear()
                # dbt's thread hands over _DONE from its own `finally`, so it can still be alive here for a moment:
                # wait for it, or the adapter stays open and the warehouse read after the step finds DuckDB locked
                thread.join(timeout=ENDING_SECONDS)
                if not thread.is_alive():  # dbt has ended: nothing of it may keep the warehouse open
                    _compat.release_dbt_adapter(self.adapter_type)
        self._raise_on_error(outcome)

    def _callback(self, message: Any) -> None:
        """Dbt's event callback (any of dbt's threads): pass on what its console log shows at the default level."""
        if self._accepting.is_set() and message.info.level != "debug":
            self._events.put(message)

    def _invoke(self, outcome: list[_Outcome]) -> None:
        from dbt.cli.main import dbtRunner

        token = None
        settings = self.trace_settings
        if settings is not None:
            # dbt's thread starts with an empty context: the step span is the parent of dbt's spans, and the
            # settings reach dbt's hooks (its tracer, the query comment) and its worker threads from here
            if settings.spans:
                _compat.install_dbt_span_hooks()
            if settings.query_comment:
                _compat.install_query_comment_hook()
            token = otel_context.attach(settings.step_context())
        try:
            outcome.append(_Outcome(dbtRunner(callbacks=[self._callback]).invoke(list(self.plan.args))))
        except BaseException as exc:  # dbtRunner returns its errors; this is an interrupt landing outside dbt
            outcome.append(_Outcome(None, exc))
        finally:
            if token is not None:
                otel_context.detach(token)
            self._events.put(_DONE)

    def _stream(self, thread: threading.Thread) -> Iterator[Any]:
        secrets = _compat.dbt_env_secrets()  # dbt scrubs the values of DBT_ENV_SECRET_* variables from its log lines
        history: dict[str, dict[str, Any]] = {}
        while True:
            try:
                message = self._events.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if not thread.is_alive() and self._events.empty():
                    return
                continue
            if message is _DONE:
                return
            raw_event = _compat.dbt_event_dict(message)
            if secrets:
                raw_event = orjson.loads(_compat.scrub_dbt_secrets(orjson.dumps(raw_event).decode(), secrets))
            event = self._event(raw_event, history)
            if event is not None:
                yield event

    def _event(self, raw_event: dict[str, Any], history: dict[str, dict[str, Any]]) -> Any | None:
        """Wrap a raw event as dagster-dbt's subprocess reader does (error messages, column-metadata history)."""
        info = raw_event.get("info") or {}
        if info.get("level") == "error":
            self._error_messages.append(str(info.get("msg", "")))
        unique_id = ((raw_event.get("data") or {}).get("node_info") or {}).get("unique_id")
        if info.get("name") == "JinjaLogInfo":  # dagster-dbt's column-metadata macro logs JSON: kept, not shown
            with contextlib.suppress(orjson.JSONDecodeError, TypeError):
                history[str(unique_id)] = orjson.loads(info.get("msg", ""))
                return None
        event = _compat.core_event_message(raw_event, {})
        if unique_id and event.is_result_event and unique_id in history:
            event = _compat.core_event_message(raw_event, copy.deepcopy(history[unique_id]))
        return event

    def _stop(self, thread: threading.Thread) -> None:
        if not thread.is_alive() or thread.ident is None:
            return
        logger.info("Interrupting dbt command in process: `%s`.", self.dbt_command)
        _compat.raise_in_thread(thread.ident, KeyboardInterrupt)
        deadline = time.monotonic() + TERMINATION_TIMEOUT_SECONDS
        while thread.is_alive() and time.monotonic() < deadline:
            # the running query first: dbt's thread only sees the KeyboardInterrupt once it is scheduled again
            _compat.cancel_dbt_queries(self.adapter_type)
            thread.join(timeout=POLL_SECONDS)
        if thread.is_alive():
            logger.warning(
                "floe-dbt-observe: dbt did not stop within %.0f s of the interrupt (`%s`); the step ends without it",
                TERMINATION_TIMEOUT_SECONDS,
                self.dbt_command,
            )

    def _raise_on_error(self, outcome: Sequence[_Outcome]) -> None:
        logger.info("Finished dbt command in process: `%s`.", self.dbt_command)
        done = outcome[0] if outcome else _Outcome(None, RuntimeError("dbt ended without a result"))
        if done.error is not None:
            raise DagsterDbtCliRuntimeError(
                description=f"The dbt command `{self.dbt_command}` (in process) failed: {done.error!r}"
            ) from done.error
        result = done.result
        if result is not None and result.success and not self._error_messages:
            return
        cause = getattr(result, "exception", None)
        log_path = self.target_path / "dbt.log"
        extra = f", or view the dbt debug log: {log_path}" if log_path.exists() else ""
        errors = (
            "\n\n".join(["", "Errors parsed from dbt logs:", *self._error_messages]) if self._error_messages else ""
        )
        raise DagsterDbtCliRuntimeError(
            description=(
                f"The dbt command\n\n`{self.dbt_command}`\n\n(run in process by dbtRunner) failed"
                f"{f': {cause}' if cause is not None else ''}. Check the stdout in the Dagster compute logs for the "
                f"full information about the error{extra}.{errors}"
            )
        )
