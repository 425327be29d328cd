"""The step server's last preload module: importing it builds the project the server was started for.

Only the fork server of :mod:`floe_definitions.execution.warm_steps` imports this module (it is the one floe module
whose import loads a project). It reads :data:`~floe_definitions.execution.warm_steps.WARM_PROJECT_ENV`, removes it
from the server's environment (so steps and the processes they start do not see it) and loads the project into
:data:`~floe_definitions.execution.warm_steps.WARM_PROJECTS`, where every step forked afterwards finds it. A project
that fails to load leaves the cache empty: each step then loads it itself and fails with floe's located error.
"""

from __future__ import annotations

import json
import logging
import os

from floe_definitions.execution.warm_steps import WARM_PROJECT_ENV
from floe_definitions.project import load_project_reused

_named = os.environ.pop(WARM_PROJECT_ENV, None)
if _named:
    _floe_yaml, _platform_file = json.loads(_named)
    try:
        load_project_reused(_floe_yaml, _platform_file)
    except Exception:  # the steps report it, located; the server must stay up to fork them
        logging.getLogger("floe_definitions").debug("step server: the project did not load", exc_info=True)
