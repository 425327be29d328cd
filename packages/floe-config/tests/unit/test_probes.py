"""The probe machinery every floe ``_compat`` module shares: the off switch and the one WARNING per capability."""

from __future__ import annotations

import logging

import pytest

from floe_config.probes import DISABLE_ENV, Capability, Probes

CAPABILITY = Capability("some_internal", "the public path")


def test_the_switch_names_capabilities_comma_separated_with_spaces_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    probes = Probes("floe-x", "Dagster", logging.getLogger("floe_x"))
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    assert not probes.disabled(CAPABILITY)
    monkeypatch.setenv(DISABLE_ENV, "other, some_internal ")
    assert probes.disabled(CAPABILITY)
    monkeypatch.setenv(DISABLE_ENV, "some_internal_2")
    assert not probes.disabled(CAPABILITY)


def test_each_package_warns_once_per_capability_on_its_own_logger(caplog: pytest.LogCaptureFixture) -> None:
    first = Probes("floe-x", "Dagster", logging.getLogger("floe_x"))
    second = Probes("floe-y", "pydantic-settings", logging.getLogger("floe_y"))
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            first.warn_unavailable(CAPABILITY)
            second.warn_unavailable(CAPABILITY)
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        (
            "floe_x",
            "floe-x: some_internal is unavailable on this Dagster (or disabled by FLOE_COMPAT_DISABLE); "
            "using the public path",
        ),
        (
            "floe_y",
            "floe-y: some_internal is unavailable on this pydantic-settings (or disabled by FLOE_COMPAT_DISABLE); "
            "using the public path",
        ),
    ]
    first.warn_unavailable.cache_clear()
    with caplog.at_level(logging.WARNING):
        first.warn_unavailable(CAPABILITY)
    assert len(caplog.records) == 3
