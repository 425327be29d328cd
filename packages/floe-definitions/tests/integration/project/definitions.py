"""The fixture project's code location, loaded by file in tests (floe.yaml beside this module)."""

from floe_definitions import FloeDefinitions

defs = FloeDefinitions.from_floe_yaml()
