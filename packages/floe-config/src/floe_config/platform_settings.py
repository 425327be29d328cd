"""The ``FLOE_*`` environment settings that choose the platform file, read with pydantic-settings.

Imported only when a ``FLOE_PLATFORM_*`` variable is set: pydantic-settings costs about 0.3 s to import, which
``floe-config validate`` should not pay for nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic_settings import BaseSettings, SettingsConfigDict

from floe_config import _compat


class FloePlatformSettings(BaseSettings):
    """Which platform file applies: an explicit file, or an environment name resolved beside floe.yaml."""

    model_config = SettingsConfigDict(env_prefix="FLOE_", extra="ignore", frozen=True, env_ignore_empty=True)

    platform_file: str | None = None
    """``FLOE_PLATFORM_FILE``: path of the platform file (relative to the working directory)."""
    platform_env: str | None = None
    """``FLOE_PLATFORM_ENV``: environment name; selects ``platform/<env>.yaml`` beside floe.yaml."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> FloePlatformSettings:
        """Read the settings from ``environ`` (not necessarily ``os.environ``).

        Args:
            environ: The environment to read ``FLOE_*`` variables from.

        Returns:
            The settings.
        """
        return cls.model_validate(_compat.env_settings_values(cls, environ))
