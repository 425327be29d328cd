"""floe-config validate / schema / compile: output formats and exit codes (0 valid, 1 invalid, 2 usage/unreadable)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from floe_config.cli import is_platform_file, main
from floe_config.json_schema import render_floe_json_schema, render_platform_json_schema


@pytest.fixture
def project(tmp_path: Path, sample_text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "floe.yaml").write_text(sample_text)
    monkeypatch.chdir(tmp_path)
    for name in ("FLOE_PLATFORM_FILE", "FLOE_PLATFORM_ENV", "NIGHTLY_CRON", "SCHEDULES_ON"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_validate_valid_file(project: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["validate"]) == 0
    assert capsys.readouterr().out == (
        "floe.yaml: valid (4 jobs, 1 schedule, 3 sensors, 1 backfill, 4 partitions definitions, 3 asset patterns)\n"
    )


def test_validate_invalid_file_prints_located_lines(project: Path, capsys: pytest.CaptureFixture[str]):
    (project / "bad.yaml").write_text("name: shop\norchestration:\n  shedules: {}\n")
    assert main(["validate", "bad.yaml"]) == 1
    captured = capsys.readouterr()
    assert captured.out == "bad.yaml:3:3: orchestration.shedules: unknown key 'shedules' (did you mean 'schedules'?)\n"
    assert captured.err == "floe-config: 1 problem found\n"


def test_validate_json_format(project: Path, capsys: pytest.CaptureFixture[str]):
    (project / "bad.yaml").write_text("name: shop\nversion: 1.0\n")
    assert main(["validate", "bad.yaml", "--format", "json"]) == 1
    payload = json.loads(capsys.readouterr().out)
    assert payload["valid"] is False
    assert payload["issues"] == [
        {
            "file": "bad.yaml",
            "line": 2,
            "column": 10,
            "path": "version",
            "message": "expected text, got the number 1.0; quote it to keep it as text",
            "severity": "error",
        }
    ]


def test_validate_missing_file_exits_2(project: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["validate", "nope.yaml"]) == 2
    assert capsys.readouterr().out == "nope.yaml: file not found\n"


def test_validate_file_over_the_size_limit_exits_1_located(project: Path, capsys: pytest.CaptureFixture[str]):
    # Too big is a problem with the file's content, reported like every invalid file (exit 1), not a usage error.
    (project / "big.yaml").write_bytes(b"name: shop\n" + b"# padding\n" * (9 * 1024 * 1024 // 10))
    assert main(["validate", "big.yaml"]) == 1
    captured = capsys.readouterr()
    assert captured.out.startswith("big.yaml:1:1: file is 9.0 MiB, over the 8 MiB a floe file may be")
    assert captured.err == "floe-config: 1 problem found\n"


def test_compile_file_over_the_size_limit_exits_1(project: Path, capsys: pytest.CaptureFixture[str]):
    (project / "big.yaml").write_bytes(b"name: shop\n" + b"# padding\n" * (9 * 1024 * 1024 // 10))
    assert main(["compile", "big.yaml"]) == 1
    assert "big.yaml:1:1: file is 9.0 MiB" in capsys.readouterr().err


def test_validate_also_checks_the_platform_file(project: Path, capsys: pytest.CaptureFixture[str]):
    (project / "platform.yaml").write_text("execution: {executor: {type: multiproces}}\n")
    assert main(["validate", "--platform", "platform.yaml"]) == 1
    assert capsys.readouterr().out == (
        "platform.yaml:1:30: execution.executor.type: unknown type 'multiproces' (did you mean 'multiprocess'?); "
        "use one of: in_process, multiprocess, celery, k8s\n"
    )


def test_validate_platform_chosen_by_environment(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    (project / "platform").mkdir()
    (project / "platform" / "prod.yaml").write_text("tracing: {type: none}\n")
    monkeypatch.setenv("FLOE_PLATFORM_ENV", "prod")
    assert main(["validate"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "platform/prod.yaml: valid (chosen by FLOE_PLATFORM_ENV)"


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]):
    assert main(["validate", "--format", "xml"]) == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_schema_to_stdout(capsys: pytest.CaptureFixture[str]):
    assert main(["schema"]) == 0
    assert capsys.readouterr().out == render_floe_json_schema()


def test_schema_to_file(tmp_path: Path):
    assert main(["schema", "-o", str(tmp_path / "s.json")]) == 0
    assert (tmp_path / "s.json").read_text() == render_floe_json_schema()


def test_schema_platform_to_stdout(capsys: pytest.CaptureFixture[str]):
    assert main(["schema", "--platform"]) == 0
    assert capsys.readouterr().out == render_platform_json_schema()


def test_validate_takes_a_platform_file_on_its_own(project: Path, capsys: pytest.CaptureFixture[str]):
    (project / "prod.yaml").write_text("environment: prod\nexecution:\n  executor: {type: in_process}\n")
    assert main(["validate", "prod.yaml"]) == 0
    assert capsys.readouterr().out == (
        "prod.yaml: valid platform file (environment 'prod', executor in_process, sqlite instance)\n"
    )


def test_validate_reports_a_platform_files_own_problems_located(project: Path, capsys: pytest.CaptureFixture[str]):
    (project / "prod.yaml").write_text("environment: prod\ntracng: {type: file}\n")
    assert main(["validate", "prod.yaml"]) == 1
    assert capsys.readouterr().out == "prod.yaml:2:1: tracng: unknown key 'tracng' (did you mean 'tracing'?)\n"


def test_validate_detects_a_platform_file_by_its_modeline(project: Path, capsys: pytest.CaptureFixture[str]):
    modeline = "# yaml-language-server: $schema=../floe-config/platform.schema.json\n"
    (project / "empty-platform.yaml").write_text(modeline + "{}\n")
    assert main(["validate", "empty-platform.yaml"]) == 0
    assert "valid platform file (environment 'local'" in capsys.readouterr().out


def test_validate_still_reads_a_file_with_name_as_floe_yaml(project: Path, capsys: pytest.CaptureFixture[str]):
    (project / "mixed.yaml").write_text("name: shop\nenvironment: prod\n")
    assert main(["validate", "mixed.yaml"]) == 1
    assert "mixed.yaml:2:1: environment: unknown key 'environment'" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("environment: prod\n", True),
        ("x: name\nenvironment: prod\n", True),  # 'name' as a value
        ("environment: {name: x, orchestration: y}\n", True),  # nested keys are not top-level ones
        ("environment: [name]\nlineage: {}\n", True),
        ("name: shop\nenvironment: prod\n", False),
        ("environment: prod\norchestration: {}\n", False),  # found after a platform key
        ("'name': shop\nenvironment: prod\n", False),
        ("name: shop\nenvironment: [\n", False),  # stops at 'name', never reaches the broken part
        ("environment: prod\ntracing: {\n", False),  # not YAML
        ("environment: prod\n---\nlineage: {}\n", False),  # more than one document
        ("- environment\n", False),
        ("environment\n", False),
        ("x: 1\n", False),  # no platform key
        ("", False),
    ],
)
def test_is_platform_file_reads_only_top_level_keys(tmp_path: Path, text: str, expected: bool):
    (tmp_path / "f.yaml").write_text(text)
    assert is_platform_file(str(tmp_path / "f.yaml")) is expected


def test_the_command_exits_like_main(project: Path, capsys: pytest.CaptureFixture[str]):
    """``python -m floe_config.cli`` (like the console script) runs ``run``: same output and exit code as ``main``."""
    (project / "bad.yaml").write_text("name: shop\nobservability: {traces: maybe}\n")
    assert main(["validate", "bad.yaml"]) == 1
    expected = capsys.readouterr()
    result = subprocess.run(
        [sys.executable, "-m", "floe_config.cli", "validate", "bad.yaml"], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (1, expected.out, expected.err)


def test_compile_to_file(project: Path):
    assert main(["compile", "-o", "compiled.json"]) == 0
    payload = json.loads((project / "compiled.json").read_text())
    assert payload["spec"]["name"] == "shop"
    assert payload["platform_chosen_by"] == "defaults"


def test_compile_invalid_file_reports_on_stderr(project: Path, capsys: pytest.CaptureFixture[str]):
    (project / "floe.yaml").write_text("name: shop\nobservability: {traces: maybe}\n")
    assert main(["compile"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "floe.yaml:2:25: observability.traces: expected true or false, got 'maybe'" in captured.err


def test_unwritable_output_exits_2(project: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["schema", "-o", str(project / "missing-dir" / "s.json")]) == 2
    assert capsys.readouterr().err.startswith("floe-config: cannot write ")
