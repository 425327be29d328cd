from __future__ import annotations

from datetime import UTC, datetime

from floe_definitions.step_event_times import ns_to_event_time, seconds_to_ns


def test_dagster_float_seconds_become_otel_nanoseconds_at_the_microsecond() -> None:
    assert seconds_to_ns(1_700_000_000.123456) == 1_700_000_000_123_456_000
    assert seconds_to_ns(1_700_000_000.0000004) == 1_700_000_000_000_000_000  # below what the float holds
    assert seconds_to_ns(0.0) == 0


def test_an_event_time_is_the_exact_microsecond_in_iso_8601_utc() -> None:
    text = ns_to_event_time(1_700_000_000_123_456_789)
    assert text == "2023-11-14T22:13:20.123456+00:00"
    assert datetime.fromisoformat(text) == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
