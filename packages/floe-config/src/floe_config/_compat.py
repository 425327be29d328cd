"""Every private API floe-config uses, behind a probe (floe-config has no Dagster: this is its own compat module).

Nothing else in the package reaches into a third-party internal. When a probe fails (an upgrade changed the
internal, or ``FLOE_COMPAT_DISABLE`` names the capability), floe-config takes the public path below and logs one
WARNING per process naming the capability and that path.

Capabilities:

- ``settings_env_vars``: read ``FLOE_*`` settings from a given environment (not ``os.environ``) by setting
  pydantic-settings' ``EnvSettingsSource.env_vars`` (``platform_settings.py``); pydantic-settings has no public way
  to hand a source another environment. Fallback: the settings' fields are read from the environment with the
  same rules (prefix, case-insensitive names, empty values ignored) and validated by the settings model.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from floe_config.probes import DISABLE_ENV as DISABLE_ENV  # tests switch probes off by it
from floe_config.probes import Capability, Probes

_PROBES = Probes("floe-config", "pydantic-settings", logging.getLogger("floe_config"))
disabled = _PROBES.disabled
warn_unavailable = _PROBES.warn_unavailable


SETTINGS_ENV_VARS = Capability(
    "settings_env_vars", "the settings' fields read from the environment by floe-config itself (same rules)"
)
CAPABILITIES = (SETTINGS_ENV_VARS,)


def env_settings_values(settings_cls: Any, environ: Mapping[str, str]) -> dict[str, Any]:
    """Return the values a pydantic-settings class reads from ``environ``, ready for ``model_validate``.

    Args:
        settings_cls: A ``pydantic_settings.BaseSettings`` subclass with an ``env_prefix`` and ``env_ignore_empty``.
        environ: The environment to read (not necessarily ``os.environ``).

    Returns:
        Field name -> raw value, for the fields ``environ`` sets.
    """
    lowered = {key.lower(): value for key, value in environ.items() if value != ""}
    if not disabled(SETTINGS_ENV_VARS):
        from pydantic_settings import EnvSettingsSource

        source = EnvSettingsSource(settings_cls)
        if isinstance(getattr(source, "env_vars", None), Mapping):
            # what pydantic-settings' own (private) parse_env_vars does here: keys case-insensitive, empty values unset
            source.env_vars = lowered
            values: dict[str, Any] = source()
            return values
    warn_unavailable(SETTINGS_ENV_VARS)
    prefix = str(settings_cls.model_config.get("env_prefix", "")).lower()
    return {name: lowered[prefix + name] for name in settings_cls.model_fields if prefix + name in lowered}
