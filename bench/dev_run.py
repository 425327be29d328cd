"""``floe run`` beside a running ``floe dev`` against a cold ``floe run`` of the same job (issue 22 item 4).

``.venv/bin/python bench/dev_run.py [--repeat 5]``

Two copies of a project of two tiny Python assets (``first`` -> ``second``, job ``two``, platform defaults: SQLite,
the multiprocess executor with warm steps, floe's warm run launcher). ``floe dev`` serves the first copy on a free
port; the second has none. After one untimed run of each (the first launch through ``floe dev`` starts its warm
process; the first cold run writes bytecode), rounds alternate ``floe run two DEV_COPY`` (launched through the
``floe dev``) and ``floe run two COLD_COPY`` (executed in the ``floe run`` process); each is timed as a user times
it: the whole ``floe run`` process, wall clock. The load average is printed with the figures (2 cores shared).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from floe_test_support.http_endpoints import free_port
from floe_test_support.webserver import code_locations_loaded

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "bench" / ".work" / "dev_run"
FLOE = str(Path(sys.executable).with_name("floe"))
FLOE_YAML = """\
name: devbench
orchestration:
  asset_modules: [.devbench_assets.assets]
  jobs:
    two: {type: batch, selection: ["*"]}
"""
ASSETS = """\
from dagster import asset


@asset
def first() -> int:
    return 1


@asset
def second(first: int) -> int:
    return first + 1
"""


def _project(root: Path) -> Path:
    (root / "devbench_assets").mkdir(parents=True)
    (root / "floe.yaml").write_text(FLOE_YAML)
    (root / "devbench_assets" / "__init__.py").write_text("")
    (root / "devbench_assets" / "assets.py").write_text(ASSETS)
    return root


def _floe_run(project: Path, env: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    completed = subprocess.run(
        [FLOE, "run", "two", str(project)], env=env, capture_output=True, text=True, timeout=900, check=False
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"floe run failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr[-3000:]}")
    return seconds, completed.stdout


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if WORK.exists():
        shutil.rmtree(WORK)
    dev_copy, cold_copy = _project(WORK / "dev"), _project(WORK / "cold")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOE_", "DAGSTER_", "OTEL_", "OPENLINEAGE"))}
    port = free_port()
    log = (WORK / "floe-dev.log").open("w")
    dev = subprocess.Popen(
        [FLOE, "dev", str(dev_copy), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        while not code_locations_loaded(port):
            if dev.poll() is not None:
                raise SystemExit(f"floe dev exited: {(WORK / 'floe-dev.log').read_text()[-3000:]}")
            time.sleep(1)
        first_dev, out = _floe_run(dev_copy, env)
        if "through the floe dev" not in out:
            raise SystemExit(f"the run did not go through floe dev:\n{out}")
        first_cold, _ = _floe_run(cold_copy, env)
        print(
            f"untimed first runs: through floe dev {first_dev:.2f} s (starts the warm process), cold {first_cold:.2f} s"
        )
        dev_times: list[float] = []
        cold_times: list[float] = []
        for round_number in range(1, args.repeat + 1):
            seconds, out = _floe_run(dev_copy, env)
            assert "through the floe dev" in out, out
            dev_times.append(seconds)
            seconds, out = _floe_run(cold_copy, env)
            assert "through the floe dev" not in out, out
            cold_times.append(seconds)
            print(
                f"round {round_number}: through floe dev {dev_times[-1]:.2f} s, cold {cold_times[-1]:.2f} s "
                f"(load average {_load()})",
                flush=True,
            )
    finally:
        dev.send_signal(signal.SIGTERM)
        try:
            dev.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGKILL)
        log.close()
    dev_median, cold_median = statistics.median(dev_times), statistics.median(cold_times)
    print("| side | median | min-max |\n|---|---|---|")
    print(f"| `floe run two` beside `floe dev` | {dev_median:.2f} s | {min(dev_times):.2f}-{max(dev_times):.2f} s |")
    print(f"| `floe run two`, cold | {cold_median:.2f} s | {min(cold_times):.2f}-{max(cold_times):.2f} s |")
    print(f"through floe dev / cold: {dev_median / cold_median:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
