"""The demo's Dagster code location: everything comes from floe.yaml beside this file.

Run it with ``dagster dev -m demo.definitions`` from the repository root (or ``dagster dev -f definitions.py``
from ``demo/``).
"""

from floe_definitions import FloeDefinitions

defs = FloeDefinitions.from_floe_yaml()
