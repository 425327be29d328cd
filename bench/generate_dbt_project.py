"""Generate deterministic, layered dbt projects for dbt-duckdb, and cache them parsed under bench/.work/.

A project of N models has seeds and sources (tables created by an ``on-run-start`` hook) feeding three layers in
their own folders: ``models/staging`` (views, one seed or source each), ``models/intermediate`` and
``models/marts`` (tiny tables, each refs 1-3 upstream models). About 30% of models carry a ``not_null`` or
``unique`` test. Every table holds five rows, so dbt's time is dominated by per-node overhead, as in real projects.
Large layers are split into ``domain_XX`` sub-folders of about 500 models, like real projects' folders.

The DuckDB file comes from the ``FLOE_BENCH_DUCKDB`` environment variable (``profiles.yml`` sits in the project).

CLI: ``python bench/generate_dbt_project.py N OUTDIR [--parse]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# Bump when the generated project changes, so cached projects are rebuilt.
GENERATOR_VERSION = 1
WORK_DIR = Path(__file__).resolve().parent / ".work"
DUCKDB_ENV_VAR = "FLOE_BENCH_DUCKDB"
PROFILE_NAME = "floe_bench"
STAMP_FILE = "bench_project.json"
ROWS = "(1, 10), (2, 20), (3, 30), (4, 40), (5, 50)"


@dataclass(frozen=True)
class ProjectShape:
    """Counts of the nodes of a generated project."""

    models: int
    staging: int
    intermediate: int
    marts: int
    seeds: int
    sources: int
    tests: int
    domains: int


@dataclass(frozen=True)
class BenchProject:
    """A generated (and possibly parsed) project on disk."""

    project_dir: Path
    shape: ProjectShape

    @property
    def manifest_path(self) -> Path:
        return self.project_dir / "target" / "manifest.json"

    @property
    def duckdb_path(self) -> Path:
        return self.project_dir / "floe_bench.duckdb"

    def dbt_env(self) -> dict[str, str]:
        """Environment for any process that runs dbt on this project (constant, so partial parsing holds)."""
        return {
            **os.environ,
            DUCKDB_ENV_VAR: str(self.duckdb_path),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
        }


def layer_sizes(n: int) -> tuple[int, int, int]:
    """Split N models into staging / intermediate / marts (40% / 35% / 25%)."""
    if n < 3:
        raise ValueError(f"need at least 3 models, got {n}")
    staging = max(1, round(n * 0.40))
    intermediate = max(1, round(n * 0.35))
    marts = n - staging - intermediate
    return staging, intermediate, marts


def dbt_executable() -> Path:
    """Return the dbt executable of the running interpreter's venv."""
    exe = Path(sys.executable).parent / "dbt"
    if not exe.exists():
        found = shutil.which("dbt")
        if found is None:
            raise FileNotFoundError(f"no dbt executable next to {sys.executable} or on PATH")
        return Path(found)
    return exe


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _model_sql(materialized: str, parents: list[str], factor: int) -> str:
    head = f"{{{{ config(materialized='{materialized}') }}}}\n"
    if len(parents) == 1:
        return head + f"select p0.id, p0.amount * {factor} as amount\nfrom {parents[0]} as p0\n"
    amount = " + ".join(["p0.amount", *(f"coalesce(p{i}.amount, 0)" for i in range(1, len(parents)))])
    joins = "".join(f"left join {parent} as p{i} on p{i}.id = p0.id\n" for i, parent in enumerate(parents[1:], 1))
    return head + f"select p0.id, ({amount}) * {factor} as amount\nfrom {parents[0]} as p0\n" + joins


def _schema_entry(name: str, layer: str, test: str | None) -> list[str]:
    lines = [
        f"  - name: {name}",
        f"    description: Synthetic {layer} model {name} for floe benchmarks.",
        "    columns:",
        "      - name: id",
        "        description: Row id, unique within the model.",
        "        data_type: integer",
    ]
    if test is not None:
        lines.append(f"        data_tests: [{test}]")
    lines += ["      - name: amount", "        description: A synthetic amount.", "        data_type: integer"]
    return lines


def generate_project(n: int, out_dir: Path, *, seed: int = 20240101) -> ProjectShape:
    """Write a dbt project of ``n`` models into ``out_dir`` (replacing it); same inputs, same bytes.

    Args:
        n: Number of models (at least 3).
        out_dir: Directory to write; removed first if it exists.
        seed: Seed of the random choices (refs, tests).

    Returns:
        The counts of what was generated.
    """
    rng = random.Random(seed * 1_000_003 + n)
    n_stg, n_int, n_mart = layer_sizes(n)
    n_seeds = max(2, n // 100)
    n_sources = n_seeds
    domains = max(1, math.ceil(n / 500))
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)

    hooks = ["create schema if not exists raw"] + [
        f"create or replace table raw.src_{i:03d} as select * from (values {ROWS}) as t(id, amount)"
        for i in range(n_sources)
    ]
    project_yml = [
        f"name: {PROFILE_NAME}",
        'version: "1.0.0"',
        f"profile: {PROFILE_NAME}",
        'model-paths: ["models"]',
        'seed-paths: ["seeds"]',
        "flags:",
        "  send_anonymous_usage_stats: false",
        "  partial_parse: true",
        "on-run-start:",
        *(f'  - "{hook}"' for hook in hooks),
        "models:",
        f"  {PROFILE_NAME}:",
        "    staging: {+materialized: view}",
        "    intermediate: {+materialized: table}",
        "    marts: {+materialized: table}",
        "",
    ]
    _write(out_dir / "dbt_project.yml", "\n".join(project_yml))
    profiles = f"""{PROFILE_NAME}:
  target: dev
  outputs:
    dev:
      type: duckdb
      path: "{{{{ env_var('{DUCKDB_ENV_VAR}', 'floe_bench.duckdb') }}}}"
      threads: 4
"""
    _write(out_dir / "profiles.yml", profiles)

    for i in range(n_seeds):
        rows = "".join(f"{r},{r * 10 + i}\n" for r in range(1, 6))
        _write(out_dir / "seeds" / f"seed_{i:03d}.csv", "id,amount\n" + rows)
    sources_yml = ["version: 2", "sources:", "  - name: raw", "    schema: raw", "    tables:"]
    sources_yml += [f"      - name: src_{i:03d}" for i in range(n_sources)]
    _write(out_dir / "models" / "staging" / "_sources.yml", "\n".join([*sources_yml, ""]))

    tests = 0
    schema: dict[Path, list[str]] = {}
    layers: list[tuple[str, str, str, int]] = [
        ("staging", "stg", "view", n_stg),
        ("intermediate", "int", "table", n_int),
        ("marts", "mart", "table", n_mart),
    ]
    names: dict[str, list[str]] = {"stg": [], "int": []}
    for layer, prefix, materialized, count in layers:
        for i in range(count):
            name = f"{prefix}_{i:05d}"
            folder = out_dir / "models" / layer / f"domain_{i % domains:02d}"
            if prefix == "stg":
                if i % 2 == 0:
                    parents = [f"{{{{ ref('seed_{rng.randrange(n_seeds):03d}') }}}}"]
                else:
                    parents = [f"{{{{ source('raw', 'src_{rng.randrange(n_sources):03d}') }}}}"]
            else:
                if prefix == "int":
                    pool = names["stg"] + names["int"]
                else:  # marts read mostly intermediate models, some staging
                    pool = names["int"] * 3 + names["stg"]
                chosen: list[str] = []
                for _ in range(rng.randint(1, 3)):
                    pick = rng.choice(pool)
                    if pick not in chosen:
                        chosen.append(pick)
                parents = [f"{{{{ ref('{p}') }}}}" for p in chosen]
            _write(folder / f"{name}.sql", _model_sql(materialized, parents, i % 7 + 1))
            test = None
            if rng.random() < 0.30:
                test = "unique" if rng.random() < 0.5 else "not_null"
                tests += 1
            schema.setdefault(folder / f"_{layer}_{folder.name}.yml", []).extend(_schema_entry(name, layer, test))
            if prefix in names:
                names[prefix].append(name)
    for path, lines in schema.items():
        _write(path, "\n".join(["version: 2", "models:", *lines, ""]))

    return ProjectShape(
        models=n,
        staging=n_stg,
        intermediate=n_int,
        marts=n_mart,
        seeds=n_seeds,
        sources=n_sources,
        tests=tests,
        domains=domains,
    )


def parse_project(project: BenchProject) -> float:
    """Run ``dbt parse`` with an absolute project dir; return its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run(
        [
            str(dbt_executable()),
            "parse",
            "--project-dir",
            str(project.project_dir),
            "--profiles-dir",
            str(project.project_dir),
        ],
        check=True,
        env=project.dbt_env(),
        cwd=project.project_dir,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def _read_stamp(project_dir: Path) -> ProjectShape | None:
    stamp = project_dir / STAMP_FILE
    if not stamp.exists() or not (project_dir / "target" / "manifest.json").exists():
        return None
    data = json.loads(stamp.read_text(encoding="utf-8"))
    if data.get("generator_version") != GENERATOR_VERSION:
        return None
    return ProjectShape(**data["shape"])


def ensure_project(n: int, *, log: bool = True) -> BenchProject:
    """Return the cached, parsed project of ``n`` models under bench/.work/, generating and parsing it once."""
    project_dir = WORK_DIR / "dbt" / f"n{n}"
    shape = _read_stamp(project_dir)
    if shape is not None:
        return BenchProject(project_dir, shape)
    started = time.perf_counter()
    shape = generate_project(n, project_dir)
    project = BenchProject(project_dir, shape)
    if log:
        print(f"  generating + parsing a {n}-model dbt project (cached under {project_dir}) ...", flush=True)
    parse_seconds = parse_project(project)
    stamp = {"generator_version": GENERATOR_VERSION, "shape": shape.__dict__, "parse_seconds": parse_seconds}
    (project_dir / STAMP_FILE).write_text(json.dumps(stamp, indent=2), encoding="utf-8")
    if log:
        print(f"  ... done in {time.perf_counter() - started:.1f} s (dbt parse {parse_seconds:.1f} s)", flush=True)
    return project


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=int, help="number of models (>= 3)")
    parser.add_argument("out_dir", type=Path, help="directory to write (replaced if it exists)")
    parser.add_argument("--parse", action="store_true", help="also run `dbt parse` to write target/manifest.json")
    args = parser.parse_args(argv)
    out_dir = args.out_dir.resolve()
    shape = generate_project(args.models, out_dir)
    print(json.dumps(shape.__dict__))
    if args.parse:
        seconds = parse_project(BenchProject(out_dir, shape))
        print(f"dbt parse: {seconds:.1f} s -> {out_dir / 'target' / 'manifest.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
