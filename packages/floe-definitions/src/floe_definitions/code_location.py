"""The code location ``floe dev`` serves: ``FloeDefinitions.from_floe_yaml()`` of the floe.yaml ``FLOE_CONFIG`` names.

Imported by Dagster's code server only (importing it builds the definitions).
"""

from __future__ import annotations

from floe_definitions.facade import FloeDefinitions

defs = FloeDefinitions.from_floe_yaml()
