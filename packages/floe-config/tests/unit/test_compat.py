"""floe-config's one private-API capability: its probe passes on the locked pydantic-settings, and the switch that
fails it on purpose (``FLOE_COMPAT_DISABLE``) gives the same settings with one WARNING naming it."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from floe_config import _compat
from floe_config.platform_settings import FloePlatformSettings

ENVIRONS = [
    {"FLOE_PLATFORM_FILE": "platform/dev.yaml", "FLOE_PLATFORM_ENV": "prod", "OTHER": "x"},
    {"floe_platform_env": "staging"},  # names are case-insensitive, as pydantic-settings reads them
    {"FLOE_PLATFORM_FILE": "", "FLOE_PLATFORM_ENV": "prod"},  # an empty value is unset
    {},
]


@pytest.fixture(autouse=True)
def _fresh_warnings() -> Iterator[None]:
    _compat.warn_unavailable.cache_clear()
    yield
    _compat.warn_unavailable.cache_clear()


def _warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.levelno == logging.WARNING and _compat.SETTINGS_ENV_VARS.name in r.getMessage()
    ]


@pytest.mark.parametrize("environ", ENVIRONS)
def test_the_settings_are_the_same_whether_or_not_the_probe_passes(
    environ: dict[str, str], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(_compat.DISABLE_ENV, raising=False)
    with caplog.at_level(logging.WARNING):
        with_probe = FloePlatformSettings.from_environ(environ)
    assert not _warnings(caplog)
    monkeypatch.setenv(_compat.DISABLE_ENV, _compat.SETTINGS_ENV_VARS.name)
    with caplog.at_level(logging.WARNING):
        assert FloePlatformSettings.from_environ(environ) == with_probe
        FloePlatformSettings.from_environ(environ)
    assert len(_warnings(caplog)) == 1
