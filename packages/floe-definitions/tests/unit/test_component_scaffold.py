from __future__ import annotations

import json
from pathlib import Path

import pytest

from floe_config import load_floe_spec
from floe_definitions.component_scaffold import SCHEMA_FILE, starter_files, starter_name


@pytest.mark.parametrize(
    ("folder", "name"),
    [
        ("my_pipeline", "my_pipeline"),
        ("my-pipeline", "my_pipeline"),
        ("2024 sales", "pipeline_2024_sales"),
        ("--", "pipeline"),
    ],
)
def test_starter_name_is_a_valid_floe_name_made_from_the_folder_name(folder: str, name: str) -> None:
    assert starter_name(folder) == name


def test_starter_floe_yaml_validates_and_its_modeline_names_the_schema_written_beside_it(tmp_path: Path) -> None:
    for file_name, text in starter_files("orders-daily").items():
        (tmp_path / file_name).write_text(text)

    spec = load_floe_spec(tmp_path / "floe.yaml")

    assert spec.name == "orders_daily"
    first_line = (tmp_path / "floe.yaml").read_text().splitlines()[0]
    assert first_line == f"# yaml-language-server: $schema={SCHEMA_FILE}"
    schema = json.loads((tmp_path / SCHEMA_FILE).read_text())
    assert "orchestration" in schema["properties"]
