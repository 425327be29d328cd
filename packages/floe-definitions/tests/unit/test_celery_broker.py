"""The Celery broker check: ``[celery]`` brings the Redis client; a missing client is named, not blamed on the broker.

The missing-client cases run in a fresh interpreter where ``import redis`` fails (``sys.modules["redis"] = None``
before anything imports it), as in an environment without the package: kombu's Redis transport then imports with
its client set to None and fails (``AttributeError: 'NoneType' object has no attribute 'Redis'``), which is how a
user without the library met it.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys

import pytest
from packaging.requirements import Requirement

from floe_test_support import redis_server
from floe_test_support.http_endpoints import free_port

pytest.importorskip("kombu")

WITHOUT_REDIS = "import sys\nsys.modules['redis'] = None  # `import redis` raises ImportError from here on\n"


def _redis_url() -> str:
    url = redis_server.configured_url()
    if not url:
        pytest.skip(redis_server.SKIP_REASON)
    return url


def _run_without_redis(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_REDIS + script], capture_output=True, text=True, timeout=300, check=False
    )


def test_the_celery_extra_installs_the_redis_client() -> None:
    extra = [
        Requirement(line)
        for line in importlib.metadata.requires("floe-definitions") or []
        if Requirement(line).marker is not None and Requirement(line).marker.evaluate({"extra": "celery"})  # type: ignore[union-attr]
    ]
    assert {(requirement.name, frozenset(requirement.extras)) for requirement in extra} == {
        ("dagster-celery", frozenset({"redis"}))
    }
    redis_extra = [
        Requirement(line).name
        for line in importlib.metadata.requires("dagster-celery") or []
        if Requirement(line).marker is not None and Requirement(line).marker.evaluate({"extra": "redis"})  # type: ignore[union-attr]
    ]
    assert redis_extra == ["redis"]


def test_a_reachable_redis_broker_passes_the_check() -> None:
    from floe_definitions.execution.celery_broker import check_celery_broker

    check_celery_broker(_redis_url(), timeout=5)


def test_a_missing_redis_client_names_the_package_to_install_not_the_broker() -> None:
    url = _redis_url()  # a running broker: only the client library is missing
    completed = _run_without_redis(
        "from floe_definitions.execution.celery_broker import check_celery_broker\n"
        "from floe_definitions.errors import ExecutorConfigError\n"
        "try:\n"
        f"    check_celery_broker({url!r}, timeout=5)\n"
        "except ExecutorConfigError as exc:\n"
        "    print(exc.key)\n"
        "    print(exc.message)\n"
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    key, message = completed.stdout.strip().splitlines()
    assert key == "execution.executor.broker"
    assert message.startswith("the Celery broker redis://")
    assert "needs the Python package 'redis', which is not installed: uv add redis (or pip install redis)" in message
    assert "floe-definitions[celery] installs it" in message
    assert "unreachable" not in message


def test_a_missing_redis_client_is_a_located_floe_check_error_before_any_run() -> None:
    completed = _run_without_redis(
        "from floe_config import PlatformSpec\n"
        "from floe_definitions.execution.executors import dagster_executor\n"
        "from floe_definitions.errors import ExecutorConfigError\n"
        "config = PlatformSpec.model_validate(\n"
        "    {'execution': {'executor': {'type': 'celery', 'broker': 'redis://floe:s3cret@127.0.0.1:1/0'}}}\n"
        ").execution.executor\n"
        "try:\n"
        "    dagster_executor(config)\n"
        "except ExecutorConfigError as exc:\n"
        "    print(exc.key)\n"
        "    print(exc.message)\n"
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    key, message = completed.stdout.strip().splitlines()
    assert key == "execution.executor.broker"
    assert message.startswith("the Celery broker redis://floe:***@127.0.0.1:1/0 needs the Python package 'redis'")
    assert "s3cret" not in message


def test_an_unreachable_broker_with_its_client_installed_stays_unreachable() -> None:
    from floe_definitions.errors import ExecutorConfigError
    from floe_definitions.execution.celery_broker import check_celery_broker

    port = free_port()
    with pytest.raises(ExecutorConfigError, match=rf"the Celery broker redis://127.0.0.1:{port}/0 is unreachable"):
        check_celery_broker(f"redis://127.0.0.1:{port}/0", timeout=2)
