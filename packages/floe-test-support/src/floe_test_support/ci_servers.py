"""Throwaway servers started by the workspace's ``.ci/*.sh`` scripts (what ``.ci/run`` does before the suites)."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
"""The workspace root (this package is never installed from a wheel: it is a workspace member only)."""


@contextlib.contextmanager
def ci_server(script: str, url_var: str, data_var: str) -> Iterator[str]:
    """Start a throwaway server with ``.ci/<script> ``; yield the URL it exports as ``url_var``; stop it.

    Raises:
        RuntimeError: The script could not start the server (its stderr's end says why).
    """
    path = REPO / ".ci" / script
    started = subprocess.run(["bash", str(path)], capture_output=True, text=True, check=False, timeout=600)
    if started.returncode != 0:
        raise RuntimeError(f"{script} could not start a server: {started.stderr.strip()[-300:]}")
    exports = dict(line.removeprefix("export ").split("=", 1) for line in started.stdout.splitlines() if "=" in line)
    try:
        yield exports[url_var]
    finally:
        subprocess.run(["bash", str(path), "stop", exports[data_var]], capture_output=True, check=False, timeout=120)
