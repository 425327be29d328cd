"""Shared by the floe-definitions suites: the demo's OTLP/JSON trace-file reader, importable as ``otlp_spans``.

Local HTTP endpoints, the refused URL and the OpenLineage conformance helper are floe-test-support's fixtures.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

OTLP_SPANS = Path(__file__).resolve().parents[3] / "demo" / "otlp_spans.py"


def _load_by_path(name: str, path: Path) -> ModuleType:
    """Import a helper module of another folder by file, once, under ``name`` (no test folder is a package)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


# The OTLP/JSON trace-file reader (the demo's; it needs the standard library and floe-dbt-observe): test modules
# ``from otlp_spans import read_spans`` to read back what floe's file exporter wrote.
_load_by_path("otlp_spans", OTLP_SPANS)
