"""Importing a library module loads no project: every floe module imports with no floe.yaml anywhere in sight."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Each package's modules, imported one by one in a fresh interpreter (another test's imports cannot hide a failure).
IMPORT_EVERY_MODULE = """
import importlib, pkgutil, sys, traceback
failures = []
for package_name in sys.argv[1:]:
    package = importlib.import_module(package_name)
    for info in pkgutil.walk_packages(package.__path__, package_name + "."):
        try:
            importlib.import_module(info.name)
        except BaseException:
            failures.append(info.name + ": " + traceback.format_exc(limit=-1).strip().splitlines()[-1])
print("\\n".join(failures))
sys.exit(1 if failures else 0)
"""


@pytest.mark.parametrize("package", ["floe_config", "floe_loaders", "floe_dbt_observe", "floe_definitions"])
def test_every_module_imports_without_a_floe_yaml(package: str, tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FLOE_", "DAGSTER_HOME"))}
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERY_MODULE, package],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]


def test_code_location_builds_the_definitions_only_when_dagster_asks(tmp_path: Path) -> None:
    """``code_location`` imports cleanly; its ``defs`` raises the loading error only when Dagster calls it."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FLOE_", "DAGSTER_HOME"))}
    script = (
        "import floe_definitions.code_location as location\n"
        "from floe_definitions.errors import FloeDefinitionsError\n"
        "try:\n"
        "    location.defs()\n"
        "except FloeDefinitionsError as exc:\n"
        "    print(type(exc).__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ConfigNotFoundError"
