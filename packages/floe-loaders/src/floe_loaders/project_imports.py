"""Import a project module named in floe.yaml, relative (``.assets.bronze``) or absolute (``shop.assets``).

A leading dot means "relative to the directory holding floe.yaml": the directory is put at the front of
``sys.path`` only for the duration of the import (and removed again if it was not there before), so users
never edit ``sys.path`` and nothing stays behind. Once a package is imported, its submodules resolve through
the package's own ``__path__``, so later lazy imports inside the project keep working.

Import failures become located ``FloeLoaderError`` subclasses naming the file and line of the problem.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from floe_loaders.errors import AssetModuleConflictError, AssetModuleImportError, AssetModuleNotFoundError
from floe_loaders.locations import Locate, default_locate


def module_name(module_path: str) -> str:
    """Return the importable dotted name of a floe.yaml module path (the leading dot removed).

    Args:
        module_path: ``.assets.bronze`` or ``shop.assets``.

    Returns:
        ``assets.bronze`` or ``shop.assets``.
    """
    return module_path.lstrip(".")


def is_relative(module_path: str) -> bool:
    """Tell whether a floe.yaml module path is relative to the floe.yaml directory.

    Args:
        module_path: A dotted module path from floe.yaml.

    Returns:
        True for a leading dot.
    """
    return module_path.startswith(".")


def top_level_package(module_path: str) -> str:
    """Return the top-level package a module path imports as (``.assets.bronze`` -> ``assets``).

    Args:
        module_path: A dotted module path from floe.yaml.

    Returns:
        The first dotted part of the importable name.
    """
    return module_name(module_path).split(".", 1)[0]


@contextmanager
def project_import_path(base_dir: Path) -> Iterator[None]:
    """Put ``base_dir`` first on ``sys.path`` while importing; restore ``sys.path`` afterwards.

    Args:
        base_dir: The directory holding floe.yaml.

    Yields:
        Nothing; the import path is set inside the block.
    """
    entry = str(base_dir)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def import_project_module(
    module_path: str,
    base_dir: Path,
    *,
    path: str,
    locate: Locate = default_locate,
) -> ModuleType:
    """Import a module named in floe.yaml, turning every failure into a located error.

    Args:
        module_path: ``.assets.bronze`` (relative to ``base_dir``) or ``shop.assets``.
        base_dir: The directory holding floe.yaml.
        path: Dotted floe.yaml path of the entry naming the module (for error messages).
        locate: Path -> location prefix.

    Returns:
        The imported module.

    Raises:
        AssetModuleNotFoundError: The module does not exist.
        AssetModuleImportError: The module has a syntax error or raised while importing.
        AssetModuleConflictError: A relative name is already imported from elsewhere.
    """
    base_dir = base_dir.resolve()
    name = module_name(module_path)
    relative = is_relative(module_path)
    try:
        if relative:
            with project_import_path(base_dir):
                module = importlib.import_module(name)
        else:
            module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            raise AssetModuleNotFoundError(
                path,
                f"module {module_path!r} was not found; looked for {_where_looked(name, relative, base_dir)}",
                _not_found_fix(relative),
                locate=locate,
            ) from exc
        raise _import_error(module_path, exc, base_dir, path, locate) from exc
    except SyntaxError as exc:
        where = f"{_shown(exc.filename, base_dir)}:{exc.lineno}" if exc.filename else "<unknown file>"
        raise AssetModuleImportError(
            path,
            f"module {module_path!r} has a syntax error at {where}: {exc.msg}",
            "fix the syntax error in that file",
            locate=locate,
        ) from exc
    except Exception as exc:
        raise _import_error(module_path, exc, base_dir, path, locate) from exc
    if relative:
        _check_under(module, module_path, base_dir, path, locate)
    return module


def _where_looked(name: str, relative: bool, base_dir: Path) -> str:
    if relative:
        stem = base_dir.joinpath(*name.split("."))
        return f"{stem}.py and {stem / '__init__.py'} (relative to the directory holding floe.yaml)"
    return "the installed packages and sys.path (an absolute module path; no leading dot)"


def _not_found_fix(relative: bool) -> str:
    if relative:
        return "Create the module there, or correct the path in floe.yaml"
    return (
        "Install the package that provides it, or write the path with a leading dot "
        "if the module lives next to floe.yaml"
    )


def _import_error(
    module_path: str, exc: BaseException, base_dir: Path, path: str, locate: Locate
) -> AssetModuleImportError:
    frames = traceback.extract_tb(exc.__traceback__)
    user_frames = [frame for frame in frames if not frame.filename.startswith("<frozen ")]
    preferred = [frame for frame in user_frames if _is_under(Path(frame.filename), base_dir)]
    chosen = preferred or user_frames or list(frames)
    where = f" at {_shown(chosen[-1].filename, base_dir)}:{chosen[-1].lineno}" if chosen else ""
    return AssetModuleImportError(
        path,
        f"importing module {module_path!r} raised {type(exc).__name__}: {exc}{where}",
        "Fix the code at that line; module-level code runs whenever the project is loaded",
        locate=locate,
    )


def _shown(filename: str, base_dir: Path) -> str:
    """Show a file of the project relative to floe.yaml's directory (as the user sees it), others as they are."""
    try:
        return Path(filename).resolve().relative_to(base_dir.resolve()).as_posix()
    except ValueError:
        return filename


def _is_under(file: Path, directory: Path) -> bool:
    try:
        file.resolve().relative_to(directory)
    except (ValueError, OSError):
        return False
    return True


def _check_under(module: ModuleType, module_path: str, base_dir: Path, path: str, locate: Locate) -> None:
    file = getattr(module, "__file__", None)
    locations = [Path(file)] if file else [Path(entry) for entry in getattr(module, "__path__", [])]
    if locations and all(_is_under(location, base_dir) for location in locations):
        return
    found = ", ".join(str(location) for location in locations) or "a built-in module"
    raise AssetModuleConflictError(
        path,
        f"module {module_path!r} should come from {base_dir} but {module_name(module_path)!r} is already "
        f"imported from {found}",
        f"Rename the package next to floe.yaml so its top-level name ({top_level_package(module_path)!r}) "
        "does not clash with an installed or already imported module",
        locate=locate,
    )
