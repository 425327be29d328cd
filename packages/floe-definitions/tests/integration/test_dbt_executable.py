"""platform.yaml's ``dbt.executable``: the dbt steps run and parse with, checked where the file names it.

The dbt Fusion cases need a real Fusion ``dbt`` (``FLOE_TEST_FUSION_DBT``, which the noxfile's test session sets
after installing Fusion's wheel into a venv of its own) and skip, saying why, without it.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from floe_definitions import load_project
from floe_definitions.errors import DefinitionsLoadError

FUSION_ENV = "FLOE_TEST_FUSION_DBT"


def _load(copy: Any, platform: str) -> object:
    (copy.root / "platform.yaml").write_text(platform)
    return load_project(copy.floe_yaml, environ={**os.environ, **copy.env})


def _line_of(copy: Any, text: str) -> int:
    lines = (copy.root / "platform.yaml").read_text().splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


@pytest.fixture
def copy(tmp_path: Path, copy_project: Any, request: pytest.FixtureRequest) -> Any:
    # one process imports each asset package name once: a name per test
    return copy_project(tmp_path, package=f"exe_assets_{request.node.name}")


@pytest.fixture
def fusion_dbt() -> Path:
    value = os.environ.get(FUSION_ENV)
    if not value or not os.access(value, os.X_OK):
        pytest.skip(
            f"dbt Fusion not installed: {FUSION_ENV} is unset or not executable (the noxfile's tests session sets it)"
        )
    return Path(value)


def test_a_missing_executable_is_named_with_its_key_and_line(copy: Any) -> None:
    with pytest.raises(DefinitionsLoadError) as raised:
        _load(copy, "environment: test\ndbt:\n  executable: venv-fusion/bin/dbt\n")
    message = str(raised.value)
    assert message.startswith(f"{copy.root / 'platform.yaml'}:{_line_of(copy, 'executable')}:3: dbt.executable: ")
    assert "dbt.executable" in message
    assert "'venv-fusion/bin/dbt' does not exist" in message
    assert str(copy.root / "venv-fusion" / "bin" / "dbt") in message
    assert "point dbt.executable at a dbt-core or dbt Fusion `dbt`" in message


def test_a_file_that_is_not_executable_is_refused(copy: Any) -> None:
    (copy.root / "dbt-copy").write_text("#!/bin/sh\n")
    with pytest.raises(DefinitionsLoadError, match=r"dbt\.executable: dbt executable './dbt-copy' is not executable"):
        _load(copy, "environment: test\ndbt:\n  executable: ./dbt-copy\n")


def test_a_command_name_not_on_path_is_refused(copy: Any) -> None:
    with pytest.raises(DefinitionsLoadError, match=r"dbt\.executable.*'dbt-nowhere-to-be-found' is not on PATH"):
        _load(copy, "environment: test\ndbt:\n  executable: dbt-nowhere-to-be-found\n")


def test_the_named_executable_runs_the_steps(copy: Any) -> None:
    venv_dbt = Path(os.path.normpath(Path(sys.executable).parent / "dbt"))
    project = _load(copy, f"environment: test\ndbt:\n  executable: {venv_dbt}\n")
    assert project.definitions.resources["dbt"].dbt_executable == str(venv_dbt)  # type: ignore[attr-defined]


def test_fusion_parses_and_runs_the_steps(copy: Any, fusion_dbt: Path) -> None:
    project = _load(copy, f"environment: test\ndbt:\n  executable: {fusion_dbt}\n")
    assert project.definitions.resources["dbt"].dbt_executable == str(fusion_dbt)  # type: ignore[attr-defined]
    manifest = (copy.root / "dbt" / "target" / "manifest.json").read_text()
    assert '"dbt_version":"2.' in manifest.replace(" ", "")  # parsed by Fusion


def test_fusion_in_process_is_refused_at_the_invocation_key(copy: Any, fusion_dbt: Path) -> None:
    platform = f"environment: test\ndbt:\n  executable: {fusion_dbt}\n  invocation: in_process\n"
    with pytest.raises(DefinitionsLoadError) as raised:
        _load(copy, platform)
    message = str(raised.value)
    assert message.startswith(f"{copy.root / 'platform.yaml'}:{_line_of(copy, 'invocation')}:3: dbt.invocation: ")
    assert "dbt.invocation" in message
    assert "dbt Fusion 2." in message
    assert "set dbt.invocation: subprocess" in message
