"""floe-dbt-observe's own module graph: no import cycles, and no OpenTelemetry SDK (the API only)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import floe_dbt_observe

SOURCE = Path(floe_dbt_observe.__file__).parent


def _imports() -> dict[str, set[str]]:
    """Module -> the package's modules it imports (at any level: top, function or TYPE_CHECKING)."""
    graph: dict[str, set[str]] = {}
    for path in SOURCE.glob("*.py"):
        name = path.stem
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("floe_dbt_observe."):
                found.add(node.module.split(".")[1])
        graph[name] = found - {name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt == path[0]:
                cycles.append([*path, nxt])
            elif nxt not in path and nxt > path[0]:
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    return cycles


def test_no_module_imports_the_opentelemetry_sdk() -> None:
    # span export wrappers, delivery accounting and provider flushing belong to the application (floe-definitions)
    offenders = [
        f"{path.name}:{node.lineno}"
        for path in sorted(SOURCE.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("opentelemetry.sdk"))
        or (isinstance(node, ast.Import) and any(alias.name.startswith("opentelemetry.sdk") for alias in node.names))
    ]
    assert offenders == []


def test_the_package_has_no_import_cycle_between_its_modules() -> None:
    assert _cycles(_imports()) == []


def test_importing_the_package_loads_no_opentelemetry_sdk() -> None:
    code = "import sys, floe_dbt_observe; print(sorted(m for m in sys.modules if m.startswith('opentelemetry.sdk')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
