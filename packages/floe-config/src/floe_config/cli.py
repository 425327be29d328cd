"""The ``floe-config`` command: ``validate``, ``schema`` and ``compile`` floe.yaml without Dagster.

``validate`` also takes a platform file on its own: a file without ``name`` or ``orchestration`` whose top-level
keys are platform keys (``environment``, ``tracing``, ``lineage``, ``dbt``, ``execution``, ``instance``), or whose
``yaml-language-server`` modeline names ``platform.schema.json``, is validated as a platform file.

Exit codes: 0 valid, 1 invalid, 2 usage error or unreadable file. No traceback reaches the user: every failure
ends as one line on standard error (or the list of located problems).
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from floe_config.errors import ConfigError, ConfigFileError, ConfigIssue

# The models (pydantic, every floe.yaml model) are imported by the commands that need them, after ``run`` has
# switched the garbage collector off.
if TYPE_CHECKING:
    from yaml import Event

    from floe_config.floe_loading import FloeDocument
    from floe_config.platform_loading import PlatformDocument

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``floe-config``."""
    from floe_config.floe_loading import DEFAULT_FLOE_FILE

    parser = argparse.ArgumentParser(
        prog="floe-config",
        description="Validate floe.yaml and platform.yaml, print floe.yaml's JSON Schema, or compile both to JSON.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{validate,schema,compile}")

    validate = commands.add_parser(
        "validate",
        help="check floe.yaml (and the platform file) and list every problem",
    )
    validate.add_argument(
        "path",
        nargs="?",
        default=DEFAULT_FLOE_FILE,
        help="floe.yaml to check, or a platform file on its own (detected by its keys; default: %(default)s)",
    )
    validate.add_argument(
        "--platform",
        metavar="FILE",
        help="platform file (default: FLOE_PLATFORM_FILE/_ENV)",
    )
    validate.add_argument("--format", choices=("text", "json"), default="text", help="output format")

    schema = commands.add_parser("schema", help="print the JSON Schema of floe.yaml (or of platform.yaml)")
    schema.add_argument("--platform", action="store_true", help="the platform file's schema instead of floe.yaml's")
    schema.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write to FILE instead of standard output",
    )

    compile_ = commands.add_parser("compile", help="validate and write the resolved configuration as JSON")
    compile_.add_argument(
        "path",
        nargs="?",
        default=DEFAULT_FLOE_FILE,
        help="floe.yaml (default: %(default)s)",
    )
    compile_.add_argument(
        "--platform",
        metavar="FILE",
        help="platform file (default: FLOE_PLATFORM_FILE/_ENV)",
    )
    compile_.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write to FILE instead of standard output",
    )
    return parser


def run() -> int:
    """Run ``floe-config`` as a command (the console script): ``main`` in a process that ends with it.

    The cyclic garbage collector stays off for the command's life, and what it allocated is frozen before the
    interpreter exits: a validate run builds every model and keeps nearly all it allocates until it exits, and
    collecting it cost ~30 ms (during imports and at exit) of a ~170 ms command (bench/README.md, ``config``).
    A library caller of ``main`` keeps the collector as it is.

    Returns:
        The exit code of ``main``.
    """
    gc.disable()
    try:
        return main()
    finally:
        gc.freeze()


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``floe-config`` and return its exit code.

    Args:
        argv: Arguments without the program name; ``sys.argv[1:]`` when omitted.

    Returns:
        0 when valid, 1 when invalid, 2 on a usage error or an unreadable file.
    """
    try:
        args = build_parser().parse_args(argv)
        if args.command == "validate":
            return _validate(args.path, args.platform, args.format, sys.stdout)
        if args.command == "schema":
            return _schema(args.output, platform=args.platform)
        return _compile(args.path, args.platform, args.output)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except KeyboardInterrupt:
        print("floe-config: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_INVALID
    except Exception as exc:
        # Last resort: a bug in floe-config. One line, never a traceback.
        print(f"floe-config: internal error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _load(path: str, platform: str | None) -> tuple[FloeDocument | None, PlatformDocument | None, list[ConfigIssue]]:
    """Load both files, collecting the problems of each; a file that cannot be read raises ``ConfigFileError``."""
    from floe_config.floe_loading import load_floe_document
    from floe_config.platform_selection import resolve_platform_file

    issues: list[ConfigIssue] = []
    document = platform_document = None
    try:
        document = load_floe_document(path)
    except ConfigFileError:
        raise
    except ConfigError as exc:
        issues.extend(exc.issues)
    try:
        name, _ = resolve_platform_file(platform, floe_yaml=path)
        if name is not None:
            from floe_config.platform_loading import load_platform_document

            platform_document = load_platform_document(platform, floe_yaml=path)
    except ConfigFileError:
        raise
    except ConfigError as exc:
        issues.extend(exc.issues)
    return document, platform_document, issues


def _validate(path: str, platform: str | None, output_format: str, out: TextIO) -> int:
    if platform is None and is_platform_file(path):
        return _validate_platform(path, output_format, out)
    try:
        document, platform_document, issues = _load(path, platform)
    except ConfigFileError as exc:
        _report(exc.issues, output_format, out, path)
        return EXIT_USAGE
    _report(issues, output_format, out, path, document, platform_document)
    return EXIT_INVALID if any(issue.severity == "error" for issue in issues) else EXIT_VALID


_PLATFORM_KEYS = frozenset({"environment", "tracing", "lineage", "dbt", "execution", "instance"})
_PLATFORM_MODELINE = re.compile(r"^#\s*yaml-language-server:\s*\$schema=\S*platform\.schema\.json\s*$", re.MULTILINE)


def is_platform_file(path: str) -> bool:
    """Tell whether ``path`` holds a platform file rather than a floe.yaml.

    A file is a platform file when its modeline points at ``platform.schema.json``, or when its top level is a
    mapping without ``name`` or ``orchestration`` and with at least one platform key. Anything unreadable or not
    YAML is not (the floe.yaml path reports it).
    """
    import yaml

    try:
        with open(path, "rb") as file:
            head = file.read(_DETECTION_BYTES)
    except OSError:
        return False
    text = head.decode("utf-8", errors="replace")
    if _PLATFORM_MODELINE.search(text):
        return True
    if len(head) >= _DETECTION_BYTES:
        return False
    # libyaml when available: PyYAML's pure-Python parser took ~300 ms on a 500-entity floe.yaml, most of the
    # command's run. A floe.yaml is told apart from its first top-level keys, without parsing the rest.
    loader = getattr(yaml, "CBaseLoader", yaml.BaseLoader)
    try:
        if _has_floe_key(yaml.parse(text, Loader=loader)):
            return False
        root = yaml.compose(text, Loader=loader)
    except (yaml.YAMLError, RecursionError):
        return False
    if not isinstance(root, yaml.MappingNode):
        return False
    keys = {key.value for key, _ in root.value if isinstance(key, yaml.ScalarNode)}
    return not keys & {"name", "orchestration"} and bool(keys & _PLATFORM_KEYS)


def _has_floe_key(events: Iterator[Event]) -> bool:
    """Tell whether the first document's top-level mapping has a ``name`` or ``orchestration`` key.

    Reads parser events only as far as that key: a floe.yaml (which starts with ``name``) is recognised without
    parsing the rest. A file it says no to is composed in full, so an invalid one still counts as no platform file.
    """
    import yaml

    depth = 0  # collections open, the top-level mapping being depth 1
    at_top_key = False  # the next top-level node is a key of the top-level mapping
    for event in events:
        if isinstance(event, yaml.DocumentEndEvent):
            return False
        if isinstance(event, yaml.CollectionStartEvent):
            if depth == 0 and not isinstance(event, yaml.MappingStartEvent):
                return False
            depth += 1
            if depth == 1:
                at_top_key = True
                continue
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
        elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
            if depth == 0:
                return False
            if depth == 1 and at_top_key and isinstance(event, yaml.ScalarEvent):
                if event.value in ("name", "orchestration"):
                    return True
        else:
            continue
        if depth == 1:
            at_top_key = not at_top_key
    return False


_DETECTION_BYTES = 256 * 1024
"""Platform files are small; a bigger file is read as a floe.yaml (which reports it)."""


def _validate_platform(path: str, output_format: str, out: TextIO) -> int:
    from floe_config.platform_loading import load_platform_document

    try:
        platform_document = load_platform_document(path)
    except ConfigFileError as exc:
        _report(exc.issues, output_format, out, path)
        return EXIT_USAGE
    except ConfigError as exc:
        _report(exc.issues, output_format, out, path)
        return EXIT_INVALID
    if output_format == "json":
        _report([], output_format, out, path, platform_document=platform_document)
        return EXIT_VALID
    spec = platform_document.spec
    out.write(
        f"{path}: valid platform file (environment {spec.environment!r}, executor {spec.execution.executor.type}, "
        f"{spec.instance.storage} instance)\n"
    )
    return EXIT_VALID


def _report(
    issues: list[ConfigIssue],
    output_format: str,
    out: TextIO,
    path: str,
    document: FloeDocument | None = None,
    platform_document: PlatformDocument | None = None,
) -> None:
    ordered = sorted(issues, key=lambda issue: (issue.file, issue.line, issue.column, issue.path))
    if output_format == "json":
        import json

        payload = {
            "valid": not any(issue.severity == "error" for issue in ordered),
            "file": path,
            "platform_file": str(platform_document.path) if platform_document and platform_document.path else None,
            "issues": [issue.to_dict() for issue in ordered],
        }
        out.write(json.dumps(payload, indent=2) + "\n")
        return
    out.writelines(issue.format() + "\n" for issue in ordered)
    if ordered:
        errors = sum(issue.severity == "error" for issue in ordered)
        print(
            f"floe-config: {errors} problem{'s' if errors != 1 else ''} found",
            file=sys.stderr,
        )
        return
    if document is not None:
        out.write(f"{path}: valid ({_summary(document)})\n")
    if platform_document is not None and platform_document.path is not None:
        out.write(f"{os.path.relpath(platform_document.path)}: valid (chosen by {platform_document.chosen_by})\n")


def _summary(document: FloeDocument) -> str:
    orchestration = document.spec.orchestration
    counts = [
        (len(orchestration.jobs), "job"),
        (len(orchestration.schedules), "schedule"),
        (len(orchestration.sensors), "sensor"),
        (len(orchestration.backfills), "backfill"),
        (len(orchestration.partitions), "partitions definition"),
        (len(orchestration.assets), "asset pattern"),
    ]
    return ", ".join(f"{count} {noun}{'s' if count != 1 else ''}" for count, noun in counts)


def _schema(output: str | None, *, platform: bool = False) -> int:
    from floe_config.json_schema import render_floe_json_schema, render_platform_json_schema

    text = render_platform_json_schema() if platform else render_floe_json_schema()
    if output is None:
        sys.stdout.write(text)
        return EXIT_VALID
    return _write(output, text)


def _compile(path: str, platform: str | None, output: str | None) -> int:
    from floe_config.compiled_artifacts import compile_artifacts

    try:
        artifacts = compile_artifacts(path, platform=platform)
    except ConfigFileError as exc:
        _report(exc.issues, "text", sys.stderr, path)
        return EXIT_USAGE
    except ConfigError as exc:
        _report(exc.issues, "text", sys.stderr, path)
        return EXIT_INVALID
    text = artifacts.to_json() + "\n"
    if output is None:
        sys.stdout.write(text)
        return EXIT_VALID
    return _write(output, text)


def _write(output: str, text: str) -> int:
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        print(
            f"floe-config: cannot write {output}: {exc.strerror or exc}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return EXIT_VALID


if __name__ == "__main__":
    sys.exit(run())
