"""The code location ``floe dev`` serves: ``FloeDefinitions.from_floe_yaml()`` of the floe.yaml ``FLOE_CONFIG`` names.

Importing this module loads nothing: ``defs`` is Dagster's lazy ``@dg.definitions`` entry point, which the code
server (a ``workspace.yaml`` ``python_module``, ``dagster dev -m``) calls to build the definitions. Tools that import
every submodule (a dg project's ``registry_modules``, documentation builders) see a function, not a project.
"""

from __future__ import annotations

import contextlib

import dagster as dg

from floe_definitions.errors import ConfigNotFoundError
from floe_definitions.execution.warm_steps import WARM_PROJECTS
from floe_definitions.facade import FloeDefinitions
from floe_definitions.project import project_key


@dg.definitions
def defs() -> dg.Definitions:
    """Build the definitions of the floe.yaml ``FLOE_CONFIG`` names (else the current directory's).

    A step process forked from a warm step server gets the project the server built, when its files are unchanged
    (:mod:`floe_definitions.execution.warm_steps`); every other process builds it here.
    """
    warm = None
    with contextlib.suppress(ConfigNotFoundError):  # from_floe_yaml says where it looked
        warm = WARM_PROJECTS.peek(*project_key(None))
    return warm.definitions if warm is not None else FloeDefinitions.from_floe_yaml()
