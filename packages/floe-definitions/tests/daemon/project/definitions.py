"""The daemon tests' code location (floe.yaml beside this module; platform from FLOE_PLATFORM_FILE)."""

from floe_definitions import FloeDefinitions

defs = FloeDefinitions.from_floe_yaml()
