"""What every floe ``_compat`` module does around its probes: a capability, its off switch, its one WARNING.

A capability is one use of a private API and the public path taken without it. ``FLOE_COMPAT_DISABLE`` (comma-separated
capability names) fails a probe on purpose: tests use it, and so can a user working around an upgrade. When a probe
fails, the package logs one WARNING per process and capability naming both. floe-config, floe-loaders and
floe-definitions share this module (the siblings through ``floe_config.integration``); floe-dbt-observe, which
depends on no floe package, keeps the same few lines in its own ``_compat``.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass

DISABLE_ENV = "FLOE_COMPAT_DISABLE"
"""Comma-separated capability names whose probe fails on purpose (tests; a user working around an upgrade)."""


@dataclass(frozen=True)
class Capability:
    """One use of a private API: its name and what floe does without it."""

    name: str
    slower_path: str


class Probes:
    """One package's probes: whether a capability is switched off, and the WARNING when it is unavailable.

    Args:
        package: The distribution a WARNING names (``floe-loaders``).
        probed: What the package's probes look at, for the WARNING (``Dagster``).
        logger: The package's logger.
    """

    def __init__(self, package: str, probed: str, logger: logging.Logger) -> None:
        self.package = package
        self.probed = probed
        self.logger = logger
        # once per process and capability; tests call ``warn_unavailable.cache_clear()`` to see it again
        self.warn_unavailable = functools.cache(self._warn)

    @staticmethod
    def disabled(capability: Capability) -> bool:
        """Return whether ``FLOE_COMPAT_DISABLE`` turns the capability's probe off."""
        return capability.name in {name.strip() for name in os.environ.get(DISABLE_ENV, "").split(",")}

    def _warn(self, capability: Capability) -> None:
        """Log that floe takes the slower public path (through :attr:`warn_unavailable`, once per capability)."""
        self.logger.warning(
            "%s: %s is unavailable on this %s (or disabled by %s); using %s",
            self.package,
            capability.name,
            self.probed,
            DISABLE_ENV,
            capability.slower_path,
        )
