"""compile_artifacts: the resolved spec and platform as one JSON document that round-trips."""

import hashlib
from pathlib import Path

import pytest

from floe_config import CompiledArtifacts, ConfigError, compile_artifacts
from floe_config.errors import ConfigFileError


@pytest.fixture
def project(tmp_path: Path, sample_text: str) -> Path:
    (tmp_path / "floe.yaml").write_text(sample_text)
    (tmp_path / "platform.yaml").write_text("environment: ci\ntracing: {type: console}\n")
    return tmp_path


def test_compiles_resolved_values(project: Path):
    artifacts = compile_artifacts(project / "floe.yaml", environ={"DBT_TARGET": "prod", "RETENTION_DAYS": "7"})
    assert artifacts.schema_version == 1
    assert artifacts.project_dir == str(project.resolve())
    assert artifacts.spec.orchestration.dbt is not None
    assert artifacts.spec.orchestration.dbt.target == "prod"
    assert artifacts.platform_chosen_by == "defaults"
    assert artifacts.platform_file is None


def test_hashes_the_source_files(project: Path):
    artifacts = compile_artifacts(project / "floe.yaml", platform=project / "platform.yaml", environ={})
    floe_hash = hashlib.sha256((project / "floe.yaml").read_bytes()).hexdigest()
    platform_hash = hashlib.sha256((project / "platform.yaml").read_bytes()).hexdigest()
    assert artifacts.floe_yaml.sha256 == floe_hash
    assert artifacts.platform_file is not None
    assert artifacts.platform_file.sha256 == platform_hash
    assert artifacts.sources_sha256 == hashlib.sha256((floe_hash + platform_hash).encode()).hexdigest()
    assert artifacts.platform.environment == "ci"


def test_json_round_trip(project: Path, tmp_path: Path):
    artifacts = compile_artifacts(project / "floe.yaml", platform=project / "platform.yaml", environ={})
    path = tmp_path / "compiled.json"
    path.write_text(artifacts.to_json())
    assert CompiledArtifacts.read(path) == artifacts
    assert CompiledArtifacts.from_json(artifacts.to_json()).to_json() == artifacts.to_json()


def test_problems_of_both_files_are_reported_together(project: Path):
    (project / "floe.yaml").write_text("name: shop\nversion: 2.0\n")
    (project / "platform.yaml").write_text("tracing: {type: carrier_pigeon}\n")
    with pytest.raises(ConfigError) as caught:
        compile_artifacts(project / "floe.yaml", platform=project / "platform.yaml", environ={})
    assert [issue.path for issue in caught.value.issues] == ["version", "tracing.type"]


def test_missing_floe_yaml_is_a_file_error(tmp_path: Path):
    with pytest.raises(ConfigFileError):
        compile_artifacts(tmp_path / "floe.yaml", environ={})


def test_invalid_json_artifacts_are_a_config_error():
    with pytest.raises(ConfigError) as caught:
        CompiledArtifacts.from_json('{"schema_version": 2}', file="compiled.json")
    assert caught.value.issues[0].file == "compiled.json"
