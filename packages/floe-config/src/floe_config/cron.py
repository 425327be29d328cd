"""Cron expression checks: 5 fields or an ``@daily``-style alias, with the offending field named.

Plain numeric fields (``*``, ``5``, ``1-5``, ``*/15``, ``0,30``) are checked here; anything else (month and day
names, ``L``, ``#``) is left to croniter, the library Dagster itself evaluates schedules with. Importing croniter
costs more than validating a whole floe.yaml, so it only happens for those rarer expressions.
"""

from __future__ import annotations

import re

CRON_ALIASES = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
"""Aliases accepted in place of 5 fields."""

_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_NUMERIC_ITEM = re.compile(r"^(?:\*|(?P<low>\d+)(?:-(?P<high>\d+))?)(?:/(?P<step>\d+))?$")


def check_cron(value: str) -> str:
    """Validate a cron expression and return it stripped.

    Args:
        value: A 5-field cron expression (``0 6 * * *``) or an alias (``@daily``).

    Returns:
        The expression without surrounding whitespace.

    Raises:
        ValueError: The expression is not valid; the message names the field at fault.
    """
    text = value.strip()
    if text in CRON_ALIASES:
        return text
    fields = text.split()
    if len(fields) in (6, 7) and _looks_like_seconds(fields[0]):
        # Quartz / Spring cron (seconds first, optional year last): say so, and give the 5 fields Dagster takes.
        five = " ".join("*" if field == "?" else field for field in fields[1:6])
        raise ValueError(
            f"cron expression {value!r} has {len(fields)} fields, with seconds first (Quartz or Spring style); "
            f"floe and Dagster take 5 fields, minute first: write {five!r}"
        )
    if len(fields) != 5:
        raise ValueError(
            f"cron expression {value!r} has {len(fields)} field{'s' if len(fields) != 1 else ''}; use 5 fields "
            "(minute hour day-of-month month day-of-week, e.g. '0 6 * * *') or an alias such as '@daily'"
        )
    needs_croniter = False
    for field, (name, low, high) in zip(fields, _FIELDS, strict=True):
        for item in field.split(","):
            match = _NUMERIC_ITEM.match(item)
            if match is None:
                needs_croniter = True
                continue
            numbers = [int(part) for part in (match["low"], match["high"]) if part is not None]
            bad = [number for number in numbers if not low <= number <= high]
            if bad:
                raise ValueError(f"cron expression {value!r}: {name} {bad[0]} is outside {low}-{high}")
            if len(numbers) == 2 and numbers[0] > numbers[1]:
                raise ValueError(f"cron expression {value!r}: {name} range {item!r} runs backwards")
            if match["step"] is not None and int(match["step"]) == 0:
                raise ValueError(f"cron expression {value!r}: {name} step must be positive in {item!r}")
    if needs_croniter:
        from croniter import croniter

        if not croniter.is_valid(text):
            raise ValueError(f"invalid cron expression {value!r}; expected e.g. '0 6 * * *', '0 9 * * mon' or '@daily'")
    return text


def _looks_like_seconds(field: str) -> bool:
    """Return whether a first cron field could be a seconds field (``0``, ``*/30``, ``0,30``)."""
    return bool(re.fullmatch(r"[0-9*/,-]+", field)) and all(
        int(number) <= 59 for number in re.findall(r"[0-9]+", field)
    )
