"""What a warm process's definitions were built from, so it loads them again when one of those files changes.

A fingerprint is the (path, mtime, size) of floe.yaml, the platform file, the project's source files (``.py``,
``.yml``/``.yaml``, ``.sql``; dbt seeds' ``.csv`` inside the dbt project) and the files of the modules the load
imported. Output and tool directories (``target``, ``logs``, ``.floe``, virtualenvs, caches) and ``DAGSTER_HOME``
are left out: runs write there, and a run must not make the next one reload.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

SOURCE_SUFFIXES = frozenset({".py", ".yml", ".yaml", ".sql"})
DBT_SUFFIXES = SOURCE_SUFFIXES | {".csv", ".md"}
SKIPPED_DIRS = frozenset(
    {"target", "logs", "dbt_packages", ".floe", ".venv", "venv", "__pycache__", ".git", "node_modules", ".work"}
)

Fingerprint = tuple[tuple[str, int, int], ...]


@dataclass(frozen=True)
class ProjectFiles:
    """The files and directories a project's definitions are built from.

    Attributes:
        files: Single files (floe.yaml, the platform file, imported modules).
        source_dirs: Directories walked for ``SOURCE_SUFFIXES`` (floe.yaml's directory).
        dbt_dirs: dbt project directories, walked for ``DBT_SUFFIXES``.
        skipped: Directories never walked (``DAGSTER_HOME``).
    """

    files: frozenset[Path]
    source_dirs: frozenset[Path]
    dbt_dirs: frozenset[Path]
    skipped: frozenset[Path] = frozenset()

    def fingerprint(self) -> Fingerprint:
        """Return the (path, mtime_ns, size) of every file, sorted; a missing file counts as (path, 0, -1)."""
        seen: dict[str, tuple[int, int]] = {}
        for file in self.files:
            seen[os.fspath(file)] = _stat(file)
        for directory in self.source_dirs:
            seen.update(_walk(directory, SOURCE_SUFFIXES, self.skipped))
        for directory in self.dbt_dirs:
            seen.update(_walk(directory, DBT_SUFFIXES, self.skipped))
        return tuple(sorted((path, mtime, size) for path, (mtime, size) in seen.items()))


def project_files(environ: Mapping[str, str], working_directory: str | None, modules: Iterable[str]) -> ProjectFiles:
    """Work out a floe project's files from the environment a warm process loads it in.

    Args:
        environ: The warm process's environment (``FLOE_CONFIG``, ``FLOE_PLATFORM_FILE``, ``DAGSTER_HOME``).
        working_directory: The code location's working directory (floe.yaml's default place).
        modules: Files of the modules the load imported (the definitions module, asset modules).

    Returns:
        The files; floe.yaml's own directory and its dbt project are walked on every fingerprint.
    """
    from floe_config.integration import load_floe_document, load_platform_document
    from floe_definitions.project_files import find_floe_yaml

    files = {Path(module) for module in modules}
    source_dirs: set[Path] = set()
    dbt_dirs: set[Path] = set()
    candidates = [Path(environ["FLOE_CONFIG"])] if environ.get("FLOE_CONFIG") else []
    candidates += sorted({file.parent for file in files}) + ([Path(working_directory)] if working_directory else [])
    for candidate in candidates:
        try:
            floe_yaml = find_floe_yaml(candidate, environ=environ).resolve()
        except Exception:
            continue
        files.add(floe_yaml)
        source_dirs.add(floe_yaml.parent)
        try:
            document = load_floe_document(floe_yaml, environ=environ)
            dbt = document.spec.orchestration.dbt
            if dbt is not None:
                dbt_dirs.add((document.project_dir / dbt.project_dir).resolve())
            platform = load_platform_document(None, floe_yaml=floe_yaml, environ=environ).path
            if platform is not None:
                files.add(platform.resolve())
        except Exception:  # an invalid file is still watched (its fix must trigger a reload)
            pass
        break
    if environ.get("FLOE_PLATFORM_FILE"):
        files.add(Path(environ["FLOE_PLATFORM_FILE"]).resolve())
    skipped = {Path(environ["DAGSTER_HOME"]).resolve()} if environ.get("DAGSTER_HOME") else set()
    return ProjectFiles(frozenset(files), frozenset(source_dirs), frozenset(dbt_dirs), frozenset(skipped))


def _stat(path: Path) -> tuple[int, int]:
    try:
        stat = path.stat()
    except OSError:
        return (0, -1)
    return (stat.st_mtime_ns, stat.st_size)


def _walk(directory: Path, suffixes: frozenset[str], skipped: frozenset[Path]) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for root, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and Path(root, d) not in skipped]
        for name in names:
            if os.path.splitext(name)[1] in suffixes:
                path = os.path.join(root, name)
                found[path] = _stat(Path(path))
    return found
