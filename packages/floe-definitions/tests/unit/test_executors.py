from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from floe_config import PlatformSpec
from floe_definitions.errors import ExecutorConfigError
from floe_definitions.execution.executors import (
    build_executor,
    dagster_executor,
    events_arrive_late,
    warm_steps_apply,
)
from floe_definitions.execution.observed_executor import RunTelemetry
from floe_definitions.execution.step_lineage import DatasetNaming
from floe_definitions.execution.warm_steps import PRELOAD_MODULE, WARM_STEP_MODULES

TELEMETRY = RunTelemetry(tracer_provider=None, lineage_client=None, lineage_namespace="floe", naming=DatasetNaming("t"))


def _executor_config(**executor: object) -> object:
    return PlatformSpec.model_validate({"execution": {"executor": executor}}).execution.executor


def test_default_platform_selects_dagster_multiprocess() -> None:
    definition = build_executor(PlatformSpec().execution.executor, TELEMETRY)
    assert definition.name == "floe_multiprocess"


def test_in_process_executor_is_built() -> None:
    definition = build_executor(_executor_config(type="in_process"), TELEMETRY)  # type: ignore[arg-type]
    assert definition.name == "floe_in_process"
    assert definition.get_requirements({}) == []


def test_multiprocess_keeps_dagster_requirements_and_max_concurrent() -> None:
    config = _executor_config(type="multiprocess", max_concurrent=3)
    inner = dagster_executor(config)  # type: ignore[arg-type]
    definition = build_executor(config, TELEMETRY)  # type: ignore[arg-type]
    assert definition.get_requirements({}) == inner.get_requirements({})
    assert definition.get_requirements({})  # reconstructable job + persistent instance


def test_multiprocess_start_method_forkserver_and_preload_modules_reach_dagsters_config() -> None:
    config = _executor_config(type="multiprocess", start_method="forkserver", preload_modules=["dagster_dbt"])
    resolved = dagster_executor(config).config_schema.resolve_config({})  # type: ignore[arg-type]
    assert resolved.success
    assert resolved.value["config"]["start_method"] == {"forkserver": {"preload_modules": ["dagster_dbt"]}}


def test_multiprocess_without_start_method_forks_warm_steps_with_floes_preload() -> None:
    resolved = dagster_executor(_executor_config(type="multiprocess")).config_schema.resolve_config({})  # type: ignore[arg-type]
    assert resolved.value["config"]["start_method"] == {"forkserver": {"preload_modules": list(WARM_STEP_MODULES)}}
    assert WARM_STEP_MODULES[-1] == PRELOAD_MODULE  # the project is built after every library is imported


def test_multiprocess_start_method_spawn_reaches_dagsters_config() -> None:
    config = _executor_config(type="multiprocess", start_method="spawn")
    resolved = dagster_executor(config).config_schema.resolve_config({})  # type: ignore[arg-type]
    assert resolved.value["config"]["start_method"] == {"spawn": {}}


def test_warm_steps_apply_to_the_default_and_to_a_preload_list_naming_floes_module_only() -> None:
    assert warm_steps_apply(_executor_config(type="multiprocess"))  # type: ignore[arg-type]
    assert not warm_steps_apply(_executor_config(type="multiprocess", start_method="spawn"))  # type: ignore[arg-type]
    own = _executor_config(type="multiprocess", start_method="forkserver", preload_modules=["dagster_dbt"])
    assert not warm_steps_apply(own)  # type: ignore[arg-type]
    with_floe = _executor_config(type="multiprocess", start_method="forkserver", preload_modules=[PRELOAD_MODULE])
    assert warm_steps_apply(with_floe)  # type: ignore[arg-type]
    assert not warm_steps_apply(_executor_config(type="in_process"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "module", "settings"),
    [
        ("celery", "dagster_celery", {"broker": "pyamqp://guest@127.0.0.1//"}),
        ("k8s", "dagster_k8s", {"job_namespace": "data", "image": "shop:1"}),
    ],
)
def test_optional_executors_build_when_installed_or_name_their_extra(
    kind: str, module: str, settings: dict[str, object]
) -> None:
    config = _executor_config(type=kind, **settings)
    if importlib.util.find_spec(module) is None:
        with pytest.raises(ExecutorConfigError, match=rf"(--extra {kind}|floe-definitions\[{kind}\])"):
            build_executor(config, TELEMETRY)  # type: ignore[arg-type]
    else:
        assert build_executor(config, TELEMETRY).name == f"floe_{kind}"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "late"),
    [
        ({"type": "in_process"}, False),
        ({"type": "multiprocess", "max_concurrent": 2}, True),  # drained between the run worker's own work
        ({"type": "celery", "broker": "redis://127.0.0.1:1/0"}, True),  # a step's events come when its task ends
        ({"type": "k8s", "job_namespace": "data"}, True),  # read back from the event log on a polling tick
    ],
)
def test_step_times_are_read_from_the_instance_only_for_executors_whose_events_arrive_late(
    settings: dict[str, object], late: bool
) -> None:
    assert events_arrive_late(_executor_config(**settings)) is late  # type: ignore[arg-type]


def test_missing_extra_can_be_deferred_to_run_start(monkeypatch: pytest.MonkeyPatch) -> None:
    # dagster-k8s is in the test group; a None entry in sys.modules makes Python's import fail as if it were absent.
    monkeypatch.setitem(sys.modules, "dagster_k8s", None)
    config = _executor_config(type="k8s", job_namespace="data")
    definition = build_executor(config, TELEMETRY, defer_missing_extra=True)  # type: ignore[arg-type]
    assert definition.name == "floe_k8s"
    creation_fn = definition.executor_creation_fn
    assert creation_fn is not None
    with pytest.raises(ExecutorConfigError, match=r"(--extra k8s|floe-definitions\[k8s\])"):
        creation_fn(None)  # type: ignore[arg-type]


def test_observed_executor_exposes_the_wrapped_executors_attributes() -> None:
    dagster_celery = pytest.importorskip("dagster_celery")
    from floe_definitions.execution.observed_executor import ObservedExecutor
    from floe_test_support.dagster_internals import RetryMode

    inner = dagster_celery.executor.CeleryExecutor(retries=RetryMode.DISABLED, broker="redis://127.0.0.1:1/0")
    observed = ObservedExecutor(inner, TELEMETRY)
    assert observed.app_args()["broker"] == "redis://127.0.0.1:1/0"  # what dagster-celery's loop calls
    assert observed.retries is inner.retries
    with pytest.raises(AttributeError):
        observed._no_such_private_name  # noqa: B018


def test_unreachable_celery_broker_names_the_url_with_the_password_masked() -> None:
    pytest.importorskip("kombu")
    from floe_definitions.execution.celery_broker import check_celery_broker
    from floe_test_support.http_endpoints import free_port

    port = free_port()
    with pytest.raises(ExecutorConfigError) as caught:
        check_celery_broker(f"redis://floe:s3cret@127.0.0.1:{port}/0", timeout=2)
    assert f"redis://floe:***@127.0.0.1:{port}/0" in str(caught.value)
    assert "s3cret" not in str(caught.value)
    assert caught.value.key == "execution.executor.broker"


def test_celery_on_worker_lost_redeliver_reaches_the_executors_celery_settings() -> None:
    pytest.importorskip("dagster_celery")
    config = _executor_config(type="celery", broker="redis://127.0.0.1:1/0", on_worker_lost="redeliver")
    resolved = dagster_executor(config).config_schema.resolve_config({})  # type: ignore[arg-type]
    assert resolved.success
    assert resolved.value["config"]["config_source"] == {"task_acks_late": True, "task_reject_on_worker_lost": True}


def test_celery_visibility_timeout_keeps_dagster_celerys_other_transport_options() -> None:
    defaults = pytest.importorskip("dagster_celery.defaults")
    config = _executor_config(
        type="celery", broker="redis://127.0.0.1:1/0", on_worker_lost="redeliver", visibility_timeout_seconds=120
    )
    resolved = dagster_executor(config).config_schema.resolve_config({})  # type: ignore[arg-type]
    options = resolved.value["config"]["config_source"]["broker_transport_options"]
    assert options == {**defaults.broker_transport_options, "visibility_timeout": 120}


def test_celery_on_worker_lost_fail_has_workers_store_the_started_state() -> None:
    """Under ``fail`` (the default) a task's STARTED state names the worker that took it, for the run to watch."""
    pytest.importorskip("dagster_celery")
    resolved = dagster_executor(_executor_config(type="celery")).config_schema.resolve_config({})  # type: ignore[arg-type]
    assert resolved.value["config"]["config_source"] == {"task_track_started": True}


def test_celery_worker_yaml_under_fail_tracks_started_tasks(tmp_path: Path) -> None:
    cli = pytest.importorskip("dagster_celery.cli")
    from floe_definitions.commands.instance import write_celery_worker_config

    platform = PlatformSpec.model_validate({"execution": {"executor": {"type": "celery", "broker": "redis://h:1/0"}}})
    written = write_celery_worker_config(tmp_path, platform)
    assert written is not None
    assert cli.get_validated_config(str(written))["config_source"] == {"task_track_started": True}


def test_celery_worker_yaml_carries_the_same_settings_and_dagster_celery_validates_it(tmp_path: Path) -> None:
    cli = pytest.importorskip("dagster_celery.cli")
    from floe_definitions.commands.instance import write_celery_worker_config

    executor = {"type": "celery", "broker": "redis://127.0.0.1:1/0", "on_worker_lost": "redeliver"}
    platform = PlatformSpec.model_validate({"execution": {"executor": executor}})
    written = write_celery_worker_config(tmp_path, platform)
    assert written is not None
    validated = cli.get_validated_config(str(written))  # what `dagster-celery worker start -y` reads
    assert validated["broker"] == "redis://127.0.0.1:1/0"
    assert validated["config_source"] == {"task_acks_late": True, "task_reject_on_worker_lost": True}
