"""A private copy of the demo for a test module: its own asset package name, warehouse and platform file (tests)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
TEST_PLATFORM = """environment: test
execution:
  executor: {type: in_process}
"""


@dataclass(frozen=True)
class DemoCopy:
    """A private copy of the demo and the environment that points it at its own warehouse and platform file."""

    root: Path
    env: dict[str, str]

    @property
    def floe_yaml(self) -> Path:
        """The copy's floe.yaml."""
        return self.root / "floe.yaml"


def copy_demo(base: Path, package: str, *, break_model: str | None = None) -> DemoCopy:
    """Copy the demo under ``base``; its asset package is renamed ``package`` (one import per name per process)."""
    root = base / "demo"
    root.mkdir(parents=True)
    for name in ("floe.yaml", "definitions.py"):
        shutil.copy(DEMO_DIR / name, root / name)
    ignore = shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__", ".floe", "*.duckdb")
    shutil.copytree(DEMO_DIR / "assets", root / package, ignore=ignore)
    shutil.copytree(DEMO_DIR / "dbt", root / "dbt", ignore=ignore)
    shutil.copytree(DEMO_DIR / "platform", root / "platform", ignore=ignore)
    (root / "platform" / "test.yaml").write_text(TEST_PLATFORM)
    floe_yaml = root / "floe.yaml"
    floe_yaml.write_text(floe_yaml.read_text().replace(".assets.", f".{package}."))
    if break_model is not None:
        model = root / "dbt" / "models" / "staging" / f"{break_model}.sql"
        model.write_text(model.read_text() + "\n-- broken on purpose\nwhere no_such_column = 1\n")
    env = {
        "FLOE_DEMO_WAREHOUSE": str(base / "warehouse.duckdb"),
        "FLOE_PLATFORM_FILE": str(root / "platform" / "test.yaml"),
        "FLOE_DEMO_ALERTS_LOG": str(base / "alerts.jsonl"),
    }
    return DemoCopy(root=root, env=env)
