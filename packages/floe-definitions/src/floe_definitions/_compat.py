"""The one place floe-definitions touches private Dagster APIs, each behind a probe with a one-time warning.

``with_wrapped_compute`` rebuilds an asset definition around a wrapper of its compute function (Dagster has no
public API for that). When the probe fails, the asset is kept unchanged and a warning is logged once: its
materializations then lack floe's ids in their metadata, nothing else changes (keys, ops, step keys never do).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from dagster import AssetsDefinition

logger = logging.getLogger(__name__)

_warned: set[str] = set()

ComputeWrapper = Callable[[Callable[..., Any]], Callable[..., Any]]


def _warn_once(probe: str, exc: BaseException) -> None:
    if probe not in _warned:
        _warned.add(probe)
        logger.warning(
            "floe: this Dagster version does not support %s (%s: %s); Python asset materializations will not "
            "carry floe's trace and lineage ids",
            probe,
            type(exc).__name__,
            exc,
        )


def with_wrapped_compute(assets_def: AssetsDefinition, wrap: ComputeWrapper) -> AssetsDefinition | None:
    """Return ``assets_def`` with its op's compute function replaced by ``wrap(function)``, or None if unsupported.

    Args:
        assets_def: An asset definition built by ``@asset`` / ``@multi_asset`` (an op, not a graph).
        wrap: Returns a function with the same signature and kind (plain, generator, coroutine) as its argument.

    Returns:
        The rebuilt definition (same keys, op name, specs, checks, resources), or None when the definition is
        not op-based or this Dagster's internals differ (a warning is logged once).
    """
    try:
        from dagster import OpDefinition
        from dagster._core.definitions.decorators.op_decorator import DecoratedOpFunction
        from dagster._core.definitions.input import In
        from dagster._core.definitions.output import Out

        op = assets_def.node_def
        if not isinstance(op, OpDefinition) or not isinstance(op.compute_fn, DecoratedOpFunction):
            return None
        new_op = OpDefinition.dagster_internal_init(
            name=op.name,
            ins={input_def.name: In.from_definition(input_def) for input_def in op.input_defs},
            outs={output_def.name: Out.from_definition(output_def) for output_def in op.output_defs},
            compute_fn=DecoratedOpFunction(wrap(op.compute_fn.decorated_fn)),
            config_schema=op.config_schema,
            description=op.description,
            tags=op.tags,
            required_resource_keys=op.required_resource_keys,
            code_version=op._version,
            retry_policy=op.retry_policy,
            version=None,
            pool=op.pool,
        )
        rebuilt: AssetsDefinition = AssetsDefinition.dagster_internal_init(
            **{**assets_def.get_attributes_dict(), "node_def": new_op}
        )
        return rebuilt
    except Exception as exc:  # a probe: any internal change falls back to the unchanged asset
        _warn_once("wrapping an asset's compute function", exc)
        return None
