"""Real dagster-celery workers for a floe project, started the way a deployment starts them and stopped afterwards.

Each worker is ``dagster-celery worker start`` with the ``celery-worker.yaml`` that ``floe instance --write`` rendered
under the project's ``.floe/dagster``, one pool process unless asked (``--concurrency``), on the ``dagster`` queue, in
a process group of its own (a test may kill the whole group) and logging to ``<root>/<name>.log``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

BIN = Path(sys.executable).parent
"""The venv's scripts (``dagster-celery``, ``floe``), whether or not the venv is activated."""
READY_GUARD_SECONDS = 300
"""A hang guard, not a timing: a worker not ready after it fails the test."""


def worker_log(root: Path, name: str) -> Path:
    """The log file of the worker ``name`` started for the project at ``root``."""
    return root / f"{name}.log"


@contextlib.contextmanager
def celery_workers(
    root: Path, env: Mapping[str, str], names: Sequence[str], concurrency: int = 1
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Start one worker per name, yield them once every one logged ``ready.``, and stop them all on exit.

    Args:
        root: The project (its ``.floe/dagster/celery-worker.yaml`` must exist: run ``floe instance --write`` first).
        env: The workers' environment (the broker, ``DAGSTER_HOME``, a ``PATH`` with :data:`BIN` first: dagster-celery
            starts the ``celery`` command by name).
        names: The workers' Celery names (``-n``).
        concurrency: Pool processes per worker (``--concurrency``).

    Raises:
        AssertionError: A worker exited, or was not ready within :data:`READY_GUARD_SECONDS`; its log's end is shown.
    """
    config = root / ".floe" / "dagster" / "celery-worker.yaml"
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for name in names:
            with worker_log(root, name).open("wb") as log:
                workers.append(
                    subprocess.Popen(
                        [
                            *(str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app"),
                            *("-y", str(config), "-n", name, "-q", "dagster", "--", f"--concurrency={concurrency}"),
                        ],
                        cwd=root,
                        env=dict(env),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        deadline = time.monotonic() + READY_GUARD_SECONDS
        for name, worker in zip(names, workers, strict=True):
            while "ready." not in (log_text := worker_log(root, name).read_text(errors="replace")):
                assert worker.poll() is None, f"the Celery worker {name} exited:\n{log_text[-3000:]}"
                assert time.monotonic() < deadline, (
                    f"the Celery worker {name} did not become ready:\n{log_text[-3000:]}"
                )
                time.sleep(0.5)
        yield workers
    finally:
        for worker in workers:
            _stop(worker)


def _stop(worker: subprocess.Popen[bytes]) -> None:
    """Stop a worker's process group: SIGTERM, up to a minute to finish, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        worker.wait(timeout=60)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGKILL)
    worker.wait()
