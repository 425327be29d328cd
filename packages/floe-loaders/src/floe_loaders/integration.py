"""The contract between floe-loaders and floe's sibling packages (floe-definitions) and the workspace's bench.

What they use beyond ``floe_loaders.__all__``: partitions, asset-pattern settings, selection parsing and its
unmatched terms, backfill planning, the location type of floe.yaml errors and the file-watcher sensor builder
(which the bench times). It is for floe's own packages, not for users (who read ``floe_loaders.__all__``); a
workspace test (``tests/policy``) keeps every sibling import on ``__all__`` or this module. The names are
re-exported from the modules that define them.
"""

from floe_loaders.asset_patterns import build_automation_condition, build_backfill_policy
from floe_loaders.asset_settings import resolve_asset_settings
from floe_loaders.backfill_plan import plan_backfill
from floe_loaders.file_watcher import build_file_watcher_sensor
from floe_loaders.jobs import parse_selection
from floe_loaders.locations import Locate
from floe_loaders.partitions import build_partitions
from floe_loaders.selection_terms import unmatched_terms

__all__ = [
    "Locate",
    "build_automation_condition",
    "build_backfill_policy",
    "build_file_watcher_sensor",
    "build_partitions",
    "parse_selection",
    "plan_backfill",
    "resolve_asset_settings",
    "unmatched_terms",
]
