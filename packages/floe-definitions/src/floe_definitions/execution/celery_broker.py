"""Check the Celery broker before a run submits its first step, so a broker floe cannot use fails the run at once.

Without the check, dagster-celery's loop fails on its first ``apply_async`` with kombu's own error, which says
nothing of which broker it tried. Two failures are told apart: the broker's Python client library is not installed
(the message names the package to install), and the broker cannot be reached (the message names the broker URL
with its password masked).
"""

from __future__ import annotations

import importlib
from typing import Any

from floe_definitions.errors import ExecutorConfigError
from floe_definitions.instance.dagster_yaml import mask_url

CONNECT_TIMEOUT_SECONDS = 5.0

# kombu transports that do not say which library is missing: without the Redis client, kombu's Redis transport
# fails to import with "AttributeError: 'NoneType' object has no attribute 'Redis'" (kombu 5.7). Each maps to the
# library to import and the package that installs it. Other transports import their library when kombu loads
# them, so a missing one is an ImportError naming the module.
_CLIENT_LIBRARIES = {
    "redis": ("redis", "redis"),
    "rediss": ("redis", "redis"),
    "sentinel": ("redis", "redis"),
}


def check_broker_client(broker_url: str) -> None:
    """Check that the Python client library of the broker's kombu transport is importable (no connection is made).

    Args:
        broker_url: The Celery broker URL (``redis://``, ``amqp://``, ``sqs://`` ...).

    Raises:
        ExecutorConfigError: The library is missing; the message names the package to install.
    """
    _connection(broker_url)


def check_celery_broker(broker_url: str, timeout: float = CONNECT_TIMEOUT_SECONDS) -> None:
    """Check the broker's client library, then connect to ``broker_url`` once (kombu, the transport Celery uses).

    Raises:
        ExecutorConfigError: The broker's client library is missing (the message names the package to install),
            or the broker cannot be reached (the message names it with the password masked).
    """
    masked = mask_url(broker_url)
    try:
        with _connection(broker_url, connect_timeout=timeout) as connection:
            connection.ensure_connection(max_retries=1, timeout=timeout)
    except ExecutorConfigError:
        raise
    except ImportError as exc:  # a transport that checks its library only when it connects
        raise _missing_client(masked, exc) from None
    except Exception as exc:
        detail = str(exc).replace(broker_url, masked)
        raise ExecutorConfigError(
            f"the Celery broker {masked} is unreachable ({type(exc).__name__}: {detail}); start it, or point "
            "execution.executor.broker at a running one",
            key="execution.executor.broker",
        ) from None


def _connection(broker_url: str, **options: Any) -> Any:
    """Return an unopened kombu connection to ``broker_url`` once its transport's client library imports."""
    masked = mask_url(broker_url)
    library = _CLIENT_LIBRARIES.get(_transport_alias(broker_url))
    if library is not None:  # before kombu loads the transport: its module fails to import without the library
        module, package = library
        try:
            importlib.import_module(module)
        except ImportError:
            raise _missing_client(masked, package=package) from None
    # kombu comes with floe-definitions[celery]; imported by name, as the optional executors are.
    connection_class: Any = importlib.import_module("kombu").Connection
    try:
        return connection_class(broker_url, **options)  # imports the transport's module, connects to nothing
    except ImportError as exc:
        raise _missing_client(masked, exc) from None


def _transport_alias(broker_url: str) -> str:
    """Return kombu's transport alias of ``broker_url``: its scheme, or the part before ``+`` (``redis+socket``)."""
    scheme = broker_url.partition("://")[0]
    return scheme.partition("+")[0].lower()


def _missing_client(
    masked_url: str, exc: ImportError | None = None, *, package: str | None = None
) -> ExecutorConfigError:
    name = package or (exc.name.split(".")[0] if exc is not None and exc.name else None)
    if name is None:
        detail = f"a Python package that is not installed ({exc})"
        fix = "install the package it names"
    else:
        detail = f"the Python package {name!r}, which is not installed"
        fix = f"uv add {name} (or pip install {name})"
    if name == "redis":
        fix += "; floe-definitions[celery] installs it"
    return ExecutorConfigError(f"the Celery broker {masked_url} needs {detail}: {fix}", key="execution.executor.broker")
