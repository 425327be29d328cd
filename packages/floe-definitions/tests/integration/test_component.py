"""``FloeComponent`` in a real dg project: ``dg`` lists, scaffolds, checks, launches and serves the demo as a component.

The dg project is generated at test time under a temporary directory: a ``pyproject.toml`` with ``[tool.dg]``, a
``definitions.py`` that loads the ``defs/`` folder, and ``defs/shop/`` holding a copy of the demo (floe.yaml, its
asset package, its dbt project) with a ``defs.yaml`` of ``type: floe_definitions.FloeComponent``. Every ``dg`` call
is a subprocess of the ``dg`` installed beside this interpreter, with this environment active (``VIRTUAL_ENV``): dg
reaches no network.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from floe_config import load_floe_spec
from floe_definitions import FloeDefinitions
from floe_test_support.http_endpoints import free_port
from otlp_spans import read_spans

REPO_ROOT = Path(__file__).resolve().parents[4]
DEMO_DIR = REPO_ROOT / "demo"
BIN = Path(sys.executable).parent
DG = BIN / "dg"
PACKAGE = "shop_component_assets"
COMPONENT_TYPE = "floe_definitions.FloeComponent"
TEST_PLATFORM = """environment: test
tracing: {type: file, path: .floe/traces}
lineage:
  transport: {type: file, path: .floe/lineage}
  namespace: floe
execution:
  executor: {type: in_process}
"""
PYPROJECT = """[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["floe-definitions"]

[tool.dg]
directory_type = "project"

[tool.dg.project]
root_module = "{name}"

[tool.dg.cli]
telemetry = {{enabled = false}}
"""
DEFINITIONS = """from pathlib import Path

from dagster import definitions, load_from_defs_folder


@definitions
def defs():
    return load_from_defs_folder(path_within_project=Path(__file__).parent)
"""
SHOP_DEFS_YAML = f"""type: {COMPONENT_TYPE}
attributes:
  floe_yaml: floe.yaml
  platform: platform/test.yaml
"""


@dataclass(frozen=True)
class DgProject:
    """A dg project on disk and the environment ``dg`` runs in."""

    root: Path
    env: dict[str, str]

    @property
    def defs(self) -> Path:
        return self.root / self.root.name / "defs"

    def dg(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``dg`` in the project root; stdout and stderr apart (``--json`` output is read from stdout)."""
        return subprocess.run(
            [str(DG), *args], cwd=self.root, env=self.env, capture_output=True, text=True, check=False
        )

    def dg_output(self, *args: str) -> tuple[int, str]:
        """Run ``dg`` in the project root; return its exit code and stdout and stderr in the order written."""
        process = subprocess.run(
            [str(DG), *args],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        return process.returncode, process.stdout


def make_dg_project(base: Path, name: str) -> DgProject:
    """Write an empty dg project ``name`` under ``base`` (no uv, no network) and the environment to run dg in."""
    root = base / name
    package = root / name
    (package / "defs").mkdir(parents=True)
    (root / "pyproject.toml").write_text(PYPROJECT.format(name=name))
    (package / "__init__.py").write_text("")
    (package / "defs" / "__init__.py").write_text("")
    (package / "definitions.py").write_text(DEFINITIONS)
    dagster_home = base / f"{name}_dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {
        **os.environ,
        "VIRTUAL_ENV": str(BIN.parent),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DAGSTER_HOME": str(dagster_home),
        "FLOE_DEMO_WAREHOUSE": str(base / f"{name}_warehouse.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "NO_COLOR": "1",
        "COLUMNS": "250",
    }
    for variable in ("FLOE_CONFIG", "FLOE_PLATFORM_FILE", "FLOE_PLATFORM_ENV", "DG_PROJECT_PYTHON_EXECUTABLE"):
        env.pop(variable, None)
    return DgProject(root=root, env=env)


def add_demo_component(project: DgProject, folder: str = "shop") -> Path:
    """Copy the demo into ``defs/<folder>`` as a floe component and parse its dbt project; return the folder."""
    component = project.defs / folder
    component.mkdir()
    ignore = shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__", ".floe", "*.duckdb")
    shutil.copytree(DEMO_DIR / "assets", component / PACKAGE, ignore=ignore)
    shutil.copytree(DEMO_DIR / "dbt", component / "dbt", ignore=ignore)
    (component / "platform").mkdir()
    (component / "platform" / "test.yaml").write_text(TEST_PLATFORM)
    floe_yaml = (DEMO_DIR / "floe.yaml").read_text().replace(".assets.", f".{PACKAGE}.")
    (component / "floe.yaml").write_text(floe_yaml.replace("$schema=../", "$schema=../../../../"))
    (component / "defs.yaml").write_text(SHOP_DEFS_YAML)
    dbt_dir = component / "dbt"
    parsed = subprocess.run(
        [str(BIN / "dbt"), "parse", "--project-dir", str(dbt_dir), "--profiles-dir", str(dbt_dir)],
        env=project.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    return component


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> DgProject:
    """A dg project holding the demo as the component ``defs/shop``."""
    project = make_dg_project(tmp_path_factory.mktemp("dg"), "shop_dg")
    add_demo_component(project)
    return project


def read_json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_dg_list_components_shows_floe_component_with_its_description(shop: DgProject) -> None:
    listed = shop.dg("list", "components", "--json")

    assert listed.returncode == 0, listed.stderr
    components = {entry["key"]: entry for entry in json.loads(listed.stdout)["items"]}
    assert COMPONENT_TYPE in components
    assert components[COMPONENT_TYPE]["summary"].startswith("A floe.yaml as Dagster definitions")


def test_dg_scaffold_defs_writes_defs_yaml_and_a_starter_floe_yaml_that_validates_and_loads(
    tmp_path: Path,
) -> None:
    project = make_dg_project(tmp_path, "fresh_dg")

    scaffolded = project.dg("scaffold", "defs", COMPONENT_TYPE, "my_pipeline")

    assert scaffolded.returncode == 0, scaffolded.stdout + scaffolded.stderr
    folder = project.defs / "my_pipeline"
    assert (folder / "defs.yaml").read_text().startswith(f"type: {COMPONENT_TYPE}\n")
    floe_yaml = folder / "floe.yaml"
    assert floe_yaml.read_text().splitlines()[0] == "# yaml-language-server: $schema=floe.schema.json"
    assert json.loads((folder / "floe.schema.json").read_text())["title"]
    assert load_floe_spec(floe_yaml).name == "my_pipeline"
    checked = project.dg("check", "defs")
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_dg_check_yaml_and_check_defs_pass_on_the_demo_component(shop: DgProject) -> None:
    yaml_checked = shop.dg("check", "yaml")
    defs_checked = shop.dg("check", "defs")

    assert yaml_checked.returncode == 0, yaml_checked.stdout + yaml_checked.stderr
    assert defs_checked.returncode == 0, defs_checked.stdout + defs_checked.stderr
    assert "All definitions loaded successfully" in defs_checked.stdout + defs_checked.stderr


def test_dg_check_yaml_locates_an_unknown_attribute_in_defs_yaml(tmp_path: Path) -> None:
    project = make_dg_project(tmp_path, "typo_dg")
    folder = project.defs / "typo"
    folder.mkdir()
    (folder / "defs.yaml").write_text(f"type: {COMPONENT_TYPE}\nattributes:\n  floe_yml: floe.yaml\n")

    checked = project.dg("check", "yaml")

    output = checked.stdout + checked.stderr
    assert checked.returncode == 1, output
    assert "defs.yaml:3" in output
    assert "floe_yml" in output


def test_dg_list_defs_lists_every_asset_job_schedule_and_sensor_of_floe_yaml(shop: DgProject) -> None:
    listed = shop.dg("list", "defs", "--json")

    assert listed.returncode == 0, listed.stderr
    defs = json.loads(listed.stdout)
    expected = FloeDefinitions.from_floe_yaml(
        shop.defs / "shop" / "floe.yaml", platform=shop.defs / "shop" / "platform" / "test.yaml", environ=shop.env
    )
    repository = expected.get_repository_def()
    assert {asset["asset_key"] for asset in defs["assets"]} == {
        key.to_user_string() for key in repository.asset_graph.get_all_asset_keys()
    }
    assert {job["name"] for job in defs["jobs"]} == {"seed_bronze", "transform", "maintenance", "alert"}
    assert {schedule["name"] for schedule in defs["schedules"]} == {"nightly"}
    assert {sensor["name"] for sensor in defs["sensors"]} == {"new_files", "on_bronze", "on_failure"}


def test_dg_launch_runs_jobs_and_assets_with_per_asset_spans_and_lineage(shop: DgProject) -> None:
    traces = shop.defs / "shop" / ".floe" / "traces" / "shop.jsonl"
    lineage = shop.defs / "shop" / ".floe" / "lineage" / "shop.jsonl"

    seeded = shop.dg("launch", "--job", "seed_bronze", "--partition", "2024-01-01")
    transformed = shop.dg("launch", "--job", "transform")
    spans_after_job = read_spans(traces)
    one_asset = shop.dg("launch", "--assets", 'key:"silver/stg_customers"')

    assert seeded.returncode == 0, seeded.stdout + seeded.stderr
    assert transformed.returncode == 0, transformed.stdout + transformed.stderr
    assert one_asset.returncode == 0, one_asset.stdout + one_asset.stderr
    transform_trace = {
        span["context"]["trace_id"]
        for span in spans_after_job
        if span["attributes"].get("dagster.job_name") == "transform"
    }
    assert len(transform_trace) == 1
    model_spans = {
        span["attributes"]["dbt.node.name"]
        for span in spans_after_job
        if span["context"]["trace_id"] in transform_trace and span["name"].startswith("dbt.model ")
    }
    assert model_spans == {
        "stg_customers",
        "stg_orders",
        "stg_products",
        "stg_order_items",
        "customer_orders",
        "revenue_by_product",
    }
    later = read_spans(traces)[len(spans_after_job) :]
    assert [span["name"] for span in later if span["name"].startswith("dbt.model ")] == ["dbt.model stg_customers"]
    events = read_json_lines(lineage)
    # dbt models' jobs carry dbt-ol's names, <database>.<schema>.<project>.<model>
    completed = [event["job"]["name"].split(".", 2)[-1] for event in events if event["eventType"] == "COMPLETE"]
    assert completed.count("shop.stg_customers") == 2  # the transform job, then the one-asset launch
    assert completed.count("shop.customer_orders") == 1


def test_dg_check_defs_reports_every_floe_yaml_issue_located_before_dagster_s_traceback(
    tmp_path: Path,
) -> None:
    project = make_dg_project(tmp_path, "broken_dg")
    component = add_demo_component(project)
    floe_yaml = component / "floe.yaml"
    text = floe_yaml.read_text()
    text = text.replace("      job: transform\n", "      job: transfrom\n", 1)  # the nightly schedule's
    text = text.replace('cron_schedule: "${NIGHTLY_CRON:0 6 * * *}"', 'cron_schedule: "61 * * * *"')
    floe_yaml.write_text(text)

    returncode, output = project.dg_output("check", "defs")

    assert returncode == 1, output
    lines = output.splitlines()
    located = [index for index, line in enumerate(lines) if "floe.yaml:" in line and ": orchestration." in line]
    assert any(lines[index].endswith("unknown job 'transfrom' (did you mean 'transform'?)") for index in located)
    assert any("minute 61 is outside 0-59" in lines[index] for index in located)
    schedule_lines = text.splitlines()
    job_line = schedule_lines.index("      job: transfrom", schedule_lines.index("    nightly:")) + 1
    assert f"floe.yaml:{job_line}:12: orchestration.schedules.nightly.job" in lines[located[0]]
    assert located[0] < next(index for index, line in enumerate(lines) if "Stack Trace" in line)
    assert "2 issues; the floe component in broken_dg/defs/shop/defs.yaml" in output


def test_a_floe_yaml_path_that_does_not_exist_names_defs_yaml_its_line_and_the_path(tmp_path: Path) -> None:
    project = make_dg_project(tmp_path, "missing_dg")
    folder = project.defs / "shop"
    folder.mkdir()
    (folder / "defs.yaml").write_text(f"type: {COMPONENT_TYPE}\nattributes:\n  floe_yaml: pipelines/floe.yaml\n")

    returncode, output = project.dg_output("check", "defs")

    assert returncode == 1, output
    first = next(line for line in output.splitlines() if "defs.yaml:" in line)
    assert first.startswith(
        "missing_dg/defs/shop/defs.yaml:3:3: attributes.floe_yaml: 'pipelines/floe.yaml' does not exist; "
        "looked for missing_dg/defs/shop/pipelines/floe.yaml"
    )
    assert output.index(first) < output.index("Stack Trace")


def test_two_floe_components_defining_the_same_asset_key_name_both_defs_yaml_files(tmp_path: Path) -> None:
    project = make_dg_project(tmp_path, "twice_dg")
    add_demo_component(project)
    again = project.defs / "shop_again"
    again.mkdir()
    (again / "defs.yaml").write_text(
        f"type: {COMPONENT_TYPE}\nattributes:\n  floe_yaml: ../shop/floe.yaml\n  platform: ../shop/platform/test.yaml\n"
    )

    returncode, output = project.dg_output("check", "defs")

    assert returncode == 1, output
    assert "twice_dg/defs/shop/defs.yaml and twice_dg/defs/shop_again/defs.yaml both define asset key(s)" in output
    assert "bronze/raw_customers" in output


@pytest.fixture
def dg_dev(shop: DgProject) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """``dg dev`` on 127.0.0.1 at a free port, stopped (SIGINT, as Ctrl-C) when the test ends.

    Its output goes to a file, not a pipe: nothing reads a pipe while the test polls the server, and a full pipe
    would block dg dev writing its shutdown messages after Ctrl-C.
    """
    port = free_port()
    log = (shop.root.parent / "dg-dev.log").open("w")
    process = subprocess.Popen(
        [str(DG), "dev", "--host", "127.0.0.1", "--port", str(port)],
        cwd=shop.root,
        env=shop.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        # As in a terminal: a suite started in the background by a shell without job control (a CI script's `&`)
        # inherits SIGINT ignored, and then Python never turns Ctrl-C into KeyboardInterrupt in `dg dev`.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        yield process, port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def wait_for_http(url: str, process: subprocess.Popen[str], deadline_seconds: float = 300) -> bytes:
    """Poll ``url`` until it answers 200 (fails if the server exits or the deadline passes)."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"dg dev exited with {process.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                body: bytes = response.read()
                if response.status == 200:
                    return body
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1)
    pytest.fail(f"{url} did not answer within {deadline_seconds} s")


def test_dg_dev_serves_the_floe_component_on_localhost_and_stops_cleanly(
    dg_dev: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = dg_dev

    info = json.loads(wait_for_http(f"http://127.0.0.1:{port}/server_info", process))
    query = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=query, headers={"Content-Type": "application/json"}
    )
    deadline = time.monotonic() + 300
    keys: set[str] = set()
    while time.monotonic() < deadline and "gold/customer_orders" not in keys:
        with urllib.request.urlopen(request, timeout=30) as response:
            nodes = json.loads(response.read())["data"].get("assetNodes") or []
        keys = {"/".join(node["assetKey"]["path"]) for node in nodes}
        if "gold/customer_orders" not in keys:
            time.sleep(1)
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C, as a user presses it
    try:
        # dagster dev gives the webserver and then the daemon 60 s each to stop before it kills them, and then
        # stops its code server: a slow but bounded shutdown
        returncode = process.wait(timeout=240)
    except subprocess.TimeoutExpired:
        # A user presses Ctrl-C again; it must still exit cleanly then.
        os.killpg(process.pid, signal.SIGINT)
        returncode = process.wait(timeout=60)

    assert "dagster_webserver_version" in info
    assert {"bronze/raw_orders", "silver/stg_orders", "gold/customer_orders"} <= keys
    assert returncode == 0


def copy_demo_dg(base: Path) -> DgProject:
    """A copy of the repository's demo (its ``dg`` project included), parsed as the README says; dg runs in demo/dg."""
    demo = base / "demo"
    ignore = shutil.ignore_patterns("target", "logs", "dbt_packages", "__pycache__", ".floe", "*.duckdb", "incoming")
    shutil.copytree(DEMO_DIR, demo, ignore=ignore)
    home = demo / ".floe" / "dagster"
    home.mkdir(parents=True)
    env = {
        **os.environ,
        "VIRTUAL_ENV": str(BIN.parent),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DAGSTER_HOME": str(home),
        "FLOE_DEMO_WAREHOUSE": str(base / "warehouse.duckdb"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "NO_COLOR": "1",
        "COLUMNS": "250",
    }
    for variable in ("FLOE_CONFIG", "FLOE_PLATFORM_FILE", "FLOE_PLATFORM_ENV", "DG_PROJECT_PYTHON_EXECUTABLE"):
        env.pop(variable, None)
    for variable in [name for name in env if name.startswith(("OTEL_", "OPENLINEAGE"))]:
        env.pop(variable)
    dbt_dir = demo / "dbt"
    parsed = subprocess.run(
        [str(BIN / "dbt"), "parse", "--project-dir", str(dbt_dir), "--profiles-dir", str(dbt_dir), "--target", "dev"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr
    return DgProject(root=demo / "dg", env=env)


def test_a_second_floe_component_scaffolded_into_the_demo_project_loads_and_runs_with_its_own_telemetry(
    tmp_path: Path,
) -> None:
    project = copy_demo_dg(tmp_path)

    scaffolded = project.dg("scaffold", "defs", COMPONENT_TYPE, "my_pipeline")
    returncode, checked = project.dg_output("check", "defs")
    launched = project.dg("launch", "--assets", 'key:"bronze/raw_customers"')

    assert scaffolded.returncode == 0, scaffolded.stdout + scaffolded.stderr
    assert returncode == 0, checked
    assert "All definitions loaded successfully" in checked
    assert launched.returncode == 0, launched.stdout + launched.stderr
    # the run of the demo's asset is observed by the demo component's executor, into the demo's sinks
    demo_spans = read_spans(tmp_path / "demo" / ".floe" / "traces" / "shop.jsonl")
    assert any(span["attributes"].get("dagster.job_name") == "__ASSET_JOB" for span in demo_spans)
    assert list((project.root / "shop_dg" / "defs" / "my_pipeline").rglob("*.jsonl")) == []


def test_two_floe_components_with_different_executor_types_name_both_platform_files(tmp_path: Path) -> None:
    project = copy_demo_dg(tmp_path)
    scaffolded = project.dg("scaffold", "defs", COMPONENT_TYPE, "my_pipeline")
    assert scaffolded.returncode == 0, scaffolded.stdout + scaffolded.stderr
    folder = project.root / "shop_dg" / "defs" / "my_pipeline"
    (folder / "platform.yaml").write_text("environment: test\nexecution:\n  executor: {type: in_process}\n")
    (folder / "defs.yaml").write_text((folder / "defs.yaml").read_text() + "  platform: platform.yaml\n")

    returncode, output = project.dg_output("check", "defs")

    assert returncode == 1, output
    line = next(line for line in output.splitlines() if "execution.executor.type: 'multiprocess'" in line)
    assert line.startswith(
        f"{tmp_path}/demo/platform/local.yaml:11:14: execution.executor.type: 'multiprocess' (the floe component in "
        "shop_dg/defs/shop/defs.yaml) differs from shop_dg/defs/my_pipeline/platform.yaml:3:14: "
        "execution.executor.type: 'in_process' (the floe component in shop_dg/defs/my_pipeline/defs.yaml)"
    ), line
    assert line.endswith("give them the same platform file, or the same executor section")
