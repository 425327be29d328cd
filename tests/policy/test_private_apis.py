"""Third-party private APIs live in one ``_compat.py`` per package; everything else uses public names only.

The guard reads every Python file of the workspace (the packages' ``src``, their tests, ``demo/``, ``bench/``)
and reports, outside the ``_compat`` modules:

- an import of a private module of a third-party package: ``from dagster._core... import``, ``import dagster._core``
  (any dotted part starting with ``_``, in any of :data:`THIRD_PARTY`);
- an import of ``dbt_common`` (dbt's internals, whole) or of ``dbt`` beyond its documented programmatic API
  (``dbt.cli.main``), or of ``pydantic_settings.sources``;
- an import of a ``dagster_dbt`` submodule (``dagster_dbt.asset_utils``...): what dagster-dbt exports is
  imported from ``dagster_dbt`` itself;
- a private attribute read on a third-party name: ``name._attr`` where ``name`` was imported from one of
  :data:`THIRD_PARTY` (``import dagster as dg``; ``from dagster_dbt import DbtCliResource``), or ``sys._getframe``
  and CPython's other private ``sys`` functions;
- a write to an attribute of an object a third-party class made (``source = EnvSettingsSource(cls)``, then
  ``source.env_vars = ...``): setting a library object's state from outside is an internal use too.
- any of those imports in Python source a file holds as a string (a script a test runs with ``python -``): a line
  ``from <module> import ...`` or ``import <module>`` of a string constant is checked as an import.

Tests, the demo and the bench import Dagster's internals through one helper only,
``floe_test_support.dagster_internals``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
THIRD_PARTY = frozenset({"dagster", "dagster_dbt", "dbt", "dbt_common", "pydantic_settings", "openlineage"})
"""Packages whose private names only ``_compat`` modules may use."""
PRIVATE_ATTRIBUTE_ROOTS = THIRD_PARTY | {"sys"}
"""Imported names whose ``_private`` attributes are compat items (``sys._getframe`` is CPython's)."""
DBT_PUBLIC_MODULES = frozenset({"dbt.cli.main"})
"""dbt's documented programmatic API ("Programmatic invocations": dbtRunner, dbtRunnerResult)."""
ALLOWED_FILES = frozenset(
    {
        *(path.relative_to(ROOT) for path in ROOT.glob("packages/*/src/*/_compat.py")),
        Path("packages/floe-test-support/src/floe_test_support/dagster_internals.py"),
        Path("tests/policy/test_private_apis.py"),
    }
)
"""The compat modules, the one test helper that imports Dagster's internals for tests, and this guard (its planted
files are strings of Python source)."""


@dataclass(frozen=True, order=True)
class Violation:
    """One private use outside compat: where, and what."""

    where: str
    what: str


def _private_module(module: str) -> bool:
    parts = module.split(".")
    return parts[0] in THIRD_PARTY and any(part.startswith("_") for part in parts[1:])


def _module_problem(module: str) -> str | None:
    """Why importing ``module`` outside compat is not allowed, or None when it is."""
    top = module.split(".")[0]
    if _private_module(module):
        return f"private module {module}"
    if top == "dbt_common":
        return f"dbt's internals ({module})"
    if top == "dbt" and module != "dbt" and module not in DBT_PUBLIC_MODULES:
        return f"dbt module beyond its programmatic API ({module})"
    if module.startswith("pydantic_settings.sources"):
        return f"pydantic-settings' sources internals ({module})"
    if top == "dagster_dbt" and module != "dagster_dbt":
        return f"dagster_dbt submodule {module} (import what dagster_dbt exports from dagster_dbt)"
    return None


EMBEDDED_IMPORT = re.compile(r"^\s*(?:from\s+([\w.]+)\s+import\b|import\s+([\w.]+))", re.MULTILINE)
"""An import statement on a line of a string constant (Python source run by a test)."""


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def violations_in(path: Path, display: str) -> Iterator[Violation]:
    """Every private use in the Python file ``path`` (shown as ``display``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    third_party_names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                problem = _module_problem(alias.name)
                if problem:
                    yield Violation(f"{display}:{node.lineno}", f"import {alias.name}: {problem}")
                if alias.name.split(".")[0] in PRIVATE_ATTRIBUTE_ROOTS:
                    third_party_names.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            problem = _module_problem(node.module)
            if problem:
                yield Violation(f"{display}:{node.lineno}", f"from {node.module} import: {problem}")
            if node.module.split(".")[0] in PRIVATE_ATTRIBUTE_ROOTS:
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        yield Violation(f"{display}:{node.lineno}", f"private name {node.module}.{alias.name}")
                    third_party_names.add(alias.asname or alias.name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for match in EMBEDDED_IMPORT.finditer(node.value):
                module = match.group(1) or match.group(2)
                problem = _module_problem(module)
                if problem:
                    line = node.lineno + node.value.count("\n", 0, match.start())
                    yield Violation(f"{display}:{line}", f"import {module} in a string of Python source: {problem}")
    made_by_third_party = {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and _root_name(node.value.func) in third_party_names
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    for node in ast.walk(tree):
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AugAssign) else []
        )
        for target in targets:
            if isinstance(target, ast.Attribute) and _root_name(target) in made_by_third_party:
                yield Violation(f"{display}:{node.lineno}", f"writes a third-party object's {ast.unparse(target)}")
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        root: ast.expr = node.value
        while isinstance(root, ast.Attribute):
            root = root.value
        if not (isinstance(root, ast.Name) and root.id in third_party_names):
            continue
        if node.attr.startswith("_") and not node.attr.startswith("__"):
            yield Violation(f"{display}:{node.lineno}", f"private attribute {ast.unparse(node)}")


def _workspace_files() -> Iterator[Path]:
    for base in ("packages", "demo", "bench", "tests"):
        for path in sorted((ROOT / base).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if any(part.startswith(".") or part in {"__pycache__", "target", "dbt_packages"} for part in parts):
                continue
            yield path


def workspace_violations(files: Iterator[Path] | None = None, root: Path = ROOT) -> list[Violation]:
    """Every private use in ``files`` (the workspace's Python files) outside :data:`ALLOWED_FILES`."""
    found = []
    for path in files if files is not None else _workspace_files():
        relative = path.relative_to(root)
        if relative in ALLOWED_FILES:
            continue
        found.extend(violations_in(path, str(relative)))
    return sorted(found)


def test_no_private_api_is_used_outside_the_compat_modules_and_the_test_helper() -> None:
    assert workspace_violations() == []


def test_every_package_that_uses_a_private_api_has_a_compat_module() -> None:
    compat = {path.parts[1] for path in ALLOWED_FILES if path.name == "_compat.py"}
    assert compat == {"floe-config", "floe-loaders", "floe-dbt-observe", "floe-definitions"}


PLANTED = {
    "from_private.py": "from dagster._core.instance.ref import InstanceRef\n",
    "import_private.py": "import dagster._core.instance.ref\n",
    "import_private_as.py": "import dagster._utils as du\n",
    "dbt_common_from.py": "from dbt_common.exceptions import scrub_secrets\n",
    "dbt_common_import.py": "import dbt_common.events.functions\n",
    "dbt_internal.py": "from dbt.config.profile import Profile\n",
    "dagster_dbt_submodule.py": "from dagster_dbt.asset_utils import build_dbt_specs\n",
    "dagster_dbt_submodule_import.py": "import dagster_dbt.core.dbt_cli_event\n",
    "settings_sources.py": "from pydantic_settings.sources import EnvSettingsSource\n",
    "private_name.py": "from openlineage.client import _private_helper\n",
    "private_attribute.py": "import dagster as dg\n\nvalue = dg.JobDefinition._private_thing\n",
    "private_attribute_of_imported_class.py": (
        "from pydantic_settings import EnvSettingsSource\n\ndef f(s: EnvSettingsSource) -> None:\n"
        "    EnvSettingsSource._load_env_vars\n"
    ),
    "private_attribute_deep.py": "import openlineage.client\n\nopenlineage.client.OpenLineageClient._alias_env_vars\n",
    "sys_getframe.py": "import sys\n\ncaller = sys._getframe(1)\n",
    "script_in_a_string.py": (
        'SCRIPT = """python - <<\'PY\'\nfrom dagster._core.execution.backfill import BulkActionStatus\nPY\n"""\n'
    ),
    "third_party_object_written.py": (
        "from pydantic_settings import EnvSettingsSource\n\nsource = EnvSettingsSource(object)\nsource.env_vars = {}\n"
    ),
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_the_guard_reports_a_planted_violation(name: str, tmp_path: Path) -> None:
    planted = tmp_path / "packages" / "floe-x" / "src" / "floe_x" / name
    planted.parent.mkdir(parents=True)
    planted.write_text(PLANTED[name], encoding="utf-8")
    found = workspace_violations(iter([planted]), root=tmp_path)
    assert len(found) == 1, found
    assert found[0].where.startswith(f"packages/floe-x/src/floe_x/{name}:")


def test_the_guard_allows_public_names_and_the_compat_module(tmp_path: Path) -> None:
    public = tmp_path / "packages" / "floe-x" / "src" / "floe_x" / "public.py"
    public.parent.mkdir(parents=True)
    public.write_text(
        "import dagster as dg\nfrom dagster_dbt import DbtCliResource\nfrom dbt.cli.main import dbtRunner\n"
        "value = dg.__version__\nother = DbtCliResource.model_fields\nobj._own_private = 1\n"
        'SCRIPT = """python - <<\'PY\'\nfrom dagster import DagsterInstance\nimport dagster_dbt\nPY\n"""\n',
        encoding="utf-8",
    )
    assert workspace_violations(iter([public]), root=tmp_path) == []
    compat = ROOT / "packages" / "floe-dbt-observe" / "src" / "floe_dbt_observe" / "_compat.py"
    assert list(violations_in(compat, "_compat.py"))  # it does use private APIs: allowed there only
    assert workspace_violations(iter([compat])) == []
