"""Constrained string types shared by the floe.yaml models.

Each type validates the syntax floe can check without Dagster (cron, IANA timezone, dotted module path,
``module:function`` reference, asset-selection strings); the full meaning is applied later by floe-loaders.
"""

from __future__ import annotations

import re
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, Field

from floe_config.cron import check_cron

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r}{_timezone_hint(value)}") from None
    return value


def _timezone_hint(value: str) -> str:
    """Suggest the IANA name a user most likely meant: same name in another case, a city, a fixed offset."""
    import difflib

    names = sorted(available_timezones())
    by_case = {name.lower(): name for name in names}
    if value.lower() in by_case:
        return f" (did you mean {by_case[value.lower()]!r}? the case matters)"
    offset = _UTC_OFFSET.match(value)
    if offset:
        hours = int(offset.group("hours"))
        if hours == 0:
            return " (did you mean 'UTC'?)"
        # The Etc/GMT names invert the sign (POSIX): UTC+2 is Etc/GMT-2.
        fixed = f"Etc/GMT{'-' if offset.group('sign') == '+' else '+'}{hours}"
        if fixed in by_case.values():
            return (
                f" (for a fixed offset write {fixed!r}, whose sign is inverted; a city such as 'Europe/Paris' "
                "also follows daylight saving)"
            )
    cities = [name for name in names if name.lower().endswith("/" + value.lower().replace(" ", "_"))]
    if cities:
        return f" (did you mean {cities[0]!r}?)"
    close = difflib.get_close_matches(value, names, n=1)
    return f" (did you mean {close[0]!r}?)" if close else " (use an IANA name such as 'UTC' or 'Europe/Paris')"


_UTC_OFFSET = re.compile(r"^(?:UTC|GMT|Z)\s*(?P<sign>[+-])\s*(?P<hours>[0-9]{1,2})(?::?00)?$", re.IGNORECASE)


def _check_dotted_path(value: str, *, allow_relative: bool = True) -> str:
    body = value
    if allow_relative:
        body = value.lstrip(".")
        if len(value) - len(body) > 1:
            raise ValueError(f"module path {value!r}: use one leading dot for 'relative to floe.yaml's directory'")
    parts = body.split(".")
    bad = [part for part in parts if not _IDENTIFIER.match(part)]
    if not body or bad:
        raise ValueError(
            f"module path {value!r} is not a dotted Python module path "
            f"(each part must be a Python identifier; bad part: {bad[0] if bad else value!r})"
        )
    return value


def _check_module_path(value: str) -> str:
    return _check_dotted_path(value)


def _check_target_function(value: str) -> str:
    module, sep, function = value.partition(":")
    if not sep or not function:
        raise ValueError(f"target function {value!r} must be 'package.module:function' (e.g. '.assets.ops:vacuum')")
    _check_dotted_path(module)
    if not _IDENTIFIER.match(function):
        raise ValueError(f"target function {value!r}: {function!r} is not a Python function name")
    return value


def _check_selection(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("empty selection string; use Dagster's selection syntax, e.g. 'group:bronze' or 'key:\"a/b\"'")
    if text.count('"') % 2:
        raise ValueError(f"selection {value!r} has an unbalanced double quote")
    depth = 0
    in_quotes = False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes
        elif not in_quotes and char == "(":
            depth += 1
        elif not in_quotes and char == ")":
            depth -= 1
            if depth < 0:
                raise ValueError(f"selection {value!r} closes a parenthesis that was never opened")
    if depth:
        raise ValueError(f"selection {value!r} has {depth} unclosed parenthesis")
    for match in re.finditer(r"\b([a-z_]+):(?=\s|\)|$)", text):
        raise ValueError(f"selection {value!r}: '{match.group(1)}:' needs a value, e.g. '{match.group(1)}:bronze'")
    return value


CronExpression = Annotated[str, AfterValidator(check_cron), Field(examples=["0 6 * * *", "@daily"])]
"""A 5-field cron expression or an alias such as ``@daily``."""

Timezone = Annotated[str, AfterValidator(_check_timezone), Field(examples=["UTC", "Europe/Paris"])]
"""An IANA timezone name."""

ModulePath = Annotated[
    str,
    AfterValidator(_check_module_path),
    Field(examples=[".assets.bronze", "shop.assets"]),
]
"""A dotted module path; a leading dot means relative to the directory holding floe.yaml."""

TargetFunction = Annotated[str, AfterValidator(_check_target_function), Field(examples=[".assets.ops:vacuum"])]
"""A ``module:function`` reference; the module part may be relative like a module path."""

SelectionString = Annotated[
    str,
    AfterValidator(_check_selection),
    Field(examples=["group:bronze", 'key:"a/b"+']),
]
"""One Dagster asset-selection string (``AssetSelection.from_string`` grammar)."""

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""What a name may be; messages about a value failing it explain it in words (``validation_issues``)."""

Name = Annotated[str, Field(min_length=1, pattern=NAME_PATTERN)]
"""A Dagster-safe name: letters, digits and underscores, not starting with a digit."""

PIPELINE_NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$"
"""What a pipeline name may be: what OpenTelemetry's ``service.name`` and a file name both accept."""

PipelineName = Annotated[str, Field(min_length=1, max_length=200, pattern=PIPELINE_NAME_PATTERN)]
"""floe.yaml ``name``: letters, digits, ``-``, ``_`` and ``.``, not starting with ``-`` or ``.``."""

_NOT_DAGSTER = re.compile(r"[^A-Za-z0-9_]")


def dagster_name(name: str) -> str:
    """Return the Dagster-safe form of a pipeline name: ``my-pipeline`` -> ``my_pipeline``.

    Args:
        name: A pipeline name (floe.yaml ``name``).

    Returns:
        A name Dagster accepts for a code location, job, tag or resource (letters, digits and underscores).
    """
    return _NOT_DAGSTER.sub("_", name)
