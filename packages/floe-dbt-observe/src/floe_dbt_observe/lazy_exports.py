"""Names a module exports but imports on first use, so that importing the module itself stays cheap."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(module_name: str, sources: Mapping[str, str]) -> Callable[[str], Any]:
    """Return a module-level ``__getattr__`` that imports each name of ``sources`` from its module on first use.

    Args:
        module_name: The exporting module's ``__name__``; a name, once imported, is kept in that module.
        sources: Exported name -> the module that defines it.
    """

    def __getattr__(name: str) -> Any:
        source = sources.get(name)
        if source is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(source), name)
        setattr(sys.modules[module_name], name, value)
        return value

    return __getattr__
