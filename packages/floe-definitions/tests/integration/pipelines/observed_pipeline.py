"""A small code location whose jobs run through floe's observed executor (loaded by file in tests)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, cast

from dagster import (
    AssetSelection,
    DailyPartitionsDefinition,
    Definitions,
    Executor,
    ExecutorDefinition,
    InitExecutorContext,
    MaterializeResult,
    MetadataValue,
    asset,
    define_asset_job,
    job,
    op,
)
from openlineage.client.transport.transport import Transport

from floe_config import FloeSpec, PlatformSpec
from floe_definitions.execution.executors import build_executor
from floe_definitions.execution.observed_executor import ObservedExecutor, RunTelemetry
from floe_definitions.execution.step_lineage import DatasetNaming
from floe_definitions.telemetry.lineage_client import build_lineage_client
from floe_definitions.telemetry.tracing import build_tracer_provider

BASE = Path(os.environ["FLOE_TEST_DIR"])


class ExplodingTransport(Transport):
    kind = "exploding"

    def emit(self, event: object) -> None:
        raise ConnectionError("lineage backend is down")


spec = FloeSpec(name="obs")
platform = PlatformSpec.model_validate(
    {"environment": "test", "execution": {"executor": {"type": os.environ.get("FLOE_TEST_EXECUTOR", "multiprocess")}}}
)
transport = ExplodingTransport() if os.environ.get("FLOE_TEST_BROKEN_LINEAGE") else None
telemetry = RunTelemetry(
    tracer_provider=build_tracer_provider(spec, platform, BASE),
    lineage_client=build_lineage_client(spec, platform, BASE, transport=transport),
    lineage_namespace="floe-test",
    naming=DatasetNaming(pipeline="obs", table_namespaces={"duckdb": "duckdb:///warehouse.duckdb"}),
)


observed_executor = build_executor(platform.execution.executor, telemetry)
if os.environ.get("FLOE_TEST_RECORDED_TIMES"):
    # The platform's executor observed as Celery's and Kubernetes' are: step times read back from the instance.
    platform_executor = observed_executor

    def _with_recorded_times(init_context: InitExecutorContext) -> Executor:
        assert platform_executor.executor_creation_fn is not None
        built = platform_executor.executor_creation_fn(init_context)
        assert isinstance(built, ObservedExecutor)
        return ObservedExecutor(built.inner, telemetry, recorded_step_times=True)

    observed_executor = ExecutorDefinition(
        name=platform_executor.name,
        config_schema=cast("Any", platform_executor.config_schema),  # already a definition schema
        requirements=platform_executor.get_requirements,
        executor_creation_fn=_with_recorded_times,
    )


@asset(key=["bronze", "raw"], group_name="bronze")
def raw() -> MaterializeResult[None]:
    return MaterializeResult(
        metadata={"dagster/table_name": "warehouse.bronze.raw", "dagster/storage_kind": MetadataValue.text("duckdb")}
    )


@asset(key=["silver", "clean"], deps=[raw], group_name="silver")
def clean() -> None:
    return None


@asset(key=["gold", "report"], deps=[clean], group_name="gold")
def report() -> None:
    if os.environ.get("FLOE_TEST_FAIL"):
        raise ValueError("report exploded")


@asset(key=["silver", "modelled"], deps=[raw], kinds={"dbt"}, group_name="silver")
def modelled() -> None:
    return None


@asset(
    key=["dated", "events"],
    group_name="dated",
    partitions_def=DailyPartitionsDefinition(start_date="2024-01-01"),
    owners=["team:obs", "ana@example.com"],
    tags={"tier": "bronze"},
)
def events() -> None:
    return None


@asset(key=["slow", "waits"], group_name="slow")
def waits() -> None:
    (BASE / "waits.started").write_text("started")
    time.sleep(120)  # terminated long before this ends


@op
def tidy() -> None:
    return None


@job(tags={"kind_of_job": "maintenance"})
def maintenance() -> None:
    tidy()


defs = Definitions(
    assets=[raw, clean, report, modelled, events, waits],
    jobs=[
        define_asset_job(
            "everything", selection=AssetSelection.groups("bronze", "silver", "gold"), tags={"layer": "all"}
        ),
        define_asset_job("dated", selection=AssetSelection.groups("dated")),
        define_asset_job("slow", selection=AssetSelection.groups("slow")),
        maintenance,
    ],
    executor=observed_executor,
)
