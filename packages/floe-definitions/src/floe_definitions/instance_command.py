"""``floe instance [PATH] [--platform FILE] [--write]``: print (or write) the project's rendered ``dagster.yaml``.

Only floe.yaml's location and the platform file are read: no asset module is imported and dbt does not run.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from floe_config.platform_loading import load_platform_document
from floe_definitions.instance import instance_for, write_instance
from floe_definitions.instance_config import RenderedInstance
from floe_definitions.project import _platform_locator, find_floe_yaml
from floe_loaders import Locate


@dataclass(frozen=True)
class ProjectInstance:
    """A project's instance, rendered without loading the project's definitions.

    Attributes:
        rendered: The rendered ``dagster.yaml``.
        base_dir: floe.yaml's directory.
        platform_file: The platform file, when one applies.
        locate: Dotted platform key -> ``file:line:column``.
    """

    rendered: RenderedInstance
    base_dir: Path
    platform_file: Path | None
    locate: Locate


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
    return ProjectInstance(rendered=rendered, base_dir=base_dir, platform_file=document.path, locate=locate)


def register(commands: Any) -> None:
    """Add the ``instance`` subcommand to the ``floe`` parser's subcommands."""
    parser = commands.add_parser("instance", help="print the dagster.yaml rendered from platform.yaml")
    parser.add_argument("path", nargs="?", default=None, help="floe.yaml or its directory (default: FLOE_CONFIG, ./)")
    parser.add_argument("--platform", default=None, help="platform file (default: FLOE_PLATFORM_FILE / _ENV)")
    parser.add_argument("--write", action="store_true", help="write it to DAGSTER_HOME/dagster.yaml")
    parser.set_defaults(handler=run_instance_command)


def run_instance_command(args: argparse.Namespace, out: TextIO) -> int:
    """Print the rendered ``dagster.yaml`` and its ``DAGSTER_HOME``; with ``--write``, write it there."""
    instance = project_instance(args.path, args.platform)
    rendered = instance.rendered
    print(f"# DAGSTER_HOME={os.fspath(rendered.home)}", file=out)
    print(rendered.display_text(), file=out, end="")
    if args.write:
        path = write_instance(rendered)
        print(f"# wrote {path}", file=out)
    return 0
