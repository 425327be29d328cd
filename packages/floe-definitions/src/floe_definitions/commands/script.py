"""The ``floe`` console script: ``floe run`` beside a running ``floe dev`` goes through it; the rest to the CLI.

Only this decision runs before Dagster is imported: ``floe run`` finds a ``floe dev`` of its project
(:mod:`~floe_definitions.commands.run_through_dev`) with the standard library and floe-config, and launches the
run there without importing Dagster at all. Every other command, and a run no ``floe dev`` can take, goes to
:func:`floe_definitions.commands.cli.main`, which imports what it needs.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

EXIT_FAILED = 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``floe`` command line.

    Args:
        argv: Arguments (without the program name); ``sys.argv[1:]`` when omitted.

    Returns:
        The exit code.
    """
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["run"]:
        try:
            code = _run_through_dev(arguments[1:])
        except (KeyboardInterrupt, Exception) as exc:
            return report_unexpected(exc)
        if code is not None:
            return code
    from floe_definitions.commands.cli import main as cli_main

    return cli_main(arguments)


def report_unexpected(exc: BaseException) -> int:
    """Say an interruption or an error no floe command handles in one line (a traceback only with ``FLOE_DEBUG``).

    Returns:
        The exit code, ``1``.
    """
    if isinstance(exc, KeyboardInterrupt):
        print("floe: interrupted", file=sys.stderr)
        return EXIT_FAILED
    print(f"floe: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
    if os.environ.get("FLOE_DEBUG"):
        traceback.print_exception(exc)
    else:
        print("floe: set FLOE_DEBUG=1 to print the traceback", file=sys.stderr)
    return EXIT_FAILED


def _run_through_dev(arguments: list[str]) -> int | None:
    """Launch ``floe run ARGUMENTS`` through a running ``floe dev``; ``None`` when the CLI should run it.

    Usage errors (bad arguments, a malformed ``--tag``) go to the CLI too, which reports them as it always did.
    """
    from floe_definitions.commands.run_options import add_run_arguments, parse_tags
    from floe_definitions.commands.run_through_dev import run_through_dev
    from floe_definitions.errors import RunCommandError

    parser = argparse.ArgumentParser(prog="floe run", add_help=False, exit_on_error=False)
    add_run_arguments(parser)
    try:
        args, unknown = parser.parse_known_args(arguments)
        tags = parse_tags(args.tag)
    except (argparse.ArgumentError, RunCommandError, SystemExit):
        return None
    if unknown:
        return None
    return run_through_dev(args, tags, sys.stdout)
