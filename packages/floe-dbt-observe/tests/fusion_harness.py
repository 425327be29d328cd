"""dbt Fusion in tests: where its ``dbt`` is, the fixture project as Fusion accepts it, its DuckDB driver offline.

The noxfile's ``tests(floe-dbt-observe)`` session installs Fusion (the ``dbt`` 2.0 pre-release wheel, a native
binary) into a venv of its own beside the session's and passes its path as ``FLOE_TEST_FUSION_DBT``; tests needing
a real Fusion skip, saying so, without it.

Fusion loads its DuckDB driver (ADBC) as ``libduckdb.so`` from the library path, else downloads it at run time,
which fails on a machine that reaches package registries only. The ``duckdb`` wheel's extension module is such a
driver (it exports ``duckdb_adbc_init``); it needs the Python C API's symbols, so libpython is preloaded into Fusion.
"""

from __future__ import annotations

import importlib.util
import os
import sysconfig
from pathlib import Path

FUSION_ENV = "FLOE_TEST_FUSION_DBT"
FUSION_WHEEL = "dbt==2.0.0rc196"
"""The Fusion release the tests and the recorded logs (tests/data/dbt-fusion) use."""


def fusion_executable() -> tuple[Path | None, str]:
    """Return the Fusion ``dbt`` named by ``FLOE_TEST_FUSION_DBT``, or None and why there is none."""
    value = os.environ.get(FUSION_ENV)
    if not value:
        return None, (
            f"dbt Fusion not installed: {FUSION_ENV} is unset (`uvx nox -s 'tests(floe-dbt-observe)'` installs "
            f"{FUSION_WHEEL} into a venv of its own and sets it; or point it at a Fusion `dbt`)"
        )
    path = Path(value)
    if not (path.is_file() and os.access(path, os.X_OK)):
        return None, f"{FUSION_ENV}={value} is not an executable file (the Fusion wheel did not install here?)"
    return path, ""


def fusion_duckdb_env(directory: Path) -> tuple[dict[str, str] | None, str]:
    """Return the environment that lets Fusion open DuckDB offline, or None and why it cannot.

    Args:
        directory: Where the ``libduckdb.so`` link is made.
    """
    spec = importlib.util.find_spec("_duckdb")
    if spec is None or spec.origin is None:
        return None, "the duckdb wheel's extension module (_duckdb) is not installed"
    libpython = Path(str(sysconfig.get_config_var("LIBDIR") or "")) / str(sysconfig.get_config_var("LDLIBRARY") or "")
    if not libpython.is_file() or (not libpython.name.endswith(".so") and ".so." not in libpython.name):
        return None, f"this Python has no shared libpython ({libpython}) to give Fusion's DuckDB driver its symbols"
    directory.mkdir(parents=True, exist_ok=True)
    link = directory / "libduckdb.so"
    if not link.exists():
        link.symlink_to(spec.origin)
    library_path = os.pathsep.join(filter(None, [str(directory), os.environ.get("LD_LIBRARY_PATH")]))
    return {"LD_LIBRARY_PATH": library_path, "LD_PRELOAD": str(libpython)}, ""


def fusion_compatible(project: Path) -> None:
    """Move a source table's ``meta`` under ``config:``: Fusion rejects it at the top level (dbt1060)."""
    path = project / "models" / "staging" / "_sources.yml"
    text = path.read_text()
    old = '        meta:\n          dagster:\n            asset_key: ["bronze", "raw_orders"]\n'
    new = '        config:\n          meta:\n            dagster:\n              asset_key: ["bronze", "raw_orders"]\n'
    assert old in text, "the fixture project's source meta moved: update fusion_compatible"
    path.write_text(text.replace(old, new))
