"""The ``floe`` command: ``check``, ``list`` and ``backfill`` a floe project.

Exit codes: 0 success, 1 the project has errors (or the command failed), 2 usage errors. No traceback reaches
the user; ``FLOE_DEBUG=1`` prints it for bug reports.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

import dagster as dg

from floe_config import ConfigError
from floe_config.integration import BatchJob, ConfigFileError
from floe_definitions.commands.checks import check_floe_yaml, dbt_resource_type
from floe_definitions.commands.dev import register as register_dev
from floe_definitions.commands.dry_run import describe_instance, dry_run_telemetry
from floe_definitions.commands.instance import register as register_instance
from floe_definitions.commands.run import register as register_run
from floe_definitions.commands.script import report_unexpected
from floe_definitions.errors import ConfigNotFoundError, FloeDefinitionsError, LocatedError
from floe_definitions.instance.home import open_instance
from floe_definitions.project import FloeProject, load_project
from floe_loaders import FloeLoaderError, launch_backfill
from floe_loaders.integration import plan_backfill, resolve_asset_settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``argv`` (``sys.argv[1:]`` when omitted) and run that command in this process; return its exit code.

    Every error is one line on stderr (located where floe knows the place); no traceback unless ``FLOE_DEBUG``.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors and 0 for --help
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    out: TextIO = sys.stdout
    try:
        if getattr(args, "handler", None) is not None:  # instance, run, dev: registered by their own modules
            return int(args.handler(args, out))
        if args.command == "check":
            return _check(args, out)
        if args.command == "list":
            return _list(args, out)
        return _backfill(args, out)
    except ConfigNotFoundError as exc:  # a missing or unreadable file is a usage error, as in floe-config
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigFileError as exc:  # missing or unreadable: a usage error, worded as floe-config words it
        for issue in exc.issues:
            print(f"error: {issue.format()}", file=sys.stderr)
        return EXIT_USAGE
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
    except (KeyboardInterrupt, Exception) as exc:
        return report_unexpected(exc)


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
    for sub in (check, listing):
        sub.add_argument("--format", choices=("text", "json"), default="text", help="output format")
    check.add_argument(
        "--connect",
        action="store_true",
        help="also connect to the instance storage and the Celery broker the platform file names",
    )
    backfill.add_argument(
        "--dry-run", action="store_true", help="list the runs the backfill would create, and the instance; launch none"
    )
    for register in (register_instance, register_run, register_dev):
        register(commands)
    return parser


def _check(args: argparse.Namespace, out: TextIO) -> int:
    with _quiet_dagster_warnings():
        report = check_floe_yaml(args.path, platform=args.platform, dry=True, connect=args.connect)
    if args.format == "json":
        print(json.dumps(report.to_dict(), indent=2), file=out)
        return EXIT_OK if report.ok else EXIT_FAILED
    for issue in report.issues:
        print(issue, file=out)
    if report.ok:
        counts = ", ".join(_counted(count, name) for name, count in report.summary.items())
        suffix = f" ({_counted(len(report.warnings), 'warnings')})" if report.warnings else ""
        print(f"floe check: OK: {counts}{suffix}", file=out)
        return EXIT_OK
    print(
        f"floe check: {_counted(len(report.errors), 'errors')}, {_counted(len(report.warnings), 'warnings')}", file=out
    )
    return EXIT_FAILED


def _list(args: argparse.Namespace, out: TextIO) -> int:
    with _quiet_dagster_warnings():
        project = load_project(args.path, platform=args.platform, **dry_run_telemetry())
        listing = listing_of(project)
    if args.format == "json":
        print(json.dumps(listing, indent=2), file=out)
    else:
        print(render_listing(project, listing), file=out)
    return EXIT_OK


def listing_of(project: FloeProject) -> dict[str, Any]:
    """Describe assets (group, partitions, automation, kind, supplying patterns), jobs, schedules, sensors, backfills.

    Returns:
        A JSON-ready mapping; ``floe list --format json`` prints it as is.
    """
    definitions = project.definitions
    graph = definitions.resolve_asset_graph()
    named = {str(definition): name for name, definition in project.orchestration.partitions.items()}
    orchestration = project.spec.orchestration
    assets = []
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        if not node.is_materializable:
            continue
        settings = resolve_asset_settings(key, orchestration)
        assets.append(
            {
                "key": key.to_user_string(),
                "group": node.group_name,
                "partitions": named.get(str(node.partitions_def), str(node.partitions_def))
                if node.partitions_def
                else None,
                "automation": (node.automation_condition.get_label() or "custom")
                if node.automation_condition
                else None,
                "kind": f"dbt-{dbt_resource_type(node.metadata)}" if key in project.dbt_asset_keys else "python",
                "patterns": dict(settings.sources),
            }
        )
    jobs = []
    for name, job in orchestration.jobs.items():
        if isinstance(job, BatchJob):
            keys = sorted(k.to_user_string() for k in definitions.resolve_job_def(name).asset_layer.selected_asset_keys)
            jobs.append({"name": name, "type": "batch", "selection": list(job.selection), "assets": keys})
        else:
            jobs.append({"name": name, "type": "ops", "target_function": job.target_function})
    schedules = [
        {
            "name": name,
            "job": schedule.job,
            "cron_schedule": schedule.cron_schedule,
            "timezone": schedule.timezone,
            "enabled": schedule.enabled,
        }
        for name, schedule in orchestration.schedules.items()
    ]
    sensors = [{"name": name, "type": sensor.type, "job": sensor.job} for name, sensor in orchestration.sensors.items()]
    backfills = [
        {
            "name": name,
            "job": backfill.job,
            "start": backfill.partition_range.start,
            "end": backfill.partition_range.end,
            "batch_size": backfill.batch_size,
        }
        for name, backfill in orchestration.backfills.items()
    ]
    return {"assets": assets, "jobs": jobs, "schedules": schedules, "sensors": sensors, "backfills": backfills}


def render_listing(project: FloeProject, listing: Mapping[str, Any] | None = None) -> str:
    """Render assets (group, partitions, automation, supplying patterns), jobs, schedules, sensors and backfills."""
    listing = listing if listing is not None else listing_of(project)
    lines = ["Assets:"]
    for asset in listing["assets"]:
        patterns = ", ".join(f"{field_name} <- {pattern!r}" for field_name, pattern in asset["patterns"].items())
        lines.append(
            f"  {asset['key']}  group={asset['group']}  partitions={asset['partitions'] or '-'}"
            f"  automation={asset['automation'] or '-'}  kind={asset['kind']}"
            + (f"  patterns: {patterns}" if patterns else "")
        )
    lines.append("Jobs:")
    for job in listing["jobs"]:
        if job["type"] == "batch":
            lines.append(f"  {job['name']} (batch: {' | '.join(job['selection'])}): {', '.join(job['assets'])}")
        else:
            lines.append(f"  {job['name']} (ops: {job['target_function']})")
    lines.append("Schedules:")
    for schedule in listing["schedules"]:
        state = "on" if schedule["enabled"] else "off"
        lines.append(
            f"  {schedule['name']}: job {schedule['job']} at {schedule['cron_schedule']!r} "
            f"({schedule['timezone']}, {state})"
        )
    lines.append("Sensors:")
    for sensor in listing["sensors"]:
        lines.append(f"  {sensor['name']}: {sensor['type']} -> job {sensor['job']}")
    lines.append("Backfills:")
    for backfill in listing["backfills"]:
        lines.append(
            f"  {backfill['name']}: job {backfill['job']} from {backfill['start']!r} to {backfill['end']!r}"
            f" ({_counted(backfill['batch_size'], 'partitions')} per run)"
        )
    return "\n".join(lines)


def _backfill(args: argparse.Namespace, out: TextIO) -> int:
    if args.dry_run:
        return _backfill_dry_run(args, out)
    project = load_project(args.path, platform=args.platform)
    instance = open_instance(
        project.base_dir, project.platform, platform_file=project.platform_file, locate=project.platform_locate
    )
    with instance:
        backfill_id = launch_backfill(
            project.definitions, instance, args.name, project.spec.orchestration, locate=project.locate
        )
    print(
        f"floe backfill: launched {args.name!r} as backfill {backfill_id}; a running dagster-daemon executes it",
        file=out,
    )
    return EXIT_OK


def _backfill_dry_run(args: argparse.Namespace, out: TextIO) -> int:
    with _quiet_dagster_warnings():
        project = load_project(args.path, platform=args.platform, **dry_run_telemetry())
        plan = plan_backfill(project.definitions, args.name, project.spec.orchestration, locate=project.locate)
    print(
        f"floe backfill --dry-run: {plan.name!r} (job {plan.job!r}) would create {_counted(len(plan.runs), 'runs')} "
        f"of job {plan.run_job!r} over {_counted(len(plan.partition_keys), 'partitions')} ({plan.policy}); assets: "
        f"{', '.join(plan.assets)}",
        file=out,
    )
    for number, run in enumerate(plan.runs, start=1):
        keys = run.partition_keys
        if not keys:
            span = "unpartitioned"
        else:
            span = (
                keys[0] if len(keys) == 1 else f"{keys[0]} .. {keys[-1]}"
            ) + f" ({_counted(len(keys), 'partitions')})"
        print(f"  run {number}: {span}: {', '.join(run.assets)}", file=out)
    print(f"instance: {describe_instance(project.base_dir, project.platform)}; nothing was launched", file=out)
    return EXIT_OK


def _counted(count: int, plural: str) -> str:
    """``1 schedule``, ``2 schedules``: ``plural`` loses its final ``s`` for one."""
    return f"{count} {plural[:-1] if count == 1 and plural.endswith('s') else plural}"


@contextlib.contextmanager
def _quiet_dagster_warnings() -> Iterator[None]:
    """Keep Dagster's beta and preview notices about floe's own calls off a user's terminal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        warnings.simplefilter("ignore", dg.PreviewWarning)
        yield
