"""Which platform file applies: ``--platform``, ``FLOE_PLATFORM_FILE``, ``FLOE_PLATFORM_ENV``, or none (defaults).

Kept apart from the platform models so ``floe-config validate`` can decide that no platform file applies without
building the platform models or importing pydantic-settings.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from floe_config.errors import ConfigIssue, PlatformSettingsError

_ENV_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def resolve_platform_file(
    path: str | os.PathLike[str] | None = None,
    *,
    floe_yaml: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[str | None, str]:
    """Decide which platform file applies, without reading it.

    Args:
        path: An explicit file (the CLI's ``--platform``); wins over the environment.
        floe_yaml: The floe.yaml the platform file belongs to; ``platform/<env>.yaml`` is looked up beside it.
        environ: Where ``FLOE_*`` variables are read; ``os.environ`` when omitted.

    Returns:
        The file name (as it should appear in messages) or ``None`` for the defaults, and how it was chosen.

    Raises:
        PlatformSettingsError: ``FLOE_PLATFORM_ENV`` is not a plain environment name.
    """
    if path is not None:
        return os.fspath(path), "argument"
    env = os.environ if environ is None else environ
    if not any(key.upper().startswith("FLOE_PLATFORM_") for key in env):
        return None, "defaults"
    # pydantic-settings is imported only here: it costs ~0.3 s, which a plain `validate` should not pay.
    from floe_config.platform_settings import FloePlatformSettings

    settings = FloePlatformSettings.from_environ(env)
    if settings.platform_file:
        return settings.platform_file, "FLOE_PLATFORM_FILE"
    if settings.platform_env:
        if not _ENV_NAME.match(settings.platform_env):
            message = (
                f"FLOE_PLATFORM_ENV={settings.platform_env!r} is not an environment name; use letters, digits, "
                "'_', '-' or '.', e.g. 'prod'"
            )
            raise PlatformSettingsError([ConfigIssue("FLOE_PLATFORM_ENV", 0, 0, "", message)])
        base = Path(os.fspath(floe_yaml)).parent if floe_yaml is not None else Path()
        return os.fspath(base / "platform" / f"{settings.platform_env}.yaml"), "FLOE_PLATFORM_ENV"
    return None, "defaults"
