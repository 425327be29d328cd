"""The Dagster internals floe's tests need, and the one module that imports them.

Dagster exports no public form of these; a test that needs one imports it from here, so an upgrade that moves one
breaks this file only (the workspace's private-API guard, ``tests/policy/test_private_apis.py``, allows
``dagster._`` imports nowhere else but the packages' ``_compat`` modules). Everything Dagster does export
(``dagster.instance_for_test``, ``dagster.partition_loading_context``, ``dagster.build_reconstructable_job``, ...)
is imported from ``dagster`` itself.
"""

from __future__ import annotations

from typing import Any

from dagster import DagsterInstance
from dagster._core.definitions.reconstruct import ReconstructableJob
from dagster._core.events import StepMaterializationData
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.execution.retries import RetryMode
from dagster._core.instance.ref import InstanceRef
from dagster._core.launcher import WorkerStatus
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.storage.tags import SCHEDULED_EXECUTION_TIME_TAG
from dagster._core.test_utils import create_test_daemon_workspace_context
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget, ModuleTarget, PythonFileTarget
from dagster._daemon.backfill import execute_backfill_iteration
from dagster._utils.schedules import cron_string_iterator


def dbt_fusion_event_class() -> Any:
    """Return dagster-dbt's ``DbtFusionCliEventMessage`` (dagster-dbt exports no Fusion event class).

    Imported when called: floe-loaders' tests use this module in a venv without dagster-dbt.
    """
    from dagster_dbt.core.dbt_cli_event import DbtFusionCliEventMessage

    return DbtFusionCliEventMessage


def instance_from_dir(home: str, overrides: dict[str, Any] | None = None) -> DagsterInstance:
    """Open the instance whose ``dagster.yaml`` is in ``home``, with ``overrides`` of its settings.

    ``DagsterInstance.from_config`` takes no overrides; a rendered ``{env: ...}`` value is handed over this way.
    """
    return DagsterInstance.from_ref(InstanceRef.from_dir(home, overrides=overrides))


__all__ = [
    "SCHEDULED_EXECUTION_TIME_TAG",
    "BulkActionStatus",
    "InProcessCodeLocationOrigin",
    "InProcessWorkspaceLoadTarget",
    "LoadableTargetOrigin",
    "ModuleTarget",
    "PythonFileTarget",
    "ReconstructableJob",
    "RetryMode",
    "StepMaterializationData",
    "WorkerStatus",
    "WorkspaceProcessContext",
    "create_test_daemon_workspace_context",
    "cron_string_iterator",
    "dbt_fusion_event_class",
    "execute_backfill_iteration",
    "instance_from_dir",
]
