"""The ``ops`` job: one op calling a project function with floe.yaml's ``args`` as overridable run config.

No ``from __future__ import annotations`` here: Dagster reads the op function's ``context`` annotation at
definition time and refuses string annotations.
"""

import inspect
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import dagster as dg

from floe_config.integration import OpsJob, did_you_mean
from floe_loaders.errors import TargetFunctionError
from floe_loaders.locations import Locate, config_path, default_locate


def ops_op_name(job_name: str) -> str:
    """Name the single op of an ops job (distinct from the job: Dagster wants unique op/graph names).

    Args:
        job_name: The ops job's name.

    Returns:
        ``<job_name>_op``; run config goes under ``ops.<job_name>_op.config``.
    """
    return f"{job_name}_op"


FILE_PATH_ARG = "file_path"
"""Config key a file-watcher sensor fills in for ops jobs (passed only if the function accepts it)."""


def check_ops_signature(
    config: OpsJob, function: Callable[..., Any], *, path: str, locate: Locate = default_locate
) -> None:
    """Check that ``function`` can be called with the job's ``args`` before any run tries.

    A parameter without a default must get a value from ``args`` (``context`` comes from Dagster, ``file_path``
    from a file-watcher sensor); an ``args`` key must be a parameter, unless the function takes ``**kwargs``.

    Args:
        config: The ops job entry.
        function: The target function.
        path: Dotted floe.yaml path of the job.
        locate: Dotted floe.yaml path -> location prefix.

    Raises:
        TargetFunctionError: The function cannot be called with these args.
    """
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return  # a builtin or C function without a signature: the run will tell
    parameters = signature.parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    named = [
        name
        for name, p in parameters.items()
        if name != "context" and p.kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    ]
    problems = []
    if not takes_any:
        for key in config.args:
            if key not in named:
                problems.append(f"args {key!r} is not one of its parameters{did_you_mean(key, named)}")
    for name, parameter in parameters.items():
        required = parameter.default is inspect.Parameter.empty and parameter.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
            inspect.Parameter.POSITIONAL_ONLY,
        )
        if required and name not in ("context", FILE_PATH_ARG) and name not in config.args:
            problems.append(f"its parameter {name!r} has no default and no value in args")
    if problems:
        shown = ", ".join(named) or "none"
        raise TargetFunctionError(
            config_path(path, "args") if config.args else config_path(path, "target_function"),
            f"{config.target_function} cannot be called with these args: {'; '.join(problems)} "
            f"(its parameters: {shown})",
            "Make args match the function's parameters, or give the parameter a default",
            locate=locate,
        )


def build_ops_job(name: str, config: OpsJob, function: Callable[..., Any]) -> dg.JobDefinition:
    """Build a one-op job calling ``function`` with ``args`` as (overridable) run config.

    The function receives the Dagster op context as ``context`` when it has a parameter of that name; config
    keys it has no parameter for are dropped (logged), unless it takes ``**kwargs``.

    Args:
        name: Job name (the op is named ``<name>_op``).
        config: The ops job entry.
        function: The target function (already checked against the import boundary).

    Returns:
        The job.
    """
    signature = inspect.signature(function)
    takes_context = "context" in signature.parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in signature.parameters.values())
    accepted = {p for p in signature.parameters if p != "context"}
    fields = {key: dg.Field(dg.Any, is_required=False, default_value=value) for key, value in config.args.items()}
    reference = config.target_function

    @dg.op(  # type: ignore[untyped-decorator,unused-ignore]
        name=ops_op_name(name),
        config_schema=dg.Permissive(fields),  # type: ignore[no-untyped-call]
        out=dg.Out(dg.Nothing),
        description=config.description or f"Calls {reference}",
        tags={"floe/target_function": reference},
    )
    def _call(context: dg.OpExecutionContext) -> Iterator[dg.Output[None]]:
        kwargs = dict(context.op_config)
        if not takes_any:
            dropped = sorted(set(kwargs) - accepted)
            if dropped:
                context.log.info(f"{reference} takes no parameter {', '.join(dropped)}; not passed")
            kwargs = {key: value for key, value in kwargs.items() if key in accepted}
        if takes_context:
            kwargs["context"] = context
        result = function(**kwargs)
        yield dg.Output(None, metadata={"return_value": _as_metadata(result)})

    @dg.job(name=name, description=config.description, tags=dict(config.tags) or None)
    def _ops_job() -> None:
        _call()

    return _ops_job


def _as_metadata(value: object) -> dg.MetadataValue[Any]:
    if value is None:
        return dg.MetadataValue.null()
    if isinstance(value, bool | int):
        return dg.MetadataValue.int(int(value)) if not isinstance(value, bool) else dg.MetadataValue.bool(value)
    if isinstance(value, float):
        return dg.MetadataValue.float(value)
    if isinstance(value, str):
        return dg.MetadataValue.text(value)
    if isinstance(value, Mapping | list | tuple):
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            return dg.MetadataValue.text(repr(value))
        return dg.MetadataValue.json(value if isinstance(value, Mapping) else list(value))
    return dg.MetadataValue.text(repr(value))
