"""Keep Dagster's DEBUG lines from step processes off ``floe run``'s console.

``floe run`` raises the run's console logger to errors (its progress view replaces Dagster's DEBUG stream), but a
step process of Dagster's multiprocess executor announces itself (``STEP_WORKER_STARTED``) through a log manager
it builds before it reads the run's config: that one logs at DEBUG to the stderr the process inherited, whatever
the run's ``loggers`` say (``dagster._core.execution.context_creation_job.create_context_free_log_manager``), and
there is no setting for it short of the instance's ``python_log_level``, which would also drop DEBUG events from
the event log. So while the run executes, file descriptor 2 (inherited by every step process) is a pipe: a thread
copies it to the real stderr line by line and drops only the lines of Dagster's console format at DEBUG for this
job. Everything else (errors, warnings, a step's own prints, tracebacks) passes through unchanged. Dagster's console
format is an internal: ``_compat.dagster_debug_line_marker`` probes it, and where it differs nothing is filtered.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import uuid
from collections.abc import Iterator

from floe_definitions import _compat

DRAIN_SECONDS = 10.0
"""How long to wait, after the run, for the copier to reach the end marker (every step process has ended by then)."""


@contextlib.contextmanager
def step_debug_lines_dropped(job_name: str) -> Iterator[None]:
    """While the block runs, drop Dagster's DEBUG console lines for ``job_name`` from this process's stderr.

    A no-op where file descriptors cannot be redirected this way (not POSIX), or where Dagster's console format is
    not the one floe recognises (the ``console_debug_format`` probe).
    """
    debug = _compat.dagster_debug_line_marker(job_name) if os.name == "posix" else None
    if debug is None:
        yield
        return
    end = f"floe-run-console-end {uuid.uuid4().hex}\n".encode()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    real_stderr = os.dup(2)
    os.dup2(write_end, 2)
    copier = threading.Thread(
        target=_copy, args=(read_end, real_stderr, debug, end), name="floe-run-console", daemon=True
    )
    copier.start()
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(real_stderr, 2)
        # a long-lived process that inherited the pipe (forkserver's server) may keep it open: end at a marker
        os.write(write_end, end)
        os.close(write_end)
        copier.join(timeout=DRAIN_SECONDS)
        if not copier.is_alive():
            os.close(real_stderr)


def _copy(read_end: int, real_stderr: int, debug: bytes, end: bytes) -> None:
    with os.fdopen(read_end, "rb") as lines:
        for line in lines:
            if line == end:
                return
            if debug not in line:
                with contextlib.suppress(OSError):  # stderr gone: keep draining so no step process blocks on it
                    os.write(real_stderr, line)
