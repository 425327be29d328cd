"""The installed `floe-config` command as a user runs it: exit codes, no traceback, and what it imports."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).parents[1]
SAMPLE = TESTS_DIR / "samples" / "floe.yaml"
CORPUS = sorted((TESTS_DIR / "corpus").glob("*.yaml"))
sys.path.insert(0, str(TESTS_DIR))
from check_import_boundary import imported_modules  # noqa: E402


def clean_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith("FLOE_PLATFORM_")}


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "floe_config.cli", *args],
        capture_output=True,
        text=True,
        env=env or clean_env(),
        cwd=cwd,
        check=False,
        timeout=60,
    )


def test_console_script_validates_the_sample():
    script = shutil.which("floe-config", path=str(Path(sys.executable).parent))
    assert script is not None
    result = subprocess.run(
        [script, "validate", str(SAMPLE)], capture_output=True, text=True, env=clean_env(), check=False
    )
    assert result.returncode == 0
    assert result.stdout.endswith(
        "valid (4 jobs, 1 schedule, 3 sensors, 1 backfill, 4 partitions definitions, 3 asset patterns)\n"
    )


@pytest.mark.parametrize("path", CORPUS, ids=[path.stem for path in CORPUS])
def test_broken_files_exit_1_without_traceback(path: Path):
    result = run_cli("validate", path.name, cwd=path.parent)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout.startswith(f"{path.name}:")


def test_unreadable_file_exits_2(tmp_path: Path):
    result = run_cli("validate", str(tmp_path))
    assert result.returncode == 2
    assert result.stdout == f"{tmp_path}: is a directory, not a YAML file\n"
    assert "Traceback" not in result.stderr


def test_usage_error_exits_2():
    result = run_cli("frobnicate")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_plain_validate_imports_neither_pydantic_settings_nor_croniter():
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "floe_config.cli", "validate", str(SAMPLE)],
        capture_output=True,
        text=True,
        env=clean_env(),
        check=False,
    )
    assert result.returncode == 0
    modules = imported_modules(result.stderr)
    assert "pydantic" in modules
    assert "pydantic_settings" not in modules
    assert "croniter" not in modules


def test_platform_env_imports_pydantic_settings(tmp_path: Path):
    (tmp_path / "floe.yaml").write_text(SAMPLE.read_text())
    (tmp_path / "platform").mkdir()
    (tmp_path / "platform" / "ci.yaml").write_text("tracing: {type: console}\n")
    env = {**clean_env(), "FLOE_PLATFORM_ENV": "ci"}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "floe_config.cli", "validate"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stdout
    assert "pydantic_settings" in imported_modules(result.stderr)
    assert "platform/ci.yaml: valid (chosen by FLOE_PLATFORM_ENV)" in result.stdout


def test_import_boundary_script_passes():
    result = subprocess.run(
        [sys.executable, str(TESTS_DIR / "check_import_boundary.py")], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: validate imported ")
