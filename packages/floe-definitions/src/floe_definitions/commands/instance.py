"""``floe instance [PATH] [--platform FILE] [--write]``: print (or write) the project's rendered ``dagster.yaml``.

Only floe.yaml's location and the platform file are read: no asset module is imported and dbt does not run.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from floe_config import PlatformSpec
from floe_config.integration import CeleryExecutor, load_floe_document, load_platform_document
from floe_definitions.execution.celery_settings import celery_config_source
from floe_definitions.instance.dagster_yaml import RenderedInstance
from floe_definitions.instance.deployment_checks import missing_extras
from floe_definitions.instance.home import instance_for, write_instance
from floe_definitions.project import _platform_locator
from floe_definitions.project_files import find_floe_yaml
from floe_loaders.integration import Locate

WORKSPACE_YAML = "workspace.yaml"
CELERY_WORKER_YAML = "celery-worker.yaml"


@dataclass(frozen=True)
class ProjectInstance:
    """A project's instance, rendered without loading the project's definitions.

    Attributes:
        rendered: The rendered ``dagster.yaml``.
        base_dir: floe.yaml's directory.
        platform_file: The platform file, when one applies.
        locate: Dotted platform key -> ``file:line:column``.
        platform: The validated platform spec.
    """

    rendered: RenderedInstance
    base_dir: Path
    platform_file: Path | None
    locate: Locate
    platform: PlatformSpec


def project_instance(path: str | None, platform: str | None) -> ProjectInstance:
    """Render the instance of the project at ``path`` (floe.yaml or its directory) under ``platform``.

    Raises:
        ConfigNotFoundError: No floe.yaml.
        floe_config.ConfigError: The platform file is invalid.
        InstanceConfigError: The ``instance:`` section cannot be rendered.
    """
    floe_yaml = find_floe_yaml(path)
    document = load_platform_document(platform, floe_yaml=floe_yaml)
    locate = _platform_locator(document)
    base_dir = floe_yaml.resolve().parent
    rendered = instance_for(base_dir, document.spec, platform_file=document.path, locate=locate)
    return ProjectInstance(
        rendered=rendered, base_dir=base_dir, platform_file=document.path, locate=locate, platform=document.spec
    )


def write_workspace(home: Path, floe_yaml: Path, location_name: str) -> Path:
    """Write ``<home>/workspace.yaml``: one code location, :mod:`floe_definitions.code_location` for ``floe_yaml``.

    The module reads ``FLOE_CONFIG`` (and ``FLOE_PLATFORM_FILE``), which ``floe dev`` sets; a webserver or daemon
    started by hand on this workspace needs them exported.
    """
    entry = {
        "python_module": {
            "module_name": "floe_definitions.code_location",
            "attribute": "defs",
            "location_name": location_name,
            "working_directory": os.fspath(floe_yaml.parent),
        }
    }
    workspace = home / WORKSPACE_YAML
    text = f"# Written by floe for {floe_yaml} (FLOE_CONFIG)\n" + yaml.safe_dump(
        {"load_from": [entry]}, sort_keys=False
    )
    home.mkdir(parents=True, exist_ok=True)
    workspace.write_text(text, encoding="utf-8")
    return workspace


def write_celery_worker_config(home: Path, platform: PlatformSpec) -> Path | None:
    """Write ``<home>/celery-worker.yaml`` for ``dagster-celery worker start -y`` when the executor is Celery.

    The file holds the same broker, backend and Celery settings (``on_worker_lost``, see
    :mod:`floe_definitions.execution.celery_settings`) the platform file gives the executor (in the layout
    dagster-celery's worker command reads: ``execution.config``), so runs and workers meet on one broker and agree on
    acks.

    Returns:
        The file, or ``None`` when the platform's executor is not Celery.
    """
    executor = platform.execution.executor
    if not isinstance(executor, CeleryExecutor):
        return None
    settings: dict[str, Any] = {
        name: value for name, value in (("broker", executor.broker), ("backend", executor.backend)) if value
    }
    config_source = celery_config_source(executor)
    if config_source is not None:  # the workers ack and requeue as the executor expects (on_worker_lost)
        settings["config_source"] = config_source
    path = home / CELERY_WORKER_YAML
    home.mkdir(parents=True, exist_ok=True)
    header = (
        "# Written by floe from the platform file: dagster-celery worker start -A dagster_celery.app -y <this file>\n"
    )
    path.write_text(header + yaml.safe_dump({"execution": {"config": settings}}, sort_keys=False), encoding="utf-8")
    return path


def register(commands: Any) -> None:
    """Add the ``instance`` subcommand to the ``floe`` parser's subcommands."""
    parser = commands.add_parser("instance", help="print the dagster.yaml rendered from platform.yaml")
    parser.add_argument("path", nargs="?", default=None, help="floe.yaml or its directory (default: FLOE_CONFIG, ./)")
    parser.add_argument("--platform", default=None, help="platform file (default: FLOE_PLATFORM_FILE / _ENV)")
    parser.add_argument(
        "--write", action="store_true", help="write it to DAGSTER_HOME/dagster.yaml (and workspace.yaml beside it)"
    )
    parser.set_defaults(handler=run_instance_command)


def run_instance_command(args: argparse.Namespace, out: TextIO) -> int:
    """Print the rendered ``dagster.yaml`` and its ``DAGSTER_HOME``; with ``--write``, write it there."""
    instance = project_instance(args.path, args.platform)
    rendered = instance.rendered
    print(f"# DAGSTER_HOME={os.fspath(rendered.home)}", file=out)
    print(rendered.display_text(), file=out, end="")
    if args.write:
        path = write_instance(rendered)
        floe_yaml = find_floe_yaml(args.path).resolve()
        workspace = write_workspace(rendered.home, floe_yaml, load_floe_document(floe_yaml).spec.name)
        print(f"# wrote {path} and {workspace}", file=out)
        worker_config = write_celery_worker_config(rendered.home, instance.platform)
        if worker_config is not None:
            print(f"# wrote {worker_config}", file=out)
        # what runs on this instance must be importable here: the webserver, the daemon and floe run load it
        problems = missing_extras(instance.platform, instance.locate)
        for problem in problems:
            print(f"error: {problem.located_message}", file=sys.stderr)
        if problems:
            return 1
    return 0
