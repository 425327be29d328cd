"""The Kubernetes Job dagster-k8s would create for one step under ``demo/platform/prod.yaml``.

No cluster runs here (nor in CI): the Job is built with dagster-k8s's own public job-building functions
(``K8sContainerContext``, ``DagsterK8sJobConfig``, ``construct_dagster_k8s_job``) as its step handler builds it
from the executor config floe produces, and is checked against the ``kubernetes`` client's API models. The step
handler takes ``dagster_home`` and the instance ConfigMap from the cluster's ``K8sRunLauncher`` (which needs a
cluster to construct); the Helm chart's defaults stand in for them here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dagster_k8s import DagsterK8sJobConfig, construct_dagster_k8s_job
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.job import get_k8s_job_name
from kubernetes.client import ApiClient, V1Job, V1ResourceRequirements

from floe_config.platform_loading import parse_platform_spec
from floe_definitions.execution.executors import dagster_executor

PROD = Path(__file__).resolve().parents[4] / "demo" / "platform" / "prod.yaml"
IMAGE = "images.example/shop:1.4.2"
STEP = "silver__orders"
HELM_DAGSTER_HOME = "/opt/dagster/dagster_home"
HELM_INSTANCE_MAP = "dagster-instance"
RUN_ID = "0d2c7f4e-8a51-4d7b-9a53-0123456789ab"
ENVIRONMENT = {
    "SHOP_IMAGE": IMAGE,
    "DAGSTER_POSTGRES_URL": "postgresql+psycopg2://dagster:pw@pg.data:5432/dagster",
    "MARQUEZ_API_KEY": "key-123",
    "OTEL_COLLECTOR_URL": "http://otel.observability:4318",
    "MARQUEZ_URL": "http://marquez.lineage:5000",
}


class _Response:
    """What ``ApiClient.deserialize`` reads: an HTTP body."""

    def __init__(self, body: Any) -> None:
        self.data = json.dumps(body)


@pytest.fixture
def step_job(monkeypatch: pytest.MonkeyPatch) -> tuple[V1Job, K8sContainerContext]:
    """The step Job and its container context, built from prod.yaml through floe's executor config."""
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)  # dagster-k8s reads `env_vars: [NAME]` from the run's environment
    platform = parse_platform_spec(PROD.read_text(encoding="utf-8"), file=str(PROD), environ=ENVIRONMENT)
    mapped = dagster_executor(platform.execution.executor).apply_config_mapping({})
    assert mapped.success, mapped.errors
    config = mapped.value["config"]
    # As dagster_k8s.executor.k8s_job_executor builds its container context from the executor config.
    context = K8sContainerContext(
        namespace=config.get("job_namespace"), env_vars=config.get("env_vars"), resources=config.get("resources")
    )
    job_config = DagsterK8sJobConfig(
        job_image=config.get("job_image"), dagster_home=HELM_DAGSTER_HOME, instance_config_map=HELM_INSTANCE_MAP
    )
    job = construct_dagster_k8s_job(
        job_config=job_config,
        args=["dagster", "api", "execute_step"],
        job_name=f"dagster-step-{get_k8s_job_name(RUN_ID, STEP)}",
        component="step_worker",
        user_defined_k8s_config=context.run_k8s_config,
        labels={"dagster/job": "transform", "dagster/op": STEP, "dagster/run-id": RUN_ID},
        env_vars=[{"name": "DAGSTER_RUN_STEP_KEY", "value": STEP}],
    )
    return job, context


def test_step_job_is_a_valid_kubernetes_job_model(step_job: tuple[V1Job, K8sContainerContext]) -> None:
    job, _ = step_job
    client = ApiClient()
    manifest = client.sanitize_for_serialization(job)
    # The manifest, read back by the client as the API server's answer would be, is the same V1Job.
    assert client.deserialize(_Response(manifest), "V1Job") == job
    assert manifest["apiVersion"] == "batch/v1"
    assert manifest["kind"] == "Job"
    assert manifest["metadata"]["labels"]["app.kubernetes.io/component"] == "step_worker"


def test_step_job_runs_the_platform_image_in_the_platform_namespace(
    step_job: tuple[V1Job, K8sContainerContext],
) -> None:
    job, context = step_job
    (container,) = job.spec.template.spec.containers
    assert container.image == IMAGE  # prod.yaml's ${SHOP_IMAGE:...}, interpolated
    assert container.args == ["dagster", "api", "execute_step"]
    # dagster-k8s creates the Job in its container context's namespace (create_namespaced_job(namespace=...)).
    assert context.namespace == "data-pipelines"


def test_step_job_carries_the_platform_env_and_resources(step_job: tuple[V1Job, K8sContainerContext]) -> None:
    job, _ = step_job
    (container,) = job.spec.template.spec.containers
    env = {variable.name: variable.value for variable in container.env}
    assert {name: env.get(name) for name in ENVIRONMENT if name != "SHOP_IMAGE"} == {
        name: value for name, value in ENVIRONMENT.items() if name != "SHOP_IMAGE"
    }
    assert env["DAGSTER_RUN_STEP_KEY"] == STEP
    assert isinstance(container.resources, V1ResourceRequirements)
    assert container.resources.requests == {"cpu": "500m", "memory": "1Gi"}
    assert container.resources.limits == {"cpu": "2", "memory": "4Gi"}
