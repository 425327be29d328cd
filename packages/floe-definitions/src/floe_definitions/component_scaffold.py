"""The starter files ``dg scaffold defs floe_definitions.FloeComponent NAME`` writes beside ``defs.yaml``.

A floe.yaml that validates as written, with a modeline pointing editors at the JSON schema written beside it
(the schema of the installed floe-config, so it matches what ``dg check defs`` accepts).
"""

from __future__ import annotations

import re

from floe_config.integration import render_floe_json_schema

SCHEMA_FILE = "floe.schema.json"

_STARTER = """\
# yaml-language-server: $schema={schema}
# floe.yaml: this component's assets, dbt models, jobs, schedules and sensors (checked by `dg check defs`).
name: {name}
version: "0.1.0"
orchestration:
  # Python modules holding @asset functions, relative to this folder (leading dot), e.g. [.{name}_assets]:
  asset_modules: []
  # Every dbt model as its own asset, span and lineage run:
  # dbt: {{project_dir: dbt, target: dev, observability_level: per_model}}
  # jobs:
  #   refresh: {{type: batch, selection: ["*"]}}
  # schedules:
  #   nightly: {{job: refresh, cron_schedule: "0 6 * * *", timezone: UTC}}
observability:
  traces: true
  lineage: true
"""


def starter_name(folder_name: str) -> str:
    """Return a floe pipeline name made from the component's folder name (letters, digits and ``_``).

    Args:
        folder_name: The new component's folder name, e.g. ``my_pipeline``.

    Returns:
        The name, ``pipeline`` when nothing usable is left.
    """
    name = re.sub(r"[^A-Za-z0-9_]+", "_", folder_name).strip("_")
    if not name:
        return "pipeline"
    return name if name[0].isalpha() else f"pipeline_{name}"


def starter_files(folder_name: str) -> dict[str, str]:
    """Return the starter files of a new floe component, by file name.

    Args:
        folder_name: The new component's folder name.

    Returns:
        ``floe.yaml`` and its JSON schema.
    """
    return {
        "floe.yaml": _STARTER.format(schema=SCHEMA_FILE, name=starter_name(folder_name)),
        SCHEMA_FILE: render_floe_json_schema(),
    }
