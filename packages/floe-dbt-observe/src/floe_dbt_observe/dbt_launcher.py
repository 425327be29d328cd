"""``floe-dbt``: dbt-core's command line with a floe step's trace settings, the executable of a traced dbt subprocess.

A dbt step whose spans or query comments need dbt's cooperation writes its ``DbtTraceSettings`` into the
invocation's target path (``dbt_trace.LAUNCH_FILE`` in ``DBT_TARGET_PATH``, which dagster-dbt sets) and runs this
command instead of ``dbt``; without that file it is exactly ``dbt``. With it, the command installs the
``dbt_spans`` / ``dbt_query_comment`` hooks, runs dbt's CLI in the step's trace context (parent: the step span,
sent as W3C ``traceparent`` in the file), and with dbt's spans on exports them through an SDK tracer provider of
this process (never registered globally) built by the application's factory:
``{"factory": "module:function", "kwargs": {...}, "flush_timeout_seconds": 5}``; the factory returns an
OpenTelemetry SDK ``TracerProvider`` with its exporter. dbt's spans are flushed (bounded) before the command exits
with dbt's exit code.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from opentelemetry import context as otel_context

LAUNCHER_NAME = "floe-dbt"
"""The console script (installed with floe-dbt-observe beside ``dbt``)."""
DEFAULT_FLUSH_SECONDS = 5.0


def _warn(message: str) -> None:
    # stdout carries dbt's JSON log lines, which dagster-dbt parses: floe's own words go to stderr
    print(f"floe-dbt: {message}", file=sys.stderr)


def build_span_provider(span_export: Mapping[str, Any] | None) -> Any | None:
    """Return the tracer provider ``span_export``'s factory builds, None when it cannot be built.

    The application's factory builds the SDK provider and its exporter (floe-dbt-observe uses the OpenTelemetry API
    only); this process never registers it globally.
    """
    if not span_export or not span_export.get("factory"):
        _warn("dbt's spans are not exported: the application named no span exporter")
        return None
    try:
        module_name, _, function_name = str(span_export["factory"]).partition(":")
        factory = getattr(importlib.import_module(module_name), function_name)
        return factory(**dict(span_export.get("kwargs") or {}))
    except Exception as exc:  # observability never stops dbt
        _warn(f"dbt's spans are not exported: cannot build the exporter {span_export.get('factory')!r}: {exc}")
        return None


def run(args: Sequence[str], target_path: str | None) -> int:
    """Run dbt's CLI with ``args`` under the trace settings found in ``target_path``; return dbt's exit code."""
    from dbt.cli.main import cli

    from floe_dbt_observe import _compat
    from floe_dbt_observe.dbt_trace import LAUNCH_FILE, read_launch_file

    launch = read_launch_file(Path(target_path)) if target_path else None
    if launch is None:
        return _exit_code(cli, args)
    settings, span_export = launch
    (Path(str(target_path)) / LAUNCH_FILE).unlink(missing_ok=True)  # read once: an exporter's headers leave the disk
    provider = None
    if settings.spans:
        provider = build_span_provider(span_export)
        settings = replace(settings, tracer_provider=provider)
        _compat.install_dbt_span_hooks()
    if settings.query_comment:
        _compat.install_query_comment_hook()
    token = otel_context.attach(settings.step_context())
    try:
        return _exit_code(cli, args)
    finally:
        otel_context.detach(token)
        if provider is not None:
            timeout = float((span_export or {}).get("flush_timeout_seconds") or DEFAULT_FLUSH_SECONDS)
            flush = getattr(provider, "force_flush", None)
            if callable(flush) and not flush(timeout_millis=int(timeout * 1000)):
                _warn(f"dbt's spans were not all exported within {timeout:g} s")


def _exit_code(cli: Any, args: Sequence[str]) -> int:
    try:
        cli.main(args=list(args), prog_name="dbt")
    except SystemExit as done:
        code = done.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def main() -> None:
    """Console-script entry point: ``floe-dbt <dbt arguments>``."""
    sys.exit(run(sys.argv[1:], os.environ.get("DBT_TARGET_PATH")))


def launcher_beside(dbt_executable: str) -> str | None:
    """Return the ``floe-dbt`` beside ``dbt_executable`` when that is this environment's dbt-core, else None.

    Only the dbt-core installed with floe-dbt-observe can be wrapped: a dbt elsewhere (another venv, dbt Fusion)
    runs as it is.
    """
    executable = Path(dbt_executable)
    here = Path(sys.executable).parent
    if executable.parent != here or executable.stem != "dbt":
        return None
    launcher = here / (LAUNCHER_NAME + executable.suffix)
    return str(launcher) if launcher.is_file() else None
