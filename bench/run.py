"""floe benchmarks: whole processes timed from outside, medians over repeats, ratios against baselines in the same run.

Usage: ``python bench/run.py [load] [run] [scale] [config] [file_watcher] [lineage] [otlp] [latency] [celery]
[--repeat K] [--sizes N,...] [--large] [--cases sample,demo,100,1000] [--memory-runs N]`` (no name = all).
``nox -s bench -- load`` runs one.
Generated inputs are cached under bench/.work/ (dbt projects parsed once per size, the 100,000-file directory); logs
of every measured process go to
bench/.work/logs/<stamp>/ and a JSON record of the session to bench/.work/results/.

floe sides skip, with the reason printed, until the package they measure exposes the assumed API (see README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from file_watcher_fixture import ensure_fixture
from generate_dbt_project import WORK_DIR, BenchProject, dbt_executable, ensure_project
from generate_floe_yaml import generate_floe_yaml
from lineage_endpoints import EVENTS_PER_RUN, LINEAGE_WORK, lineage_cases, otlp_cases
from lineage_endpoints import ensure_project as ensure_lineage_project
from measure import Measurement, Series, print_table, ratio, run_measured, seconds, spread_text
from workloads import FILE_WATCHER_BUILDER_NAMES

BENCH_DIR = Path(__file__).resolve().parent
WORKLOADS = BENCH_DIR / "workloads.py"
BENCHMARKS = (
    "load",
    "run",
    "scale",
    "telemetry",
    "config",
    "file_watcher",
    "lineage",
    "otlp",
    "latency",
    "celery",
    "events",
)
DEFAULT_REPEAT = {
    "load": 3,
    "run": 3,
    "scale": 1,
    "telemetry": 3,
    "config": 15,
    "file_watcher": 5,
    "lineage": 3,
    "otlp": 3,
}
POSTGRES_BENCH_ENV = "FLOE_BENCH_POSTGRES_URL"
"""A PostgreSQL server's URL, for the benchmarks' PostgreSQL cases (events, latency --launched-storage postgres)."""
# latency's repeats are per case (latency.DEFAULT_REPEAT: 3, and 1 at 1,000 models) unless --repeat says otherwise
DEFAULT_SIZES = {"load": [1000, 5000], "run": [500], "scale": [100, 1000, 2000], "telemetry": [1000]}
# Running every benchmark stops scale at 1,000 so the whole session stays near 20 minutes on 2 cores.
ALL_SESSION_SCALE_SIZES = [100, 1000]
LARGE_SIZE = 5000
FLOE_DBT_NOT_BUILT = "floe-dbt-observe not built yet (floe_dbt_observe.build_dbt_assets missing)"


@dataclass
class Context:
    """What every benchmark needs: options, where logs go, and what the session found."""

    repeat: int | None
    sizes: list[int] | None
    large: bool
    plain_max: int | None
    all_session: bool
    logs_dir: Path
    latency_cases: list[str] | None = None
    memory_runs: int = 0
    launched_executor: str = "multiprocess"
    latency_sides: list[str] | None = None
    launched_postgres_url: str | None = None
    record: dict[str, Any] = field(default_factory=dict)
    baseline_failures: list[str] = field(default_factory=list)
    _probes: dict[str, str | None] = field(default_factory=dict)

    def repeats(self, bench: str) -> int:
        return self.repeat if self.repeat is not None else DEFAULT_REPEAT[bench]

    def python(self) -> str:
        return sys.executable

    def probe(self, key: str, code: str) -> str | None:
        """Run ``code`` in a fresh interpreter once; return None if it printed OK, else why not (cached)."""
        if key not in self._probes:
            proc = subprocess.run(
                [self.python(), "-c", code], capture_output=True, text=True, env=child_env(), check=False
            )
            out = proc.stdout.strip().splitlines()
            if proc.returncode == 0 and out and out[-1] == "OK":
                self._probes[key] = None
            else:
                detail = (out[-1] if out else "") or (proc.stderr.strip().splitlines() or ["?"])[-1]
                self._probes[key] = detail
        return self._probes[key]

    def floe_dbt_skip_reason(self) -> str | None:
        found = self.probe(
            "floe_dbt_observe",
            "import floe_dbt_observe as m\nprint('OK' if callable(getattr(m, 'build_dbt_assets', None)) else 'no')",
        )
        return None if found is None else FLOE_DBT_NOT_BUILT

    def measure(
        self, bench: str, label: str, index: int, cmd: Sequence[str], *, env: dict[str, str], cwd: Path | None = None
    ) -> Measurement:
        slug = "".join(c if c.isalnum() else "-" for c in label).strip("-")
        log_path = self.logs_dir / bench / f"{slug}-{index}.log"
        print(f"    {label} #{index + 1} ...", end=" ", flush=True)
        m = run_measured(cmd, log_path=log_path, env=env, cwd=cwd)
        status = "" if m.ok else f"  FAILED (exit {m.returncode}; log {log_path})"
        print(f"{m.wall_s:.2f} s, {m.peak_mib:.0f} MiB{status}", flush=True)
        if not m.ok:
            print("      | " + m.log_tail().replace("\n", "\n      | "), flush=True)
        return m


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "DAGSTER_DISABLE_TELEMETRY": "yes", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    env.update(extra or {})
    return env


def series_json(series: Series) -> dict[str, Any]:
    return {
        "label": series.label,
        "note": series.note,
        "runs": [
            {"wall_s": m.wall_s, "cpu_s": m.cpu_s, "peak_mib": m.peak_mib, "returncode": m.returncode, **m.result}
            for m in series.runs
        ],
    }


def note_failure(series: Series) -> None:
    """Put a failed case's exit code and log on its note, so the table says why it has no figure."""
    failed = [m for m in series.runs if not m.ok]
    if failed:
        text = f"FAILED (exit {failed[0].returncode}; log {failed[0].log_path})"
        series.note = f"{series.note}; {text}" if series.note else text


def repeat_interleaved(
    ctx: Context, bench: str, cases: list[tuple[Series, Callable[[int], Measurement]]], repeats: int
) -> None:
    """Measure every case ``repeats`` times, interleaved and alternating (ABC CBA ...) so neither drift nor going
    first favours a case; stop measuring a case at its first failure."""
    failed: set[str] = set()
    for index in range(repeats):
        for series, measure_once in cases if index % 2 == 0 else reversed(cases):
            if series.label in failed:
                continue
            m = measure_once(index)
            series.runs.append(m)
            if not m.ok:
                failed.add(series.label)
    for series, _ in cases:
        note_failure(series)


# --- dbt runs (run, scale) -----------------------------------------------------------------------------------------


def reset_run_state(project: BenchProject) -> None:
    """Give every run the same start: no DuckDB file, no per-invocation target folders left by earlier runs."""
    for path in (project.duckdb_path, project.duckdb_path.with_name(project.duckdb_path.name + ".wal")):
        path.unlink(missing_ok=True)
    target = project.project_dir / "target"
    for child in target.iterdir():
        if child.is_dir():
            shutil.rmtree(child)


def raw_cli_measure(ctx: Context, bench: str, project: BenchProject, label: str) -> Callable[[int], Measurement]:
    def once(index: int) -> Measurement:
        reset_run_state(project)
        # Same as dagster-dbt does: a fresh target path primed with partial_parse.msgpack, so neither side re-parses.
        target = WORK_DIR / "tmp" / f"raw-target-n{project.shape.models}"
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        shutil.copy(project.project_dir / "target" / "partial_parse.msgpack", target / "partial_parse.msgpack")
        cmd = [
            str(dbt_executable()),
            "build",
            "--project-dir",
            str(project.project_dir),
            "--profiles-dir",
            str(project.project_dir),
            "--target-path",
            str(target),
            "--log-path",
            str(target),
        ]
        return ctx.measure(bench, label, index, cmd, env=project.dbt_env() | child_env(), cwd=project.project_dir)

    return once


def dagster_run_measure(
    ctx: Context, bench: str, project: BenchProject, label: str, side: str
) -> Callable[[int], Measurement]:
    def once(index: int) -> Measurement:
        reset_run_state(project)
        out_dir = WORK_DIR / "tmp" / f"{side}-out-n{project.shape.models}-{index}"
        if out_dir.exists():
            shutil.rmtree(out_dir)
        cmd = [ctx.python(), str(WORKLOADS), f"run-{side}", str(project.project_dir), str(out_dir)]
        return ctx.measure(bench, label, index, cmd, env=project.dbt_env() | child_env(), cwd=project.project_dir)

    return once


def check_run(series: Series, project: BenchProject) -> None:
    """Note on the series when a Dagster run did not do all the work (success, materializations, checks)."""
    shape = project.shape
    expected = shape.models + shape.seeds
    problems = []
    for m in series.ok_runs:
        if not m.result.get("success", False):
            problems.append("run not successful")
        if m.result.get("materializations") != expected:
            problems.append(f"{m.result.get('materializations')} materializations, expected {expected}")
        if m.result.get("check_evaluations") != shape.tests:
            problems.append(f"{m.result.get('check_evaluations')} check results, expected {shape.tests}")
    if problems:
        text = "; ".join(sorted(set(problems)))
        series.note = f"{series.note}; {text}" if series.note else text


def measure_dbt_runs(ctx: Context, bench: str, n: int, repeats: int) -> tuple[Series, Series, Series]:
    """Measure raw CLI, plain dagster-dbt and floe builds of the ``n``-model project."""
    project = ensure_project(n)
    raw, plain, floe = Series("raw dbt build CLI"), Series("plain dagster-dbt"), Series("floe (spans + lineage)")
    cases: list[tuple[Series, Callable[[int], Measurement]]] = [
        (raw, raw_cli_measure(ctx, bench, project, f"{n} raw CLI")),
    ]
    if ctx.plain_max is not None and n > ctx.plain_max:
        plain.note = f"skipped: {n} > --plain-max {ctx.plain_max}"
    else:
        cases.append((plain, dagster_run_measure(ctx, bench, project, f"{n} plain dagster-dbt", "plain")))
    skip = ctx.floe_dbt_skip_reason()
    if skip is None:
        cases.append((floe, dagster_run_measure(ctx, bench, project, f"{n} floe", "floe")))
    else:
        floe.note = "skipped: " + skip
    print(f"  {n:,} models ({project.shape.tests} tests, {project.shape.seeds} seeds), {repeats} repeat(s):")
    repeat_interleaved(ctx, bench, cases, repeats)
    reset_run_state(project)
    for series in (plain, floe):
        if series.runs:
            check_run(series, project)
    if plain.runs and not plain.ok_runs:
        ctx.baseline_failures.append(f"{bench}: plain dagster-dbt at {n}")
    if raw.runs and not raw.ok_runs:
        ctx.baseline_failures.append(f"{bench}: raw dbt CLI at {n}")
    if floe.ok_runs:
        spans, events = floe.result_median("spans"), floe.result_median("lineage_events")
        floe.note = (floe.note + "; " if floe.note else "") + f"spans {spans:.0f}, lineage events {events:.0f}"
    return raw, plain, floe


def bench_run(ctx: Context) -> None:
    repeats = ctx.repeats("run")
    for n in ctx.sizes or DEFAULT_SIZES["run"]:
        raw, plain, floe = measure_dbt_runs(ctx, "run", n, repeats)
        raw_m, plain_m, floe_m = raw.median(), plain.median(), floe.median()
        rows = []
        for series in (raw, plain, floe):
            med = series.median()
            rows.append(
                [
                    series.label,
                    seconds(med),
                    spread_text(series),
                    seconds(series.median("cpu_s")),
                    seconds(series.median("peak_mib")),
                    ratio(med, raw_m),
                    ratio(med, plain_m) if series is floe else "",
                    series.note,
                ]
            )
        print_table(
            f"run: full `dbt build` of {n:,} models, whole process, median of {repeats}",
            ["case", "median s", "min-max s", "CPU s", "peak MiB", "/ raw CLI", "/ plain", "notes"],
            rows,
            [
                f"floe / plain dagster-dbt = {ratio(floe_m, plain_m)} (target <= 1.05x); "
                f"plain / raw CLI = {ratio(plain_m, raw_m)}; floe / raw CLI = {ratio(floe_m, raw_m)}",
                "CPU s = user+sys of the whole process tree (the Dagster process and its dbt subprocess).",
            ],
        )
        ctx.record.setdefault("run", []).append({"models": n, "series": [series_json(s) for s in (raw, plain, floe)]})


def bench_telemetry(ctx: Context) -> None:
    """floe with telemetry on (spans + lineage, warehouse columns read after the run) against floe with it off."""
    repeats = ctx.repeats("telemetry")
    skip = ctx.floe_dbt_skip_reason()
    if skip is not None:
        print(f"  skipped: {skip}")
        return
    for n in ctx.sizes or DEFAULT_SIZES["telemetry"]:
        project = ensure_project(n)
        raw, off, on = Series("raw dbt build CLI"), Series("floe, telemetry off"), Series("floe (spans + lineage)")
        cases: list[tuple[Series, Callable[[int], Measurement]]] = [
            (raw, raw_cli_measure(ctx, "telemetry", project, f"{n} raw CLI")),
            (off, dagster_run_measure(ctx, "telemetry", project, f"{n} floe off", "floe-off")),
            (on, dagster_run_measure(ctx, "telemetry", project, f"{n} floe on", "floe")),
        ]
        print(f"  {n:,} models ({project.shape.tests} tests, {project.shape.seeds} seeds), {repeats} repeat(s):")
        repeat_interleaved(ctx, "telemetry", cases, repeats)
        reset_run_state(project)
        for series in (off, on):
            if series.runs:
                check_run(series, project)
        raw_m, off_m, on_m = raw.median(), off.median(), on.median()
        rows = [
            [
                series.label,
                seconds(series.median()),
                spread_text(series),
                seconds(series.median("cpu_s")),
                ratio(series.median(), raw_m),
                ratio(series.median(), off_m) if series is on else "",
                series.note,
            ]
            for series in (raw, off, on)
        ]
        print_table(
            f"telemetry: full `dbt build` of {n:,} models through floe, on vs off, whole process, median of {repeats}",
            ["case", "median s", "min-max s", "CPU s", "/ raw CLI", "/ off", "notes"],
            rows,
            [
                f"floe on / off = {ratio(on_m, off_m)} wall, "
                f"{ratio(on.median('cpu_s'), off.median('cpu_s'))} CPU (target: within noise)",
                "on: spans to a JSON-lines file via the OTel SDK, OpenLineage file transport, column lineage and the "
                "warehouse's columns read after each step; off: the same assets with no tracer provider or client.",
            ],
        )
        ctx.record.setdefault("telemetry", []).append({"models": n, "series": [series_json(s) for s in (raw, off, on)]})


# Measured by issue 7 on this machine for plain dagster-dbt, cited when a size skips it (--plain-max).
ISSUE_PLAIN_FIGURES = {
    2000: "issue 7: ~10 min (its per-output bookkeeping ~N^2.6)",
    5000: "issue 7: ~1 h, extrapolated",
}


def per_model_ms(series: Series, n: int) -> str:
    """Median wall time per model in ms (the curve that must stay flat for linear cost)."""
    med = series.median()
    return "-" if med is None else f"{1000 * med / n:.0f}"


def bench_scale(ctx: Context) -> None:
    repeats = ctx.repeats("scale")
    if ctx.sizes:
        sizes = ctx.sizes
    elif ctx.all_session:
        sizes = list(ALL_SESSION_SCALE_SIZES)
    else:
        sizes = list(DEFAULT_SIZES["scale"])
    if ctx.large and LARGE_SIZE not in sizes:
        sizes.append(LARGE_SIZE)
    notes = []
    if ctx.repeat is None:
        notes.append("repeat 1 by default for scale (each size is minutes of dbt); pass --repeat K for medians.")
    if ctx.all_session and not ctx.sizes:
        notes.append("all-benchmarks session: scale stops at 1,000 models; `-- scale` runs 100/1,000/2,000.")
    print(f"  sizes {sizes}, {repeats} repeat(s)" + ("".join(f"\n  note: {n}" for n in notes)))
    rows = []
    for n in sizes:
        raw, plain, floe = measure_dbt_runs(ctx, "scale", n, repeats)
        raw_m, plain_m, floe_m = raw.median(), plain.median(), floe.median()
        if not plain.runs and n in ISSUE_PLAIN_FIGURES:
            plain.note = f"{plain.note} ({ISSUE_PLAIN_FIGURES[n]})"
        rows.append(
            [
                f"{n:,}",
                seconds(raw_m),
                seconds(plain_m),
                seconds(floe_m),
                ratio(plain_m, raw_m),
                ratio(floe_m, raw_m),
                ratio(floe_m, plain_m),
                "/".join(per_model_ms(s, n) for s in (raw, floe)),
                "/".join(seconds(s.median("peak_mib")).split(".")[0] for s in (raw, plain, floe)),
                "/".join(seconds(s.result_median("self_peak_mib")).split(".")[0] for s in (plain, floe)),
                "/".join(seconds(s.median("cpu_s")).split(".")[0] for s in (raw, plain, floe)),
                "; ".join(f"{s.label}: {s.note}" for s in (plain, floe) if s.note),
            ]
        )
        ctx.record.setdefault("scale", []).append({"models": n, "series": [series_json(s) for s in (raw, plain, floe)]})
    print_table(
        f"scale: full `dbt build`, whole process, median of {repeats}",
        [
            "models",
            "raw CLI s",
            "plain s",
            "floe s",
            "plain/raw",
            "floe/raw",
            "floe/plain",
            "ms/model raw/floe",
            "peak MiB raw/plain/floe",
            "Dagster MiB plain/floe",
            "CPU s raw/plain/floe",
            "notes",
        ],
        rows,
        [
            *notes,
            "targets (issue 7): floe <= 1.3x raw CLI at 2,000 models, <= 1.5x at 5,000; per-model cost linear "
            "(ms/model flat or falling as fixed costs amortise).",
            "peak MiB is the largest process of the tree (the Dagster process or its dbt subprocess); "
            "Dagster MiB is the Dagster process alone.",
        ],
    )


# --- load ----------------------------------------------------------------------------------------------------------


def bench_load(ctx: Context) -> None:
    repeats = ctx.repeats("load")
    skip = ctx.floe_dbt_skip_reason()
    if skip:
        print(f"  {skip}: measuring plain dagster-dbt only")
    rows = []
    for n in ctx.sizes or DEFAULT_SIZES["load"]:
        project = ensure_project(n)
        env, cwd = project.dbt_env() | child_env(), project.project_dir
        plain, floe = Series("plain dagster-dbt"), Series("floe")
        cases: list[tuple[Series, Callable[[int], Measurement]]] = []
        for series, side in ((plain, "plain"), (floe, "floe")):
            if side == "floe" and skip:
                floe.note = "skipped: " + skip
                continue
            cmd = [ctx.python(), str(WORKLOADS), f"load-{side}", str(project.project_dir)]
            label = f"{n} {side}"

            def once(
                index: int, cmd: list[str] = cmd, label: str = label, env: dict[str, str] = env, cwd: Path = cwd
            ) -> Measurement:
                return ctx.measure("load", label, index, cmd, env=env, cwd=cwd)

            cases.append((series, once))
        print(f"  {n:,} models, {repeats} repeat(s):")
        repeat_interleaved(ctx, "load", cases, repeats)
        if plain.runs and not plain.ok_runs:
            ctx.baseline_failures.append(f"load: plain dagster-dbt at {n}")
        for series in (plain, floe):
            rows.append(
                [
                    f"{n:,}",
                    series.label,
                    seconds(series.median()),
                    spread_text(series),
                    seconds(series.median("cpu_s")),
                    seconds(series.median("peak_mib")),
                    ratio(series.median(), plain.median()) if series is floe else "",
                    _fmt_count(series.result_median("materializable_assets")),
                    _fmt_count(series.result_median("asset_checks")),
                    _fmt_count(series.result_median("assets_definitions")),
                    series.note,
                ]
            )
        ctx.record.setdefault("load", []).append({"models": n, "series": [series_json(s) for s in (plain, floe)]})
    print_table(
        "load: import + build Definitions + resolve asset graph + validate_loadable, whole process, "
        f"median of {repeats}",
        [
            "models",
            "case",
            "median s",
            "min-max s",
            "CPU s",
            "peak MiB",
            "floe/plain",
            "assets",
            "checks",
            "defs",
            "notes",
        ],
        rows,
        ["target (issue 4/7): floe <= 1.00x plain dagster-dbt at 1,000 and 5,000 models."],
    )


def _fmt_count(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


# --- config --------------------------------------------------------------------------------------------------------


def floe_config_command(ctx: Context) -> list[str]:
    script = Path(ctx.python()).parent / "floe-config"
    return [str(script)] if script.exists() else [ctx.python(), "-m", "floe_config.cli"]


def compile_floe_config(ctx: Context) -> None:
    """Write floe-config's bytecode before timing it, as installing a wheel does.

    The workspace installs floe-config editable, and with ``PYTHONDONTWRITEBYTECODE`` set (CI images, these
    machines) nothing writes its ``__pycache__``: every ``floe-config`` process compiled its modules again (~45 ms
    of a ~170 ms command), which no user installing the package pays. A non-editable install is already compiled.
    """
    code = "import compileall, os, floe_config; compileall.compile_dir(os.path.dirname(floe_config.__file__), quiet=1)"
    subprocess.run([ctx.python(), "-c", code], check=True, env=child_env())


ONE_MODEL = "\n".join(
    [
        "import gc",
        "gc.disable()",
        "import yaml",
        "from pydantic import BaseModel, Field",
        "class M(BaseModel):",
        "    a: int = Field(1, ge=0)",
        "M(a=1)",
    ]
)
"""The smallest process that validates with a pydantic model (gc off, as ``floe-config``'s console script has it):
what any pydantic-based ``validate`` pays before its own models, a floor under the target."""


def bench_config(ctx: Context) -> None:
    repeats = ctx.repeats("config")
    out_dir = WORK_DIR / "config"
    counts = generate_floe_yaml(out_dir)
    floe_yaml = out_dir / "floe.yaml"
    print(f"  {floe_yaml}: {counts['total']} entities {counts}")
    floor, validate = Series('python -c "import pydantic, yaml"'), Series("floe-config validate")
    one_model = Series("one pydantic model (ONE_MODEL)")
    cases: list[tuple[Series, Callable[[int], Measurement]]] = []
    env = child_env()
    floor_cmd = [ctx.python(), "-c", "import pydantic, yaml"]
    cases.append((floor, lambda i: ctx.measure("config", "floor", i, floor_cmd, env=env, cwd=out_dir)))
    one_model_cmd = [ctx.python(), "-c", ONE_MODEL]
    cases.append((one_model, lambda i: ctx.measure("config", "one_model", i, one_model_cmd, env=env, cwd=out_dir)))
    skip = ctx.probe("floe_config.cli", "import floe_config.cli as m; print('OK' if callable(m.main) else 'no main')")
    if skip is None:
        compile_floe_config(ctx)
        cmd = [*floe_config_command(ctx), "validate", str(floe_yaml)]
        cases.append((validate, lambda i: ctx.measure("config", "validate", i, cmd, env=env, cwd=out_dir)))
    else:
        validate.note = f"skipped: floe-config CLI not built yet (floe_config.cli: {skip})"
    repeat_interleaved(ctx, "config", cases, repeats)
    if validate.runs and not validate.ok_runs:
        validate.note = f"validate failed on the generated floe.yaml (see {validate.runs[-1].log_path})"
    if floor.runs and not floor.ok_runs:
        ctx.baseline_failures.append("config: floor")

    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value * 1000:.0f}"

    def ms_spread(series: Series) -> str:
        found = series.spread()
        return "-" if found is None else f"{ms(found[0])}-{ms(found[1])}"

    rows = [
        [
            s.label,
            ms(s.median()),
            ms_spread(s),
            ratio(s.median(), floor.median()),
            ms(s.median("cpu_s")),
            ratio(s.median("cpu_s"), floor.median("cpu_s")),
            seconds(s.median("peak_mib")),
            s.note,
        ]
        for s in (floor, one_model, validate)
    ]
    print_table(
        f"config: whole-process validation of a {counts['total']}-entity floe.yaml, median of {repeats} interleaved",
        ["case", "median ms", "min-max ms", "/ floor", "CPU ms", "CPU / floor", "peak MiB", "notes"],
        rows,
        ["target (issue 25): floe-config validate < 2x the floor."],
    )
    ctx.record["config"] = {"entities": counts, "series": [series_json(s) for s in (floor, one_model, validate)]}


# --- file_watcher --------------------------------------------------------------------------------------------------


def bench_file_watcher(ctx: Context) -> None:
    repeats = ctx.repeats("file_watcher")
    names = ", ".join(FILE_WATCHER_BUILDER_NAMES)
    code = (
        "import floe_loaders.integration as m\n"
        f"print('OK' if any(callable(getattr(m, n, None)) for n in {FILE_WATCHER_BUILDER_NAMES!r}) else 'missing')"
    )
    skip = ctx.probe("floe_loaders.integration", code)
    directory = ensure_fixture(100_000)
    series = Series("file_watcher sensor tick, 100,000 files")
    if skip is not None:
        series.note = f"skipped: floe-loaders file-watcher sensor not built yet (looked for {names} in its module)"
    else:
        cmd = [ctx.python(), str(WORKLOADS), "file-watcher-tick", str(directory), "--new-files", "10"]
        repeat_interleaved(
            ctx,
            "file_watcher",
            [(series, lambda i: ctx.measure("file_watcher", "tick", i, cmd, env=child_env(), cwd=WORK_DIR))],
            repeats,
        )
        skipped = [m.result["skipped"] for m in series.ok_runs if "skipped" in m.result]
        if skipped:
            series.note = "skipped: " + skipped[0]
    rows = [
        ["first tick (no cursor: 90,000 matching files all new)", seconds(series.result_median("first_tick_seconds")),
         _fmt_count(series.result_median("first_tick_run_requests"))],
        ["tick after 10 new files (cursor has seen the rest)", seconds(series.result_median("new_files_tick_seconds")),
         _fmt_count(series.result_median("new_files_tick_run_requests"))],
        ["idle tick (nothing new)", seconds(series.result_median("idle_tick_seconds")),
         _fmt_count(series.result_median("idle_tick_run_requests"))],
        ["whole process (imports, priming tick, three timed ticks)", seconds(series.median()), ""],
    ]  # fmt: skip
    print_table(
        f"file_watcher: one sensor tick over {directory} (100,000 files), in-process timing, median of {repeats}",
        ["case", "median s", "run requests"],
        rows,
        [n for n in [series.note, "target (issue 3): a tick < 2 s."] if n],
    )
    ctx.record["file_watcher"] = series_json(series)


# --- lineage -------------------------------------------------------------------------------------------------------

LINEAGE_RUNS_PER_PROCESS = 2


def _added(series: Series, baseline: Series, key: str) -> str:
    value, base = series.result_median(key), baseline.result_median(key)
    return "-" if value is None or base is None else f"{value - base:+.2f}"


def _added_wall(series: Series, baseline: Series) -> str:
    value, base = series.median(), baseline.median()
    return "-" if value is None or base is None else f"{value - base:+.2f}"


def _lineage_notes(series: Series) -> str:
    problems = set()
    for m in series.ok_runs:
        for run in range(1, LINEAGE_RUNS_PER_PROCESS + 1):
            if not m.result.get(f"run{run}_success", False):
                problems.add(f"run {run} not successful")
            if m.result.get(f"run{run}_materializations") != 3:
                problems.add(f"run {run}: {m.result.get(f'run{run}_materializations')} materializations, expected 3")
    return "; ".join(sorted(problems) + ([series.note] if series.note else []))


def _measure_backends(ctx: Context, name: str, cases: Sequence[Any], baseline: str) -> list[Series] | None:
    """Run the fault project against each backend case (the first is the baseline), interleaved, ``repeats`` times."""
    repeats = ctx.repeats(name)
    project = ensure_lineage_project()
    warehouse = LINEAGE_WORK / "warehouse.duckdb"
    cmd = [ctx.python(), str(WORKLOADS), "lineage-run", str(project), "--runs", str(LINEAGE_RUNS_PER_PROCESS)]

    def env(platform: Path) -> dict[str, str]:
        return child_env({"FLOE_TEST_WAREHOUSE": str(warehouse), "FLOE_PLATFORM_FILE": str(platform)})

    # Not measured: parses the dbt project (manifest) once and warms the page cache.
    warm = ctx.measure(name, "warm-up (not measured)", 0, cmd, env=env(cases[0].platform), cwd=project)
    if not warm.ok:
        ctx.baseline_failures.append(f"{name}: warm-up run with {baseline}")
        return None
    series = [Series(case.label) for case in cases]
    measured: list[tuple[Series, Callable[[int], Measurement]]] = []
    for case, one in zip(cases, series, strict=True):

        def once(index: int, label: str = case.label, platform: Path = case.platform) -> Measurement:
            return ctx.measure(name, label, index, cmd, env=env(platform), cwd=project)

        measured.append((one, once))
    print(f"  {len(cases)} cases, {repeats} repeat(s), {LINEAGE_RUNS_PER_PROCESS} runs per process:")
    repeat_interleaved(ctx, name, measured, repeats)
    if not series[0].ok_runs:
        ctx.baseline_failures.append(f"{name}: {baseline}")
    return series


def _backend_rows(series: list[Series], undelivered_key: str) -> list[list[str]]:
    """One table row per backend: run 1, run 2 and whole-process seconds, each with its added time vs the first."""
    off = series[0]
    return [
        [
            one.label,
            seconds(one.result_median("run1_seconds")),
            _added(one, off, "run1_seconds"),
            seconds(one.result_median("run2_seconds")),
            _added(one, off, "run2_seconds"),
            seconds(one.median()),
            _added_wall(one, off),
            "/".join(_fmt_count(one.result_median(f"run{r}_{undelivered_key}")) for r in (1, 2)),
            _lineage_notes(one),
        ]
        for one in series
    ]


def bench_lineage(ctx: Context) -> None:
    with lineage_cases(LINEAGE_WORK / "platforms") as cases:
        series = _measure_backends(ctx, "lineage", cases, "lineage off")
    if series is None:
        return
    repeats = ctx.repeats("lineage")
    print_table(
        f"lineage: a 3-asset run (8 OpenLineage events) against each lineage backend, median of {repeats}",
        [
            "backend",
            "run 1 s",
            "added s",
            "run 2 s",
            "added s",
            "process s",
            "added s",
            "undelivered 1/2",
            "notes",
        ],
        _backend_rows(series, "undelivered"),
        [
            "run 1 = the first run of a fresh process, timed in process after the code location loaded (what a "
            "Dagster run worker does); run 2 = a second run in the same process, which already knows the backend.",
            "process s = the whole process from outside (load, both runs, exit): a backend holding exit shows here.",
            "added s is against lineage off; the file transport shows what lineage itself costs with no network.",
            f"target (issue 6): a down, failing or slow endpoint adds < 2 s to a run; undelivered = {EVENTS_PER_RUN} "
            "per run for those, 0 for the file transport and the healthy endpoint.",
        ],
    )
    ctx.record["lineage"] = {"series": [series_json(one) for one in series]}


# --- otlp ----------------------------------------------------------------------------------------------------------


def bench_otlp(ctx: Context) -> None:
    with otlp_cases(LINEAGE_WORK / "otlp-platforms") as cases:
        series = _measure_backends(ctx, "otlp", cases, "tracing off")
    if series is None:
        return
    repeats = ctx.repeats("otlp")
    print_table(
        f"otlp: a 3-asset run (>= 6 spans) against each OTLP collector (10 s export timeout), median of {repeats}",
        ["collector", "run 1 s", "added s", "run 2 s", "added s", "process s", "added s", "spans lost 1/2", "notes"],
        _backend_rows(series, "spans_undelivered"),
        [
            "run 1 = the first run of a fresh process, timed in process after the code location loaded; run 2 = a "
            "second run in the same process, which already knows the collector.",
            "process s = the whole process from outside (load, both runs, exit): a collector holding exit shows here.",
            "added s is against tracing off; spans lost = the largest 'N span(s) not delivered' of a run's warnings "
            "(counted per run: the spans of the run's trace).",
            "target (issue 6): a down or slow collector adds < 2 s to a run; the live collector loses none.",
        ],
    )
    ctx.record["otlp"] = {"series": [series_json(one) for one in series]}


# --- main ----------------------------------------------------------------------------------------------------------


def bench_latency(ctx: Context) -> None:
    from latency import bench_latency as run_latency

    run_latency(ctx, child_env(), repeat_interleaved)


def bench_celery(ctx: Context) -> None:
    from celery_bench import bench_celery as run_celery

    run_celery(ctx, child_env(), repeat_interleaved)


def bench_events(ctx: Context) -> None:
    """Event-log writes of a 1,000-model run, Dagster's storages vs floe's, SQLite and PostgreSQL (event_writes.py)."""
    repeat = ctx.repeat or 3
    cmd = [ctx.python(), str(BENCH_DIR / "event_writes.py"), "--repeat", str(repeat)]
    subprocess.run(cmd, check=True, env=child_env(), cwd=BENCH_DIR)


RUNNERS: dict[str, Callable[[Context], None]] = {
    "load": bench_load,
    "run": bench_run,
    "scale": bench_scale,
    "config": bench_config,
    "file_watcher": bench_file_watcher,
    "lineage": bench_lineage,
    "otlp": bench_otlp,
    "latency": bench_latency,
    "telemetry": bench_telemetry,
    "celery": bench_celery,
    "events": bench_events,
}


def _load_average() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def parse_sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> int:
    from latency import SIDES as LATENCY_SIDES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument("--repeat", type=int, help="repeats per case (default: load/run 3, scale 1, others 5)")
    parser.add_argument("--sizes", type=parse_sizes, help="model counts for load/run/scale, e.g. 100,1000")
    parser.add_argument("--large", action="store_true", help="scale: add 5,000 models")
    parser.add_argument("--plain-max", type=int, help="skip plain dagster-dbt runs above this many models")
    parser.add_argument(
        "--cases",
        type=lambda text: [c.strip() for c in text.split(",") if c.strip()],
        help="latency: sample,demo,100,1000",
    )
    parser.add_argument(
        "--memory-runs",
        type=int,
        default=0,
        metavar="N",
        help="latency: after each case, N more warm runs and the warm process's RSS",
    )
    parser.add_argument(
        "--launched-executor",
        choices=["multiprocess", "in_process", "dbt_in_process"],
        default="multiprocess",
        help=(
            "latency: the platform of the launched sides' runs (default: multiprocess, floe's warm steps; "
            "dbt_in_process: the same with dbt: {invocation: in_process})"
        ),
    )
    parser.add_argument(
        "--sides",
        type=lambda text: [c.strip() for c in text.split(",") if c.strip()],
        help=f"latency: the sides to run (default all): {','.join(LATENCY_SIDES)}",
    )
    parser.add_argument(
        "--launched-storage",
        choices=["sqlite", "postgres"],
        default="sqlite",
        help=f"latency: the launched sides' instances (postgres: fresh databases on {POSTGRES_BENCH_ENV})",
    )
    args = parser.parse_args(argv)
    unknown_sides = [side for side in args.sides or [] if side not in LATENCY_SIDES]
    if unknown_sides:
        parser.error(f"unknown side(s) {', '.join(unknown_sides)}; choose from {', '.join(LATENCY_SIDES)}")
    postgres_url = os.environ.get(POSTGRES_BENCH_ENV) if args.launched_storage == "postgres" else None
    if args.launched_storage == "postgres" and not postgres_url:
        parser.error(f"--launched-storage postgres needs {POSTGRES_BENCH_ENV}: a PostgreSQL server's URL")
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = list(dict.fromkeys(args.names)) or list(BENCHMARKS)

    stamp = time.strftime("%Y%m%d-%H%M%S")
    ctx = Context(
        repeat=args.repeat,
        sizes=args.sizes,
        large=args.large,
        plain_max=args.plain_max,
        all_session=not args.names,
        logs_dir=WORK_DIR / "logs" / stamp,
        latency_cases=args.cases,
        memory_runs=args.memory_runs,
        launched_executor=args.launched_executor,
        latency_sides=args.sides,
        launched_postgres_url=postgres_url,
    )
    print(f"floe benchmarks: {', '.join(names)} ({os.cpu_count()} CPUs, python {sys.version.split()[0]})")
    print(f"  load average {_load_average()} (other work on the machine inflates wall times; CPU s is steadier)")
    print(f"  logs: {ctx.logs_dir}")
    if any(n in names for n in ("load", "run", "scale", "telemetry", "latency")):
        # Warm the page cache so the first measured process is not the only one reading the libraries from disk.
        warm = "import dagster, dagster_dbt, dbt.cli.main, dbt.adapters.duckdb"
        subprocess.run([sys.executable, "-c", warm], check=False, env=child_env())
    session_started = time.perf_counter()
    errors = []
    for name in names:
        started = time.perf_counter()
        print(f"\n== {name} ==", flush=True)
        try:
            RUNNERS[name](ctx)
        except Exception:
            errors.append(name)
            print(f"benchmark {name} raised:\n{traceback.format_exc()}", flush=True)
        print(f"== {name}: {time.perf_counter() - started:.0f} s ==", flush=True)
    total = time.perf_counter() - session_started
    print(f"\nsession: {total / 60:.1f} min, load average now {_load_average()}")
    results_dir = WORK_DIR / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    record = {"stamp": stamp, "argv": sys.argv[1:], "session_seconds": total, **ctx.record}
    (results_dir / f"{stamp}.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    print(f"results: {results_dir / f'{stamp}.json'}")
    if ctx.baseline_failures:
        print("baseline failures: " + "; ".join(ctx.baseline_failures))
    if errors:
        print("benchmarks that raised: " + ", ".join(errors))
    return 1 if (errors or ctx.baseline_failures) else 0


if __name__ == "__main__":
    sys.exit(main())
