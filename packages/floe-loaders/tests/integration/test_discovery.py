from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import pytest

from floe_loaders import load_asset_modules
from floe_loaders.errors import (
    AssetModuleConflictError,
    AssetModuleImportError,
    AssetModuleNotFoundError,
    DuplicateDefinitionError,
)

MODULES = [".shop_assets.bronze", ".shop_assets.silver_gold", ".shop_assets.hand_written"]


def _by_key(loaded, key: str):
    wanted = dg.AssetKey(key.split("/"))
    for obj in loaded.assets:
        keys = obj.keys if isinstance(obj, dg.AssetsDefinition) else [obj.key]
        if wanted in keys:
            return obj
    raise AssertionError(f"{key} not loaded")


def test_relative_modules_load_without_sys_path_changes(sample_dir: Path) -> None:
    before = list(sys.path)
    loaded = load_asset_modules(MODULES, sample_dir)
    assert sys.path == before
    assert [m.__name__ for m in loaded.modules] == [
        "shop_assets.bronze",
        "shop_assets.silver_gold",
        "shop_assets.hand_written",
    ]
    assert all(str(sample_dir) in (m.__file__ or "") for m in loaded.modules)


def test_collects_every_kind_of_definition(sample_dir: Path) -> None:
    loaded = load_asset_modules(MODULES, sample_dir)
    keys = {
        k.to_user_string()
        for obj in loaded.assets
        for k in (obj.keys if isinstance(obj, dg.AssetsDefinition) else [obj.key])
    }
    assert keys == {
        "bronze/raw_orders",
        "bronze/raw_customers",
        "external/erp_orders",
        "legacy/feed",
        "silver/orders",
        "silver/customers",
        "gold/revenue",
        "gold/weekly_revenue",
    }
    assert isinstance(_by_key(loaded, "external/erp_orders"), dg.AssetSpec)
    assert isinstance(_by_key(loaded, "legacy/feed"), dg.SourceAsset)
    assert [c.check_keys for c in loaded.asset_checks] == [
        {dg.AssetCheckKey(dg.AssetKey(["bronze", "raw_orders"]), "raw_orders_not_empty")}
    ]
    assert [j.name for j in loaded.jobs] == ["hand_job"]
    assert [s.name for s in loaded.schedules] == ["hand_schedule"]
    assert [s.name for s in loaded.sensors] == ["hand_sensor"]
    assert loaded.module_by_asset_key[dg.AssetKey(["gold", "revenue"])] == "shop_assets.silver_gold"


def test_decorated_attributes_are_preserved_exactly(sample_dir: Path) -> None:
    loaded = load_asset_modules(MODULES, sample_dir)
    raw_orders = _by_key(loaded, "bronze/raw_orders")
    spec = raw_orders.specs_by_key[dg.AssetKey(["bronze", "raw_orders"])]
    assert spec.group_name == "bronze"
    assert spec.kinds == {"python", "duckdb"}
    assert spec.owners == ["team:data", "ana@example.com"]
    assert spec.tags == {"layer": "bronze", "dagster/kind/python": "", "dagster/kind/duckdb": ""}
    assert spec.metadata == {"source": "shop", "rows_expected": 3}
    assert spec.description == "Raw orders as delivered by the shop."
    customers = _by_key(loaded, "bronze/raw_customers")
    assert customers.op.tags["dagster/compute_kind"] == "python"


def test_loaded_definitions_materialize_and_run(sample_dir: Path, instance: dg.DagsterInstance) -> None:
    loaded = load_asset_modules(MODULES, sample_dir)
    defs = dg.Definitions(
        assets=list(loaded.assets),
        asset_checks=list(loaded.asset_checks),
        jobs=list(loaded.jobs),
        schedules=list(loaded.schedules),
        sensors=list(loaded.sensors),
    )
    result = dg.materialize(
        [a for a in loaded.assets if isinstance(a, dg.AssetsDefinition)],
        instance=instance,
        selection=dg.AssetSelection.groups("bronze", "silver"),
    )
    assert result.success
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert materialized == {"bronze/raw_orders", "bronze/raw_customers", "silver/orders", "silver/customers"}
    assert defs.resolve_job_def("hand_job").execute_in_process(instance=instance).success


def test_missing_module_names_module_entry_and_where_it_looked(sample_dir: Path, locate: Callable[[str], str]) -> None:
    with pytest.raises(AssetModuleNotFoundError) as info:
        load_asset_modules([".shop_assets.bronze", ".shop_assets.nope"], sample_dir, locate=locate)
    message = str(info.value)
    assert message.startswith("floe.yaml:29:1: orchestration.asset_modules.1: module '.shop_assets.nope' was not found")
    assert str(sample_dir / "shop_assets" / "nope.py") in message
    assert info.value.path == "orchestration.asset_modules.1"


def test_missing_absolute_module_says_it_looked_in_installed_packages(sample_dir: Path) -> None:
    with pytest.raises(AssetModuleNotFoundError, match="installed packages"):
        load_asset_modules(["not_a_real_package_xyz.assets"], sample_dir)


def test_syntax_error_reports_file_and_line(write_project) -> None:
    base, package = write_project({"broken.py": "import dagster\n\n\ndef oops(:\n    pass\n"})
    with pytest.raises(AssetModuleImportError) as info:
        load_asset_modules([f".{package}.broken"], base)
    assert f" at {package}/broken.py:4: " in str(info.value)  # relative to floe.yaml's directory
    assert "syntax error" in str(info.value)


def test_import_time_exception_reports_file_and_line(write_project) -> None:
    base, package = write_project({"boom.py": "x = 1\nraise RuntimeError('no warehouse credentials')\n"})
    with pytest.raises(AssetModuleImportError) as info:
        load_asset_modules([f".{package}.boom"], base)
    message = str(info.value)
    assert "RuntimeError: no warehouse credentials" in message
    assert f" at {package}/boom.py:2. " in message  # relative to floe.yaml's directory


def test_missing_dependency_inside_module_is_an_import_error_not_not_found(write_project) -> None:
    base, package = write_project({"needs.py": "import not_installed_dep_xyz\n"})
    with pytest.raises(AssetModuleImportError, match="ModuleNotFoundError") as info:
        load_asset_modules([f".{package}.needs"], base)
    assert f"{package}/needs.py:1" in str(info.value)


def test_duplicate_asset_key_names_both_modules(write_project) -> None:
    code = "import dagster as dg\n\n@dg.asset(key=['dup', 'thing'])\ndef thing() -> None:\n    return None\n"
    base, package = write_project({"one.py": code, "two.py": code})
    with pytest.raises(DuplicateDefinitionError) as info:
        load_asset_modules([f".{package}.one", f".{package}.two"], base)
    message = str(info.value)
    assert "'dup/thing'" in message
    assert f"{package}.one" in message
    assert f"{package}.two" in message
    assert info.value.path == "orchestration.asset_modules.1"


def test_same_object_imported_by_two_modules_is_not_a_duplicate(write_project) -> None:
    base, package = write_project(
        {
            "one.py": "import dagster as dg\n\n@dg.asset\ndef shared() -> None:\n    return None\n",
            "two.py": "from .one import shared\n",
        }
    )
    loaded = load_asset_modules([f".{package}.one", f".{package}.two"], base)
    assert len(loaded.assets) == 1


def test_module_level_partitions_definition_is_not_mistaken_for_a_list_of_assets(write_project) -> None:
    code = (
        "import dagster as dg\n\n"
        "daily = dg.DailyPartitionsDefinition(start_date='2024-01-01')\n\n"
        "@dg.asset(partitions_def=daily)\ndef orders() -> None:\n    return None\n"
    )
    base, package = write_project({"orders.py": code})
    loaded = load_asset_modules([f".{package}.orders"], base)
    assert [key.to_user_string() for obj in loaded.assets for key in obj.keys] == ["orders"]


def test_relative_name_clashing_with_an_installed_module_is_refused(tmp_path: Path) -> None:
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "__init__.py").write_text("", encoding="utf-8")
    with pytest.raises(AssetModuleConflictError, match="already imported"):
        load_asset_modules([".json"], tmp_path)
