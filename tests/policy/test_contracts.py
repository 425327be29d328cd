"""The contracts between floe's libraries: a sibling imports another only through its ``__all__`` or its one
integration module, and so do the workspace's demo and bench.

Every ``from floe_x... import`` in a package's ``src`` (of another floe package), in ``demo/`` and in ``bench/``
(tests excluded: a test may reach into what it tests) names either ``floe_x`` with names of ``floe_x.__all__``,
or ``floe_x.integration`` with names of its ``__all__``. An integration module says in its docstring that it is a
contract, is imported by none of its own package's modules, repeats nothing of the package's ``__all__`` and
lists only names that someone imports.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "floe_config": ROOT / "packages" / "floe-config" / "src" / "floe_config",
    "floe_loaders": ROOT / "packages" / "floe-loaders" / "src" / "floe_loaders",
    "floe_dbt_observe": ROOT / "packages" / "floe-dbt-observe" / "src" / "floe_dbt_observe",
    "floe_definitions": ROOT / "packages" / "floe-definitions" / "src" / "floe_definitions",
}
INTEGRATION = "integration"
# Where floe is used from outside a package, and the package each place belongs to (None: a user of all of them).
AREAS: list[tuple[Path, str | None]] = [*((source, package) for package, source in PACKAGES.items())]
AREAS += [(ROOT / "demo", None), (ROOT / "bench", None)]


@dataclass(frozen=True)
class FloeImport:
    """One imported name of a floe package, where it is imported."""

    where: str
    module: str
    name: str


def _sources(base: Path) -> Iterator[Path]:
    for path in sorted(base.rglob("*.py")):
        if "tests" not in path.relative_to(base).parts:
            yield path


def _floe_imports(path: Path, own: str | None) -> Iterator[FloeImport]:
    """Every name ``path`` imports from a floe package other than ``own``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in PACKAGES and node.module.split(".")[0] != own:
                for alias in node.names:
                    yield FloeImport(where, node.module, alias.name)
        elif isinstance(node, ast.Import):  # `import floe_x.y`: any name of y, so not a declared one
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top in PACKAGES and top != own and alias.name != top:
                    yield FloeImport(where, alias.name, "*")


def _all_imports() -> list[FloeImport]:
    return [found for base, own in AREAS for path in _sources(base) for found in _floe_imports(path, own)]


def _exports(module: str) -> set[str]:
    return set(importlib.import_module(module).__all__)


def test_siblings_demo_and_bench_import_floe_packages_only_through_all_or_the_integration_module() -> None:
    offenders = []
    for found in _all_imports():
        package = found.module.split(".")[0]
        contract = {package, f"{package}.{INTEGRATION}"}
        if found.module not in contract:
            offenders.append(
                f"{found.where}: {found.module} (import from {package} or {package}.{INTEGRATION} instead)"
            )
        elif found.name == "*":
            offenders.append(f"{found.where}: import {found.module} (write from {found.module} import NAME)")
        elif found.name not in _exports(found.module):
            offenders.append(f"{found.where}: {found.module}.{found.name} is not in {found.module}.__all__")
    assert offenders == []


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_an_integration_module_is_a_declared_contract_nobody_in_its_own_package_imports(package: str) -> None:
    path = PACKAGES[package] / f"{INTEGRATION}.py"
    if not path.exists():
        pytest.skip(f"{package} has no integration module")
    module = importlib.import_module(f"{package}.{INTEGRATION}")
    assert "contract" in (module.__doc__ or "")
    assert not set(module.__all__) & _exports(package)  # a user's name belongs in the package's __all__ only
    assert all(getattr(module, name) is not None for name in module.__all__)
    own_users = [
        found.where
        for source in _sources(PACKAGES[package])
        for found in _floe_imports(source, own=None)
        if found.module == f"{package}.{INTEGRATION}"
    ]
    assert own_users == []


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_an_integration_module_lists_only_names_someone_imports(package: str) -> None:
    if not (PACKAGES[package] / f"{INTEGRATION}.py").exists():
        pytest.skip(f"{package} has no integration module")
    module = f"{package}.{INTEGRATION}"
    imported = {found.name for found in _all_imports() if found.module == module}
    assert _exports(module) - imported == set()
