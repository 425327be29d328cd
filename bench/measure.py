"""Time whole subprocesses from outside and summarise repeated measurements.

Each measurement is one child process: wall time from ``perf_counter`` around it, CPU time and peak RSS from
``os.wait4`` (the child's own rusage, which folds in its waited-for descendants — so a dagster-dbt run's peak is
the largest process of its tree, the Dagster process or the dbt subprocess). Repeats are summarised by medians,
because the machine is shared and noisy.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workloads import RESULT_PREFIX


@dataclass(frozen=True)
class Measurement:
    """One timed child process."""

    wall_s: float
    cpu_s: float
    peak_mib: float
    returncode: int
    log_path: Path
    result: dict[str, Any]

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def log_tail(self, lines: int = 12) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])


def run_measured(
    cmd: Sequence[str], *, log_path: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Measurement:
    """Run ``cmd`` to completion with output to ``log_path``; return its wall time, CPU, peak RSS and result."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(list(cmd), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
    returncode = os.waitstatus_to_exitcode(status)
    proc.returncode = returncode  # reaped by wait4: tell Popen so it does not try again
    result: dict[str, Any] = {}
    for line in log_path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
    return Measurement(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_mib=usage.ru_maxrss / 1024,  # KiB on Linux
        returncode=returncode,
        log_path=log_path,
        result=result,
    )


@dataclass
class Series:
    """Repeated measurements of one case."""

    label: str
    runs: list[Measurement] = field(default_factory=list)
    note: str = ""

    @property
    def ok_runs(self) -> list[Measurement]:
        return [m for m in self.runs if m.ok]

    def median(self, attr: str = "wall_s") -> float | None:
        values = [getattr(m, attr) for m in self.ok_runs]
        return statistics.median(values) if values else None

    def result_median(self, key: str) -> float | None:
        values = [m.result[key] for m in self.ok_runs if isinstance(m.result.get(key), int | float)]
        return statistics.median(values) if values else None

    def spread(self, attr: str = "wall_s") -> tuple[float, float] | None:
        values = [getattr(m, attr) for m in self.ok_runs]
        return (min(values), max(values)) if values else None


def ratio(numerator: float | None, denominator: float | None) -> str:
    """Format ``numerator / denominator`` as ``1.23x``, or ``-`` when either is missing."""
    if numerator is None or denominator is None or denominator == 0:
        return "-"
    return f"{numerator / denominator:.2f}x"


def seconds(value: float | None) -> str:
    return "-" if value is None or value != value else f"{value:.2f}"  # NaN: not measured


def spread_text(series: Series, attr: str = "wall_s") -> str:
    found = series.spread(attr)
    return "-" if found is None else f"{found[0]:.2f}-{found[1]:.2f}"


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]], notes: Sequence[str] = ()) -> None:
    """Print a plain-text table with a title and notes."""
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    line = "  ".join("-" * w for w in widths)
    print()
    print(title)
    print(line)
    print("  ".join(str(h).ljust(w) for h, w in zip(headers, widths, strict=True)))
    print(line)
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    print(line)
    for note in notes:
        print(f"  {note}")
    print(flush=True)
