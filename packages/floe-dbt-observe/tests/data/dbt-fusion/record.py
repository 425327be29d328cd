"""Record dbt Fusion's JSON log of three builds of the fixture project (the files beside this script).

Run from packages/floe-dbt-observe with the workspace's Python and a Fusion ``dbt`` (SOURCE.txt says which):

    ../../.venv/bin/python tests/data/dbt-fusion/record.py /path/to/fusion/bin/dbt

Each build runs in a fresh copy of tests/dbt_project (made Fusion-compatible) on a fresh DuckDB warehouse:
``build-success.jsonl`` as is, ``build-broken-model.jsonl`` with ``stg_payments`` selecting a missing column,
``build-failing-test.jsonl`` with a failing ``accepted_values`` test on ``customer_orders.order_count``. The command
is ``<dbt> build --profiles-dir . --log-format json`` in the project directory; stdout is the recorded file.
``dbt-version.txt`` is what ``<dbt> --version`` prints.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent.parent))

from dbt_harness import DUCKDB_ENV, add_failing_test, break_payments, copy_project, make_warehouse  # noqa: E402
from fusion_harness import fusion_compatible, fusion_duckdb_env  # noqa: E402

VARIANTS = {
    "build-success.jsonl": (),
    "build-broken-model.jsonl": (break_payments,),
    "build-failing-test.jsonl": (add_failing_test,),
}


def main(dbt: str) -> None:
    """Record the three builds with the Fusion ``dbt`` at ``dbt``."""
    version = subprocess.run([dbt, "--version"], capture_output=True, text=True, check=True)
    (HERE / "dbt-version.txt").write_text(version.stdout + version.stderr)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        driver_env, why = fusion_duckdb_env(root / "lib")
        if driver_env is None:
            raise SystemExit(why)
        for name, edits in VARIANTS.items():
            work = root / name.removesuffix(".jsonl")

            def edit(project: Path, edits: tuple = edits) -> None:
                fusion_compatible(project)
                for change in edits:
                    change(project)

            project = copy_project(work / "dbt_project", edit)
            warehouse = make_warehouse(work / "warehouse.duckdb")
            env = {**os.environ, **driver_env, DUCKDB_ENV: str(warehouse)}
            command = [dbt, "build", "--profiles-dir", ".", "--log-format", "json"]
            completed = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)
            (HERE / name).write_text(completed.stdout)
            print(f"{name}: exit code {completed.returncode}, {len(completed.stdout.splitlines())} lines")


if __name__ == "__main__":
    main(sys.argv[1])
