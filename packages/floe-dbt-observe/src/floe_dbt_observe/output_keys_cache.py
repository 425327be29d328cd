"""Make Dagster's per-``Output`` bookkeeping linear for a step with many asset outputs.

For every ``Output`` a multi-asset yields, Dagster (1.13) checks that no dependent asset of the
step was yielded before it, calling ``StepExecutionContext.get_output_asset_keys()``. That method
walks every output of the step and, for each, rebuilds the uncached
``AssetsDefinition.asset_and_check_keys`` set: O(outputs x (assets + checks)) per ``Output``, so a
step yielding N outputs costs O(N^3) -- measured 34.7 s CPU for 1,000 yielded outputs in a
no-dbt loop, 11.6 s with the keys cached, and linear beyond (23.1 s at 2,000).

The answer depends only on the step's outputs and the job's asset layer, both fixed for the
step's lifetime, so computing it once per step is exact. ``cached_output_asset_keys`` installs
that cache on the step's own context object for the duration of the step (nothing global is
patched) and does nothing when Dagster's internals differ from what it expects (the private access lives in
``_compat``, capability ``output_keys_cache``, which warns once when it is unavailable).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from floe_dbt_observe import _compat

_ATTRIBUTE = _compat.OUTPUT_KEYS_METHOD


def supported() -> bool:
    """Return whether this Dagster has the internals the cache relies on (checked without running a step)."""
    return _compat.output_keys_cache_available()


@contextmanager
def cached_output_asset_keys(context: Any) -> Iterator[bool]:
    """Cache ``get_output_asset_keys()`` of the step behind ``context`` while the block runs.

    Args:
        context: The ``AssetExecutionContext`` (or ``OpExecutionContext``) of the running step.

    Yields:
        Whether the cache is installed (False when the ``output_keys_cache`` probe fails: the step then
        runs exactly as without floe, only slower for very large steps, and one WARNING says so).
    """
    step_context = _compat.step_execution_context(context)
    installed = False
    if step_context is not None and _ATTRIBUTE not in vars(step_context):
        try:
            keys = frozenset(getattr(step_context, _ATTRIBUTE)())
            setattr(step_context, _ATTRIBUTE, lambda: keys)
            installed = True
        except Exception:  # an internal API changed: fall back to Dagster's own path
            _compat.warn_unavailable(_compat.OUTPUT_KEYS_CACHE)
    try:
        yield installed
    finally:
        if installed:
            vars(step_context).pop(_ATTRIBUTE, None)
