from __future__ import annotations

from floe_definitions.execution.step_event_times import seconds_to_ns


def test_dagster_float_seconds_become_otel_nanoseconds_at_the_microsecond() -> None:
    assert seconds_to_ns(1_700_000_000.123456) == 1_700_000_000_123_456_000
    assert seconds_to_ns(1_700_000_000.0000004) == 1_700_000_000_000_000_000  # below what the float holds
    assert seconds_to_ns(0.0) == 0
