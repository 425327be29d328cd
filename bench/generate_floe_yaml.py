"""Generate a deterministic floe.yaml with about 500 entities for the ``config`` benchmark.

It follows the data model of DESIGN.md: partitions of every kind, asset patterns, batch and ops jobs,
schedules, file_watcher / asset_sensor / run_status sensors and backfills, with ``${VAR:default}`` values in
places. Beside it go the directories and modules it names, so a stricter validator still finds them.

CLI: ``python bench/generate_floe_yaml.py OUTDIR [--entities 500]``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

TIMEZONES = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney"]
CRONS = ["0 6 * * *", "30 2 * * *", "0 */4 * * *", "15 9 * * 1", "0 0 1 * *", "@daily", "@hourly"]


def _q(value: str) -> str:
    """Quote a YAML scalar (JSON strings are valid YAML double-quoted strings)."""
    return json.dumps(value)


def entity_counts(entities: int) -> dict[str, int]:
    """Split the entity budget: partitions 2%, patterns 20%, jobs 30%, schedules 24%, sensors 20%, backfills 4%."""
    counts = {
        "partitions": max(4, entities * 2 // 100),
        "assets": entities * 20 // 100,
        "jobs": entities * 30 // 100,
        "schedules": entities * 24 // 100,
        "sensors": entities * 20 // 100,
    }
    counts["backfills"] = max(1, entities - sum(counts.values()))
    return counts


def generate_floe_yaml(out_dir: Path, entities: int = 500) -> dict[str, int]:
    """Write ``out_dir/floe.yaml`` (and the modules and folders it names); return the entity counts."""
    counts = entity_counts(entities)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_ops = max(1, counts["jobs"] // 8)
    n_batch = counts["jobs"] - n_ops
    n_groups = 20

    assets_dir = out_dir / "assets"
    assets_dir.mkdir(exist_ok=True)
    (assets_dir / "__init__.py").write_text('"""Benchmark asset modules."""\n', encoding="utf-8")
    (assets_dir / "bronze.py").write_text(
        '"""Bronze assets (empty: validation never imports them)."""\n', encoding="utf-8"
    )
    ops_src = ['"""Ops job targets for the benchmark floe.yaml."""', ""]
    for i in range(n_ops):
        ops_src += ["", f"def task_{i:03d}(context, retention_days: int = 30) -> None:", '    """Do nothing."""', ""]
    (assets_dir / "ops.py").write_text("\n".join(ops_src), encoding="utf-8")
    (out_dir / "dbt").mkdir(exist_ok=True)

    lines = [
        "# yaml-language-server: $schema=../packages/floe-config/floe.schema.json",
        "name: bench_shop",
        'version: "1.0.0"',
        "orchestration:",
        "  asset_modules: [.assets.bronze, .assets.ops]",
        "  dbt:",
        "    project_dir: dbt",
        '    target: "${DBT_TARGET:dev}"',
        "    observability_level: per_model",
        "  partitions:",
    ]
    n_parts = counts["partitions"]
    time_parts: list[str] = []
    for i in range(n_parts):
        kind = i % 4
        if kind == 0:
            name = f"daily_{i:03d}"
            time_parts.append(name)
            lines.append(
                f'    {name}: {{type: time_window, start: "2024-01-01", cron_schedule: "0 0 * * *", '
                f"timezone: {TIMEZONES[i % len(TIMEZONES)]}}}"
            )
        elif kind == 1:
            keys = ", ".join(f"k{i}_{j}" for j in range(5))
            lines.append(f"    static_{i:03d}: {{type: static, partition_keys: [{keys}]}}")
        elif kind == 2:
            lines += [
                f"    multi_{i:03d}:",
                "      type: multi",
                "      partitions:",
                '        date: {type: time_window, start: "2024-01-01", cron_schedule: "0 0 * * *"}',
                "        region: {type: static, partition_keys: [us, eu, ap]}",
            ]
        else:
            lines.append(f"    dynamic_{i:03d}: {{type: dynamic, name: dyn_{i:03d}}}")

    lines.append("  assets:")
    for i in range(counts["assets"]):
        group = f"g{i % n_groups:02d}"
        kind = i % 5
        if kind == 0:
            part = time_parts[i % len(time_parts)]
            body = f"{{partitions: {part}, backfill_policy: {{type: multi_run, max_partitions_per_run: 10}}}}"
        elif kind == 1:
            body = "{automation_condition: eager}"
        elif kind == 2:
            body = f"{{automation_condition: {{type: on_cron, cron_schedule: {_q(CRONS[i % 5])}}}}}"
        elif kind == 3:
            body = f"{{group_name: {group}, tags: {{team: t{i % 7}, tier: gold}}, description: Pattern {i}}}"
        else:
            body = "{automation_condition: on_missing, backfill_policy: {type: single_run}}"
        lines.append(f"    {_q(f'{group}/asset_{i:04d}_*')}: {body}")

    lines.append("  jobs:")
    selections = [
        lambda i: [f"group:g{i % n_groups:02d}"],
        lambda i: [f"tag:team=t{i % 7}"],
        lambda i: [f'key:"g{i % n_groups:02d}/asset_{i:04d}_x"'],
        lambda i: [f"group:g{i % n_groups:02d} or group:g{(i + 1) % n_groups:02d}"],
        lambda i: [f"kind:dbt and not group:g{i % n_groups:02d}", f"group:g{(i + 3) % n_groups:02d}"],
        lambda i: [f'+key:"g{i % n_groups:02d}/asset_{i:04d}_x"'],
    ]
    batch_jobs = []
    for i in range(n_batch):
        name = f"batch_{i:03d}"
        batch_jobs.append(name)
        selection = ", ".join(_q(s) for s in selections[i % len(selections)](i))
        lines.append(f"    {name}: {{type: batch, selection: [{selection}], description: Batch job {i}}}")
    for i in range(n_ops):
        args = '{retention_days: "${RETENTION_DAYS:30}"}'
        lines.append(f'    ops_{i:03d}: {{type: ops, target_function: ".assets.ops:task_{i:03d}", args: {args}}}')

    lines.append("  schedules:")
    for i in range(counts["schedules"]):
        job = batch_jobs[i % len(batch_jobs)]
        cron = _q(f"${{NIGHTLY_CRON_{i % 3}:{CRONS[i % len(CRONS)]}}}") if i % 10 == 0 else _q(CRONS[i % len(CRONS)])
        lines.append(
            f"    sched_{i:03d}: {{job: {job}, cron_schedule: {cron}, timezone: {TIMEZONES[i % len(TIMEZONES)]}, "
            f'enabled: "${{SCHEDULES_ON:true}}"}}'
        )

    lines.append("  sensors:")
    for i in range(counts["sensors"]):
        job = batch_jobs[(i * 7) % len(batch_jobs)]
        kind = i % 3
        if kind == 0:
            (out_dir / "incoming" / f"feed_{i:03d}").mkdir(parents=True, exist_ok=True)
            lines.append(
                f"    files_{i:03d}: {{type: file_watcher, job: {job}, path: ./incoming/feed_{i:03d}, "
                f'pattern: "*.csv", poll_interval_seconds: {30 + i % 5 * 30}}}'
            )
        elif kind == 1:
            watched = _q(f"g{i % n_groups:02d}/asset_{i:04d}_x")
            lines.append(f"    on_asset_{i:03d}: {{type: asset_sensor, job: {job}, watched_assets: [{watched}]}}")
        else:
            status = ("SUCCESS", "FAILURE", "CANCELED")[i % 3]
            watched_job = batch_jobs[(i * 3 + 1) % len(batch_jobs)]
            lines.append(
                f"    on_run_{i:03d}: {{type: run_status, job: {job}, watched_jobs: [{watched_job}], status: {status}}}"
            )

    lines.append("  backfills:")
    for i in range(counts["backfills"]):
        job = batch_jobs[(i * 5) % len(batch_jobs)]
        month = i % 12 + 1
        lines.append(
            f"    history_{i:03d}: {{job: {job}, partition_range: "
            f'{{start: "2024-{month:02d}-01", end: "2024-{month:02d}-28"}}, batch_size: 10}}'
        )

    lines += ["observability:", "  traces: true", "  lineage: true", "  attributes: {team: data, env: bench}", ""]
    (out_dir / "floe.yaml").write_text("\n".join(lines), encoding="utf-8")
    return {**counts, "total": sum(counts.values())}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--entities", type=int, default=500)
    args = parser.parse_args(argv)
    print(json.dumps(generate_floe_yaml(args.out_dir.resolve(), args.entities)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
