"""``floe run``'s arguments and the checks on them that need no Dagster (shared by both ways a run starts).

:mod:`~floe_definitions.commands.run` executes the run in the ``floe run`` process;
:mod:`~floe_definitions.commands.run_through_dev` launches it through a running ``floe dev``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from floe_definitions.errors import RunCommandError


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``floe run``'s arguments to ``parser``."""
    parser.add_argument("job", help="name of an orchestration.jobs entry")
    parser.add_argument("path", nargs="?", default=None, help="floe.yaml or its directory (default: FLOE_CONFIG, ./)")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--partition", default=None, help="the partition key to run")
    which.add_argument("--partition-range", default=None, metavar="START...END", help="a range of partition keys")
    parser.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="a run tag (repeatable)")
    parser.add_argument("--platform", default=None, help="platform file (default: FLOE_PLATFORM_FILE / _ENV)")
    parser.add_argument("--verbose", action="store_true", help="print every Dagster event instead of the summary")
    executor = parser.add_mutually_exclusive_group()
    executor.add_argument(
        "--in-process",
        action="store_true",
        help="run every step in this process (Dagster's in-process executor) instead of the platform's executor: "
        "no process start-up per step; for development",
    )
    executor.add_argument(
        "--platform-executor",
        action="store_true",
        help="use the platform's executor even for a single-step run (which floe otherwise runs in this process "
        "when the platform's executor is the default multiprocess one)",
    )
    parser.add_argument(
        "--no-dev",
        action="store_true",
        help="run in this process even when a floe dev of the project is running (which floe run otherwise "
        "launches the run through)",
    )


def parse_tags(values: Sequence[str]) -> dict[str, str]:
    """Return ``--tag KEY=VALUE`` values as a mapping.

    Raises:
        RunCommandError: A value is not ``KEY=VALUE``.
    """
    tags: dict[str, str] = {}
    for value in values:
        key, sep, tag_value = value.partition("=")
        if not sep or not key:
            raise RunCommandError(f"--tag {value!r} is not KEY=VALUE; write e.g. --tag team=data", key="--tag")
        tags[key] = tag_value
    return tags


def unknown_job_error(
    name: str, jobs: Sequence[str], floe_yaml: Path | None, locate: Callable[[str], str]
) -> RunCommandError | None:
    """Return the error for a job name that is not one of ``jobs`` (``None`` when it is), located at its section."""
    if name in jobs:
        return None
    from floe_config.integration import did_you_mean

    known = ", ".join(jobs) or "(none)"
    return RunCommandError(
        f"unknown job {name!r}{did_you_mean(name, list(jobs))}; the jobs of {floe_yaml or 'floe.yaml'}: {known}",
        location=locate("orchestration.jobs"),
        key="orchestration.jobs",
    )


def partition_tags(partition: str | None, partition_range: str | None) -> dict[str, str]:
    """Return the run tags selecting ``--partition`` or ``--partition-range`` (``START...END``, checked before)."""
    if partition is not None:
        return {"dagster/partition": partition}
    if partition_range is None:
        return {}
    start, _, end = partition_range.partition("...")
    return {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}
