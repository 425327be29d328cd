"""Check the Celery broker before a run submits its first step, so an unreachable broker fails the run at once.

Without the check, dagster-celery's loop fails on its first ``apply_async`` with kombu's own error, which says
nothing of which broker it tried. The message here names the broker URL with its password masked.
"""

from __future__ import annotations

import importlib
from typing import Any

from floe_definitions.errors import ExecutorConfigError
from floe_definitions.instance.dagster_yaml import mask_url

CONNECT_TIMEOUT_SECONDS = 5.0


def check_celery_broker(broker_url: str, timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
    """Connect to ``broker_url`` once (kombu, the transport Celery uses).

    Raises:
        ExecutorConfigError: The broker cannot be reached; the message names it with the password masked.
    """
    # kombu comes with floe-definitions[celery]; imported by name, as the optional executors are.
    connection_class: Any = importlib.import_module("kombu").Connection
    masked = mask_url(broker_url)
    try:
        with connection_class(broker_url, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
    except Exception as exc:
        detail = str(exc).replace(broker_url, masked)
        raise ExecutorConfigError(
            f"the Celery broker {masked} is unreachable ({type(exc).__name__}: {detail}); start it, or point "
            "execution.executor.broker at a running one",
            key="execution.executor.broker",
        ) from None
