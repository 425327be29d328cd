"""The Redis server ``FLOE_TEST_REDIS_URL`` names (``.ci/redis.sh`` starts one), else a throwaway one."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from floe_test_support.ci_servers import ci_server

REDIS_URL_ENV = "FLOE_TEST_REDIS_URL"
SKIP_REASON = f"{REDIS_URL_ENV} is not set (.ci/redis.sh starts a Redis)"


def configured_url() -> str | None:
    """Return the URL ``FLOE_TEST_REDIS_URL`` names, or None when it is unset."""
    return os.environ.get(REDIS_URL_ENV) or None


@contextlib.contextmanager
def throwaway_server() -> Iterator[str]:
    """Start a throwaway Redis on a free 127.0.0.1 port with ``.ci/redis.sh``; yield its URL; stop it.

    Raises:
        RuntimeError: The server could not be started.
    """
    with ci_server("redis.sh", REDIS_URL_ENV, "FLOE_TEST_REDIS_DIR") as url:
        yield url


@contextlib.contextmanager
def configured_or_throwaway_url() -> Iterator[str]:
    """Yield ``FLOE_TEST_REDIS_URL``, else the URL of a throwaway server (stopped after).

    Raises:
        RuntimeError: Neither is possible.
    """
    configured = configured_url()
    if configured:
        yield configured
        return
    with throwaway_server() as url:
        yield url
