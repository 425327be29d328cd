from __future__ import annotations

import importlib.util

import pytest

from floe_config import PlatformSpec
from floe_definitions.errors import ExecutorConfigError
from floe_definitions.executors import build_executor, dagster_executor
from floe_definitions.observed_executor import RunTelemetry
from floe_definitions.step_lineage import DatasetNaming

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
        with pytest.raises(ExecutorConfigError, match=rf"floe-definitions\[{kind}\]"):
            build_executor(config, TELEMETRY)  # type: ignore[arg-type]
    else:
        assert build_executor(config, TELEMETRY).name == f"floe_{kind}"  # type: ignore[arg-type]


def test_missing_extra_can_be_deferred_to_run_start() -> None:
    if importlib.util.find_spec("dagster_k8s") is not None:
        pytest.skip("dagster-k8s is installed here")
    config = _executor_config(type="k8s", job_namespace="data")
    definition = build_executor(config, TELEMETRY, defer_missing_extra=True)  # type: ignore[arg-type]
    assert definition.name == "floe_k8s"
    creation_fn = definition.executor_creation_fn
    assert creation_fn is not None
    with pytest.raises(ExecutorConfigError, match=r"floe-definitions\[k8s\]"):
        creation_fn(None)  # type: ignore[arg-type]
