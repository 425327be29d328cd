"""``dbt_trace``: where dbt's tracer sends spans, node span ids, the launcher's settings file and the two probes."""

from __future__ import annotations

import hashlib
import logging
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from floe_dbt_observe import _compat
from floe_dbt_observe.dbt_launcher import run
from floe_dbt_observe.dbt_trace import (
    LAUNCH_FILE,
    ContextTracer,
    DbtTraceSettings,
    query_comment_template,
    read_launch_file,
    write_launch_file,
)

SETTINGS = DbtTraceSettings(trace_id=0xABC, step_span_id=0x123, spans=True, query_comment=True, node_span_ids=True)


def _provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


@pytest.fixture
def _fresh_warnings() -> Iterator[None]:
    _compat.warn_unavailable.cache_clear()
    yield
    _compat.warn_unavailable.cache_clear()


def test_outside_a_floe_invocation_dbts_tracer_is_its_own() -> None:
    own, own_spans = _provider()
    tracer = ContextTracer(own.get_tracer("dbt.runner"))
    with tracer.start_as_current_span("dbt.invocation"):
        pass
    assert [span.name for span in own_spans.get_finished_spans()] == ["dbt.invocation"]


def test_inside_a_floe_invocation_dbts_spans_go_to_the_steps_provider_under_the_step_span() -> None:
    own, own_spans = _provider()
    floe, floe_spans = _provider()
    tracer = ContextTracer(own.get_tracer("dbt.runner"))
    settings = replace(SETTINGS, tracer_provider=floe)
    token = otel_context.attach(settings.step_context())
    try:
        with tracer.start_as_current_span("dbt.invocation"):
            pass
    finally:
        otel_context.detach(token)
    (span,) = floe_spans.get_finished_spans()
    assert not own_spans.get_finished_spans()
    assert span.parent is not None
    assert (span.context.trace_id, span.parent.span_id) == (0xABC, 0x123)


def test_a_dbt_node_span_is_parented_on_floes_span_of_that_node() -> None:
    floe, floe_spans = _provider()
    tracer = ContextTracer(trace.NoOpTracer())
    settings = replace(SETTINGS, tracer_provider=floe)
    parent = settings.step_context()
    with tracer.start_as_current_span("model.shop.orders", context=parent, links=[]):
        pass
    (span,) = floe_spans.get_finished_spans()
    assert span.parent is not None
    assert span.parent.span_id == settings.node_span_id("model.shop.orders")


def test_the_node_span_id_is_the_md5_the_query_comment_computes() -> None:
    seed = f"{0xABC:032x}-{0x123:016x}"
    expected = int(hashlib.md5(f"{seed}:model.shop.orders".encode()).hexdigest()[:16], 16)
    assert SETTINGS.node_span_id("model.shop.orders") == expected
    assert f"local_md5('{seed}:' ~ node.unique_id)[:16]" in query_comment_template(SETTINGS)


def test_the_launcher_reads_its_settings_once_and_deletes_them(tmp_path: Path) -> None:
    write_launch_file(tmp_path, SETTINGS, {"factory": "no.such:factory"})
    assert read_launch_file(tmp_path) == (SETTINGS.without_provider(), {"factory": "no.such:factory"})
    assert (tmp_path / LAUNCH_FILE).stat().st_mode & 0o777 == 0o600
    assert run(["--version"], str(tmp_path)) == 0
    assert not (tmp_path / LAUNCH_FILE).exists()


@pytest.mark.usefixtures("_fresh_warnings")
@pytest.mark.parametrize(
    ("capability", "install"),
    [
        (_compat.DBT_SPANS, _compat.install_dbt_span_hooks),
        (_compat.DBT_QUERY_COMMENT, _compat.install_query_comment_hook),
    ],
)
def test_a_disabled_dbt_trace_probe_installs_nothing_and_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capability: _compat.Capability, install: object
) -> None:
    monkeypatch.setenv(_compat.DISABLE_ENV, capability.name)
    assert callable(install)
    assert install() is False
    assert install() is False
    warned = [r for r in caplog.records if r.levelno == logging.WARNING and capability.name in r.getMessage()]
    assert len(warned) == 1


def test_the_launcher_loads_neither_dagster_nor_dagster_dbt() -> None:
    # it starts every traced dbt subprocess: Dagster's import alone costs seconds
    code = (
        "import sys, floe_dbt_observe.dbt_launcher; print([m for m in ('dagster', 'dagster_dbt') if m in sys.modules])"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert found.strip() == "[]"
