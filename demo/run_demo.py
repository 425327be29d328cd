"""Run the demo pipeline (not built yet)."""

import sys

sys.exit("floe demo: not built yet - see the floe-definitions and demo issue")
