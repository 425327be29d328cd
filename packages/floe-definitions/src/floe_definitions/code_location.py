"""The code location ``floe dev`` serves: ``FloeDefinitions.from_floe_yaml()`` of the floe.yaml ``FLOE_CONFIG`` names.

Importing this module loads nothing: ``defs`` is Dagster's lazy ``@dg.definitions`` entry point, which the code
server (a ``workspace.yaml`` ``python_module``, ``dagster dev -m``) calls to build the definitions. Tools that import
every submodule (a dg project's ``registry_modules``, documentation builders) see a function, not a project.
"""

from __future__ import annotations

import dagster as dg

from floe_definitions.facade import FloeDefinitions


@dg.definitions
def defs() -> dg.Definitions:
    """Build the definitions of the floe.yaml ``FLOE_CONFIG`` names (else the current directory's)."""
    return FloeDefinitions.from_floe_yaml()
