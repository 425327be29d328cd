from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from floe_config import FloeSpec

SAMPLE_DIR = Path(__file__).parent / "fixtures" / "sample_project"
SAMPLE_MODULES = [".shop_assets.bronze", ".shop_assets.silver_gold", ".shop_assets.hand_written"]


def located(path: str) -> str:
    """A stand-in for floe-config's locator: a fake but recognisable line per path."""
    return f"floe.yaml:{len(path)}:1"


@pytest.fixture
def sample_dir() -> Path:
    return SAMPLE_DIR


@pytest.fixture
def make_spec() -> Callable[..., FloeSpec]:
    def make(**orchestration: Any) -> FloeSpec:
        orchestration.setdefault("asset_modules", list(SAMPLE_MODULES))
        return FloeSpec.model_validate({"name": "shop", "orchestration": orchestration})

    return make


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture
def write_project(tmp_path: Path) -> Callable[[dict[str, str]], tuple[Path, str]]:
    """Write a throwaway project under a unique top-level package name; return (base_dir, package)."""

    def write(files: dict[str, str]) -> tuple[Path, str]:
        package = f"proj_{uuid.uuid4().hex[:10]}"
        root = tmp_path / package
        root.mkdir()
        (root / "__init__.py").write_text("", encoding="utf-8")
        for name, text in files.items():
            target = root / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        return tmp_path, package

    return write


@pytest.fixture
def locate() -> Callable[[str], str]:
    return located
