from __future__ import annotations

import warnings
from pathlib import Path

import dagster as dg
import pytest

from floe_loaders import build_orchestration
from floe_loaders.errors import (
    MixedPartitionsError,
    PartitionsDefinitionError,
    SelectionError,
    TargetFunctionError,
    UnknownReferenceError,
)

DAILY = {"type": "daily", "start": "2024-01-01", "end": "2024-12-31"}


def _defs(objects) -> dg.Definitions:
    return dg.Definitions(**objects.definitions_args())


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}


def test_batch_job_selection_union_executes(make_spec, sample_dir: Path, instance) -> None:
    spec = make_spec(jobs={"seed": {"type": "batch", "selection": ["group:bronze", 'key:"gold/revenue"']}})
    defs = _defs(build_orchestration(spec, sample_dir))
    result = defs.resolve_job_def("seed").execute_in_process(instance=instance)
    assert result.success
    assert _materialized(result) == {"bronze/raw_orders", "bronze/raw_customers", "gold/revenue"}


def test_batch_job_graph_and_boolean_selection(make_spec, sample_dir: Path, instance) -> None:
    spec = make_spec(jobs={"down": {"type": "batch", "selection": ['key:"silver/orders"+ and not group:silver']}})
    defs = _defs(build_orchestration(spec, sample_dir))
    result = defs.resolve_job_def("down").execute_in_process(instance=instance)
    assert _materialized(result) == {"gold/revenue", "gold/weekly_revenue"}


def test_selection_strings_raise_no_beta_warning(make_spec, sample_dir: Path) -> None:
    spec = make_spec(jobs={"seed": {"type": "batch", "selection": ["group:bronze", "tag:team=data or kind:python"]}})
    with warnings.catch_warnings():
        for category in (dg.BetaWarning, dg.PreviewWarning, dg.SupersessionWarning):
            warnings.simplefilter("error", category)
        objects = build_orchestration(spec, sample_dir)
    assert "seed" in {job.name for job in objects.definitions_args()["jobs"]}


def test_batch_job_tags_and_description(make_spec, sample_dir: Path, instance) -> None:
    spec = make_spec(
        jobs={
            "seed": {"type": "batch", "selection": ["group:bronze"], "description": "Seed.", "tags": {"team": "data"}}
        }
    )
    job = _defs(build_orchestration(spec, sample_dir)).resolve_job_def("seed")
    assert job.description == "Seed."
    result = job.execute_in_process(instance=instance)
    assert instance.get_run_by_id(result.run_id).tags["team"] == "data"


def test_partitioned_batch_job_runs_one_partition(make_spec, sample_dir: Path, instance) -> None:
    spec = make_spec(
        partitions={"daily": DAILY},
        assets={"bronze/*": {"partitions": "daily"}},
        jobs={"seed": {"type": "batch", "selection": ["group:bronze"]}},
    )
    job = _defs(build_orchestration(spec, sample_dir)).resolve_job_def("seed")
    assert job.partitions_def == dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-12-31")
    assert job.execute_in_process(instance=instance, partition_key="2024-06-01").success
    assert instance.get_materialized_partitions(dg.AssetKey(["bronze", "raw_customers"])) == {"2024-06-01"}


def test_selection_parse_error_is_located(make_spec, sample_dir: Path, locate) -> None:
    spec = make_spec(jobs={"bad": {"type": "batch", "selection": ["group:bronze", "group:silver and and"]}})
    with pytest.raises(SelectionError) as info:
        build_orchestration(spec, sample_dir, locate=locate)
    assert info.value.path == "orchestration.jobs.bad.selection.1"
    assert str(info.value).startswith(locate("orchestration.jobs.bad.selection.1"))
    assert "not valid Dagster selection syntax" in str(info.value)


def test_selection_matching_nothing_names_the_job_and_lists_the_groups(make_spec, sample_dir: Path, locate) -> None:
    spec = make_spec(jobs={"empty": {"type": "batch", "selection": ["group:platinum"]}})
    with pytest.raises(SelectionError, match=r"job 'empty'.*matches no asset") as info:
        build_orchestration(spec, sample_dir, locate=locate)
    assert info.value.location == locate("orchestration.jobs.empty.selection.0")
    assert info.value.what.endswith("matches no asset; known groups: bronze, gold, silver")


def test_selection_matching_nothing_suggests_the_group_meant(make_spec, sample_dir: Path, locate) -> None:
    spec = make_spec(jobs={"empty": {"type": "batch", "selection": ["group:glod"]}})
    with pytest.raises(SelectionError) as info:
        build_orchestration(spec, sample_dir, locate=locate)
    assert info.value.what == "job 'empty': selection 'group:glod' matches no asset (did you mean 'group:gold'?)"


def test_mixed_partitions_is_a_clear_error(make_spec, sample_dir: Path) -> None:
    spec = make_spec(
        partitions={"daily": DAILY, "region": {"type": "static", "partition_keys": ["us", "eu"]}},
        assets={"bronze/raw_orders": {"partitions": "daily"}, "bronze/raw_customers": {"partitions": "region"}},
        jobs={"seed": {"type": "batch", "selection": ["group:bronze"]}},
    )
    with pytest.raises(MixedPartitionsError) as info:
        build_orchestration(spec, sample_dir)
    assert "bronze/raw_customers: 'region'" in str(info.value)
    assert "bronze/raw_orders: 'daily'" in str(info.value)


def test_unknown_job_partitions_is_an_error(make_spec, sample_dir: Path) -> None:
    spec = make_spec(jobs={"seed": {"type": "batch", "selection": ["group:bronze"], "partitions": "nope"}})
    with pytest.raises(PartitionsDefinitionError, match="unknown partitions 'nope'"):
        build_orchestration(spec, sample_dir)


def test_ops_job_calls_function_with_args_as_run_config(make_spec, sample_dir: Path, instance) -> None:
    spec = make_spec(
        jobs={
            "maintenance": {"type": "ops", "target_function": ".shop_assets.ops:vacuum", "args": {"retention_days": 30}}
        }
    )
    job = _defs(build_orchestration(spec, sample_dir)).resolve_job_def("maintenance")
    result = job.execute_in_process(instance=instance)
    assert result.success
    outputs = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = outputs[0].event_specific_data.metadata
    assert metadata["return_value"].value == {"table": "orders", "retention_days": 30}


def test_ops_job_run_config_overrides_args(make_spec, sample_dir: Path, instance) -> None:
    spec = make_spec(
        jobs={
            "maintenance": {"type": "ops", "target_function": ".shop_assets.ops:vacuum", "args": {"retention_days": 30}}
        }
    )
    job = _defs(build_orchestration(spec, sample_dir)).resolve_job_def("maintenance")
    result = job.execute_in_process(
        instance=instance, run_config={"ops": {"maintenance_op": {"config": {"retention_days": 7, "table": "t"}}}}
    )
    outputs = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    assert outputs[0].event_specific_data.metadata["return_value"].value == {"table": "t", "retention_days": 7}


def test_ops_job_from_allowed_absolute_package(make_spec, sample_dir: Path, instance) -> None:
    spec = make_spec(jobs={"notify": {"type": "ops", "target_function": "shop_assets.ops:notify_failure"}})
    job = _defs(build_orchestration(spec, sample_dir)).resolve_job_def("notify")
    assert job.execute_in_process(instance=instance).success


@pytest.mark.parametrize("target", ["os:system", "subprocess:run", "builtins:eval"])
def test_ops_job_refuses_functions_outside_the_project(make_spec, sample_dir: Path, target: str) -> None:
    spec = make_spec(jobs={"evil": {"type": "ops", "target_function": target}})
    with pytest.raises(TargetFunctionError, match="outside the project") as info:
        build_orchestration(spec, sample_dir)
    assert info.value.path == "orchestration.jobs.evil.target_function"


def test_ops_job_refuses_reexported_library_function(make_spec, sample_dir: Path) -> None:
    spec = make_spec(jobs={"evil": {"type": "ops", "target_function": ".shop_assets.ops:system"}})
    with pytest.raises(TargetFunctionError, match="from outside the project"):
        build_orchestration(spec, sample_dir)


def test_allowed_function_packages_extends_the_boundary(make_spec, sample_dir: Path, instance) -> None:
    spec = make_spec(
        allowed_function_packages=["json"],
        jobs={"dump": {"type": "ops", "target_function": "json:dumps", "args": {"obj": [1, 2]}}},
    )
    job = _defs(build_orchestration(spec, sample_dir)).resolve_job_def("dump")
    result = job.execute_in_process(instance=instance)
    outputs = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    assert outputs[0].event_specific_data.metadata["return_value"].value == "[1, 2]"


def test_missing_target_function_is_an_error(make_spec, sample_dir: Path) -> None:
    spec = make_spec(jobs={"x": {"type": "ops", "target_function": ".shop_assets.ops:nope"}})
    with pytest.raises(TargetFunctionError, match="no function 'nope'"):
        build_orchestration(spec, sample_dir)


def test_misspelled_target_function_suggests_the_modules_function(make_spec, sample_dir: Path) -> None:
    spec = make_spec(jobs={"x": {"type": "ops", "target_function": ".shop_assets.ops:vacum"}})
    with pytest.raises(TargetFunctionError) as info:
        build_orchestration(spec, sample_dir)
    assert info.value.what.endswith("has no function 'vacum' (did you mean 'vacuum'?)")


def test_unknown_target_function_lists_the_modules_functions(make_spec, sample_dir: Path) -> None:
    spec = make_spec(jobs={"x": {"type": "ops", "target_function": ".shop_assets.ops:nope"}})
    with pytest.raises(TargetFunctionError) as info:
        build_orchestration(spec, sample_dir)
    assert "(its functions: fail_loudly, flag_sensor, ingest_file, keyed_sensor, notify_failure, vacuum)" in (
        info.value.what
    )


def test_ops_args_the_function_does_not_take_are_a_located_error(make_spec, sample_dir: Path, locate) -> None:
    spec = make_spec(
        jobs={"x": {"type": "ops", "target_function": ".shop_assets.ops:vacuum", "args": {"retention_dayz": 7}}}
    )
    with pytest.raises(TargetFunctionError) as info:
        build_orchestration(spec, sample_dir, locate=locate)
    assert info.value.path == "orchestration.jobs.x.args"
    assert info.value.what == (
        ".shop_assets.ops:vacuum cannot be called with these args: args 'retention_dayz' is not one of its "
        "parameters (did you mean 'retention_days'?); its parameter 'retention_days' has no default and no value "
        "in args (its parameters: retention_days, table)"
    )


def test_ops_function_parameter_without_value_is_an_error_at_the_target(make_spec, sample_dir: Path) -> None:
    spec = make_spec(jobs={"x": {"type": "ops", "target_function": ".shop_assets.ops:vacuum"}})
    with pytest.raises(TargetFunctionError, match="'retention_days' has no default and no value in args") as info:
        build_orchestration(spec, sample_dir)
    assert info.value.path == "orchestration.jobs.x.target_function"


def test_module_jobs_are_kept_beside_yaml_jobs(make_spec, sample_dir: Path) -> None:
    spec = make_spec(jobs={"seed": {"type": "batch", "selection": ["group:bronze"]}})
    names = {job.name for job in build_orchestration(spec, sample_dir).jobs}
    assert names == {"seed", "hand_job"}


def test_yaml_job_named_like_a_module_job_is_an_error(make_spec, sample_dir: Path) -> None:
    from floe_loaders.errors import DuplicateDefinitionError

    spec = make_spec(jobs={"hand_job": {"type": "batch", "selection": ["group:bronze"]}})
    with pytest.raises(DuplicateDefinitionError):
        build_orchestration(spec, sample_dir)


def test_schedule_with_unknown_job_suggests_the_close_name(make_spec, sample_dir: Path) -> None:
    spec = make_spec(
        jobs={"transform": {"type": "batch", "selection": ["group:silver"]}},
        schedules={"nightly": {"job": "transfrom", "cron_schedule": "0 6 * * *"}},
    )
    with pytest.raises(UnknownReferenceError, match="did you mean 'transform'"):
        build_orchestration(spec, sample_dir)
