"""The dg project's code location: every component under ``defs/``."""

from pathlib import Path

from dagster import Definitions, definitions, load_from_defs_folder


@definitions
def defs() -> Definitions:
    """Load the components of ``defs/``."""
    return load_from_defs_folder(path_within_project=Path(__file__).parent)
