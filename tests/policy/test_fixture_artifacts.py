"""The test projects' dbt manifests are parsed from their SQL at test time: none is committed, so none can drift."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DBT_ARTIFACTS = ("manifest.json", "partial_parse.msgpack", "semantic_manifest.json", "run_results.json")


def test_no_test_project_commits_dbt_artifacts() -> None:
    git = shutil.which("git")
    if git is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the committed files cannot be listed")
    listed = subprocess.run(
        [git, "ls-files", "packages", "demo"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    committed = [path for path in listed if "/tests/" in path and Path(path).name in DBT_ARTIFACTS]
    assert committed == []
