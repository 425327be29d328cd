"""The contract between floe-definitions and the workspace's demo and bench.

What the demo needs beyond ``floe_definitions.__all__`` to run a project the way floe's own commands do and check
what it emitted: the project's Dagster instance, where its spans and lineage go (and the standard variables that
decide it), a run's trace id and its hex form, the OTLP/JSON form of a trace request and the path shown in messages.
It is for floe's workspace, not for users (who read ``floe_definitions.__all__``); a workspace test
(``tests/policy``) keeps every import of floe-definitions from outside it on ``__all__`` or this module.
"""

from floe_dbt_observe.integration import format_trace_id
from floe_definitions.instance.home import open_instance
from floe_definitions.project_files import dagster_home, display_path
from floe_definitions.telemetry.otlp_json import request_dict
from floe_definitions.telemetry.run_trace import run_trace_id
from floe_definitions.telemetry.sinks import (
    OTLP_ENDPOINT_VARS,
    OTLP_PROTOCOL_VARS,
    LineageSink,
    SpanSink,
    lineage_sink,
    span_sink,
)

__all__ = [
    "OTLP_ENDPOINT_VARS",
    "OTLP_PROTOCOL_VARS",
    "LineageSink",
    "SpanSink",
    "dagster_home",
    "display_path",
    "format_trace_id",
    "lineage_sink",
    "open_instance",
    "request_dict",
    "run_trace_id",
    "span_sink",
]
