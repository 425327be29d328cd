"""The ``floe`` command: ``check``, ``list`` and ``backfill`` a floe project.

Exit codes: 0 success, 1 the project has errors (or the command failed), 2 usage errors. No traceback reaches
the user; ``FLOE_DEBUG=1`` prints it for bug reports.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TextIO

from floe_config import ConfigError
from floe_config.jobs import BatchJob
from floe_definitions.checks import check_floe_yaml
from floe_definitions.errors import FloeDefinitionsError, LocatedError
from floe_definitions.instance import open_instance
from floe_definitions.project import FloeProject, load_project
from floe_loaders import FloeLoaderError, launch_backfill
from floe_loaders.asset_settings import resolve_asset_settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``floe`` command line.

    Args:
        argv: Arguments (without the program name); ``sys.argv[1:]`` when omitted.

    Returns:
        The exit code.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 for --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    out: TextIO = sys.stdout
    try:
        if args.command == "check":
            return _check(args, out)
        if args.command == "list":
            return _list(args, out)
        return _backfill(args, out)
    except ConfigError as exc:
        for issue in exc.issues:
            print(f"{issue.file}:{issue.line}:{issue.column}: error: {issue.path}: {issue.message}", file=sys.stderr)
        return EXIT_FAILED
    except LocatedError as exc:
        print(f"error: {exc.located_message}", file=sys.stderr)
        return EXIT_FAILED
    except (FloeDefinitionsError, FloeLoaderError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("floe: interrupted", file=sys.stderr)
        return EXIT_FAILED
    except Exception as exc:
        print(f"floe: unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        if os.environ.get("FLOE_DEBUG"):
            traceback.print_exc()
        else:
            print("floe: set FLOE_DEBUG=1 to print the traceback", file=sys.stderr)
        return EXIT_FAILED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="floe", description="Check, list and backfill a floe project.")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("check", help="validate floe.yaml and deep-check it against the asset graph")
    listing = commands.add_parser("list", help="list assets, jobs, schedules and sensors")
    backfill = commands.add_parser("backfill", help="launch a configured backfill on the Dagster instance")
    backfill.add_argument("name", help="name of an orchestration.backfills entry")
    for sub in (check, listing, backfill):
        sub.add_argument("path", nargs="?", default=None, help="floe.yaml or its directory (default: FLOE_CONFIG, ./)")
        sub.add_argument("--platform", default=None, help="platform file (default: FLOE_PLATFORM_FILE / _ENV)")
    return parser


def _check(args: argparse.Namespace, out: TextIO) -> int:
    report = check_floe_yaml(args.path, platform=args.platform)
    for issue in report.issues:
        print(issue, file=out)
    if report.ok:
        counts = ", ".join(f"{count} {name}" for name, count in report.summary.items())
        suffix = f" ({len(report.warnings)} warning(s))" if report.warnings else ""
        print(f"floe check: OK: {counts}{suffix}", file=out)
        return EXIT_OK
    print(f"floe check: {len(report.errors)} error(s), {len(report.warnings)} warning(s)", file=out)
    return EXIT_FAILED


def _list(args: argparse.Namespace, out: TextIO) -> int:
    project = load_project(args.path, platform=args.platform)
    print(render_listing(project), file=out)
    return EXIT_OK


def render_listing(project: FloeProject) -> str:
    """Render assets (group, partitions, automation, supplying patterns), jobs, schedules and sensors."""
    definitions = project.definitions
    graph = definitions.resolve_asset_graph()
    named = {str(definition): name for name, definition in project.orchestration.partitions.items()}
    lines = ["Assets:"]
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        if not node.is_materializable:
            continue
        settings = resolve_asset_settings(key, project.spec.orchestration)
        partitions = named.get(str(node.partitions_def), str(node.partitions_def)) if node.partitions_def else "-"
        automation = (node.automation_condition.get_label() or "custom") if node.automation_condition else "-"
        source = "dbt" if key in project.dbt_asset_keys else "python"
        patterns = ", ".join(f"{field_name} <- {pattern!r}" for field_name, pattern in settings.sources.items())
        lines.append(
            f"  {key.to_user_string()}  group={node.group_name}  partitions={partitions}  automation={automation}"
            f"  kind={source}" + (f"  patterns: {patterns}" if patterns else "")
        )
    lines.append("Jobs:")
    for name, job in project.spec.orchestration.jobs.items():
        if isinstance(job, BatchJob):
            keys = sorted(k.to_user_string() for k in definitions.resolve_job_def(name).asset_layer.selected_asset_keys)
            lines.append(f"  {name} (batch: {' | '.join(job.selection)}): {', '.join(keys)}")
        else:
            lines.append(f"  {name} (ops: {job.target_function})")
    lines.append("Schedules:")
    for name, schedule in project.spec.orchestration.schedules.items():
        state = "on" if schedule.enabled else "off"
        lines.append(f"  {name}: job {schedule.job} at {schedule.cron_schedule!r} ({schedule.timezone}, {state})")
    lines.append("Sensors:")
    for name, sensor in project.spec.orchestration.sensors.items():
        lines.append(f"  {name}: {sensor.type} -> job {sensor.job}")
    return "\n".join(lines)


def _backfill(args: argparse.Namespace, out: TextIO) -> int:
    project = load_project(args.path, platform=args.platform)
    instance = open_instance(project.base_dir, project.platform)
    with instance:
        backfill_id = launch_backfill(
            project.definitions, instance, args.name, project.spec.orchestration, locate=project.locate
        )
    print(
        f"floe backfill: launched {args.name!r} as backfill {backfill_id}; a running dagster-daemon executes it",
        file=out,
    )
    return EXIT_OK
