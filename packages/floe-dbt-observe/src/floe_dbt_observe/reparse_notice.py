"""The warning for a dbt step that could not reuse dbt's partial parse and parsed the whole project again.

dbt reuses ``target/partial_parse.msgpack`` (dagster-dbt and floe's in-process invocation copy it into each
invocation's target path) unless it was written under other vars, another profile or target, another dbt version,
or does not exist. Then dbt fires ``UnableToPartialParse`` and parses every file again: seconds on a small project,
minutes on a large one, in every run, with nothing on Dagster's console to say so. floe turns that event into one
warning per step, naming dbt's reason and what makes the saved parse match again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

REPARSE_EVENT = "UnableToPartialParse"
"""dbt's event (code I024) when it cannot use the saved partial parse."""

MISSING_REASON = "saved manifest not found"


def reparse_notice(raw_event: Mapping[str, Any], target: str | None, passes_vars: bool) -> tuple[int, str] | None:
    """The step's log level and message if ``raw_event`` is dbt's ``UnableToPartialParse``, else ``None``.

    A WARNING where the user can make the saved parse match; INFO where the step's own partition vars force the
    full parse (nothing to fix, but the cost is said).

    Args:
        raw_event: One of dbt's structured events (its JSON log line, or the in-process callback's message as a dict).
        target: The dbt target the step runs with, if set.
        passes_vars: Whether the step passes ``--vars`` (a partition's), which dbt counts as a change of vars.
    """
    info = raw_event.get("info") or {}
    if info.get("name") != REPARSE_EVENT:
        return None
    reason = str((raw_event.get("data") or {}).get("reason") or "").strip().rstrip(".")
    said = str(info.get("msg") or f"Unable to do partial parsing because {reason}").strip().rstrip(".")
    parse = "dbt parse" + (f" --target {target}" if target else "")
    head = f"floe-dbt-observe: dbt parsed the whole project again ({said})"
    if passes_vars and "vars" in reason:
        return logging.INFO, (
            f"{head}: this step passes --vars (its partition's), which dbt counts as changed vars, so every run of "
            "a partitioned dbt step pays a full parse."
        )
    if reason.startswith(MISSING_REASON):
        remedy = f"run `{parse}` in the project once, so that target/partial_parse.msgpack exists"
    else:
        remedy = f"run `{parse}` with the profile, vars and dbt version this step runs with"
    return logging.WARNING, f"{head}; every run like this one pays that parse. To avoid it, {remedy}."
