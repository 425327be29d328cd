"""``floe check`` on broken projects: located errors, exit 1, never a traceback, never a hang.

Two corpora: the projects here, broken in ways only loading them shows (a selection or one term of it matching
nothing, an asset dependency cycle, a watched asset that does not exist, a misspelled or ill-fitting ops
function, a wrong dbt project_dir, a dbt project that does not parse, a model referencing a missing model, a
module raising at import), each checked by the installed ``floe`` console script in a subprocess with a
timeout; and every broken floe.yaml of floe-config's corpus, which ``floe check`` must report at the same line
and column as ``floe-config validate`` (run in-process here: one Dagster import for sixty files instead of
sixty).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from floe_definitions.commands.cli import main

HERE = Path(__file__).parent
PROJECTS = sorted(path.parent for path in HERE.glob("*/floe.yaml"))
CONFIG_CORPUS = sorted((HERE.parents[2] / "floe-config" / "tests" / "corpus").glob("*.yaml"))
TIMEOUT_SECONDS = 180


def expectations(path: Path) -> list[str]:
    """Return the ``# expect:`` lines of a floe.yaml, without the prefix."""
    lines = path.read_bytes().decode("ascii", errors="replace").splitlines()
    return [line.removeprefix("# expect: ") for line in lines if line.startswith("# expect: ")]


def clean_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(("FLOE_", "DAGSTER_HOME"))}


def test_graph_corpus_has_a_cycle_empty_selections_and_a_misspelled_function():
    names = {path.name for path in PROJECTS}
    assert {"asset_cycle", "selection_matches_nothing", "selection_term_typo", "target_function_typo"} <= names


@pytest.mark.parametrize("project", PROJECTS, ids=[path.name for path in PROJECTS])
def test_floe_check_reports_graph_errors_located(project: Path, tmp_path: Path) -> None:
    copy = tmp_path / project.name
    shutil.copytree(project, copy, ignore=shutil.ignore_patterns("__pycache__", ".floe"))
    script = shutil.which("floe", path=str(Path(sys.executable).parent))
    assert script is not None, "the floe console script is not installed in this environment"
    result = subprocess.run(
        [script, "check", "."],
        cwd=copy,
        env={**clean_env(), "DAGSTER_HOME": str(tmp_path / "dagster_home")},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == 1, (result.stdout, result.stderr)
    located = [line for line in result.stdout.splitlines() if line.startswith("floe.yaml:")]
    assert located == [f"floe.yaml:{line}" for line in expectations(copy / "floe.yaml")]


@pytest.mark.parametrize("path", CONFIG_CORPUS, ids=[path.stem for path in CONFIG_CORPUS])
def test_floe_check_locates_each_config_corpus_error_like_floe_config(
    path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(path.parent)
    for key in [key for key in os.environ if key.startswith(("FLOE_CORPUS_", "FLOE_PLATFORM_"))]:
        monkeypatch.delenv(key)
    assert main(["check", path.name]) == 1
    captured = capsys.readouterr()
    output = captured.out + captured.err
    assert "Traceback" not in output
    for expected in expectations(path):
        location, _, rest = expected.partition(": ")
        key, _, message = rest.partition(": ")
        candidates = [line for line in output.splitlines() if line.startswith(f"{path.name}:{location}: ")]
        assert candidates, f"{path.name}: nothing reported at {location}:\n{output}"
        assert any(message in line or rest in line for line in candidates), (expected, candidates)
