"""Count project loads in every Python process of a test that puts this directory on ``PYTHONPATH``.

With ``FLOE_TEST_LOAD_LOG`` set, ``floe_definitions.project.load_project`` appends the loading process's pid to
that file before it loads (the function itself is unchanged). Used for processes a test cannot reach otherwise:
a dagster-celery worker's ``celery`` subprocess and its pool.
"""

import os

if os.environ.get("FLOE_TEST_LOAD_LOG"):
    import functools

    import floe_definitions.project as _project

    _load_project = _project.load_project

    @functools.wraps(_load_project)
    def _counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        with open(os.environ["FLOE_TEST_LOAD_LOG"], "a") as log:
            log.write(f"{os.getpid()}\n")
        return _load_project(*args, **kwargs)

    _project.load_project = _counted
