"""Prove `floe-config validate` imports no Dagster, dbt, OpenTelemetry or OpenLineage module.

Run by `nox -s config_only` with the interpreter of a venv holding only floe-config:
`python packages/floe-config/tests/check_import_boundary.py`. It runs
`python -X importtime -m floe_config.cli validate <sample>` in a subprocess, reads the import log from its stderr and
exits non-zero (listing the offenders) if any forbidden module was imported or validation failed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FORBIDDEN = ("dagster", "dagster_dbt", "dbt", "opentelemetry", "openlineage")
SAMPLE = Path(__file__).parent / "samples" / "floe.yaml"


def imported_modules(importtime_log: str) -> list[str]:
    """Return the module names listed by ``-X importtime`` (``import time: self | cumulative | name``)."""
    modules = []
    for line in importtime_log.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                modules.append(name)
    return modules


def main() -> int:
    """Run the check and return the process exit code."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLOE_PLATFORM_")}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "floe_config.cli", "validate", str(SAMPLE)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    modules = imported_modules(result.stderr)
    offenders = sorted({name for name in modules if name.split(".")[0] in FORBIDDEN})
    if result.returncode != 0:
        print(f"validate failed with exit code {result.returncode}:\n{result.stdout}", file=sys.stderr)
        print("\n".join(line for line in result.stderr.splitlines() if not line.startswith("import time:")))
        return 1
    if not modules:
        print("no -X importtime output was captured; cannot check the boundary", file=sys.stderr)
        return 1
    if offenders:
        print(f"floe-config validate imported forbidden modules: {', '.join(offenders)}", file=sys.stderr)
        return 1
    lazy = [name for name in ("pydantic_settings", "croniter") if name in modules]
    print(
        f"ok: validate imported {len(modules)} modules, none from {', '.join(FORBIDDEN)}"
        + (f" (also loaded: {', '.join(lazy)})" if lazy else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
