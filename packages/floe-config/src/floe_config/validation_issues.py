"""Turn pydantic ``ValidationError``s into located ``ConfigIssue``s a data engineer understands.

pydantic reports a ``loc`` that mixes data keys with union branch names (``jobs.transform.batch.selection``); the
data path is recovered by walking the loaded document alongside it. Messages are rewritten per error type, with "did
you mean" suggestions for unknown keys and values, and values taken from the environment shown as ``${VAR}``.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
import unicodedata
from collections.abc import Callable, Iterator
from typing import Any, Literal, TypeVar, Union

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from floe_config.errors import ConfigError, ConfigIssue
from floe_config.field_types import NAME_PATTERN, PIPELINE_NAME_PATTERN
from floe_config.yaml_loading import KeyPath, SourceMap, dotted

ModelT = TypeVar("ModelT", bound=BaseModel)

_NUMBER_WITH_UNIT = re.compile(r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*$")
"""``30s``, ``5 min``: a number followed by a unit, where floe takes the number alone."""

_LIST_EXAMPLES = {
    "selection": '["group:bronze"]',
    "watched_assets": "[bronze/raw_orders]",
    "watched_jobs": "[transform]",
    "partition_keys": "[us, eu]",
}
"""What to write in a list that must not be empty, by its key."""

_SECONDS_PER_UNIT = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
}
"""Units a ``*_seconds`` value may be written with, to suggest the number of seconds meant."""

_KIND_ERRORS = frozenset(
    {
        "literal_error",
        "string_type",
        "int_type",
        "float_type",
        "bool_type",
        "list_type",
        "dict_type",
        "model_type",
        "model_attributes_type",
        "date_type",
        "datetime_type",
        "is_instance_of",
    }
)
"""Errors that only say "this branch of a union wants another kind of value"; dropped when a branch says more."""


def validation_issues(
    exc: ValidationError, data: Any, source_map: SourceMap, root: type[BaseModel]
) -> list[ConfigIssue]:
    """Map every error of ``exc`` to a located, rewritten issue.

    Args:
        exc: The error raised validating ``data`` against ``root``.
        data: The loaded document that was validated.
        source_map: Where each value of ``data`` is in the file.
        root: The model ``data`` was validated against.

    Returns:
        One issue per distinct problem.
    """
    mapped: list[tuple[KeyPath, list[tuple[KeyPath, str]], ErrorDetails]] = []
    for error in exc.errors(include_url=False):
        path, skips = _data_path(data, error["loc"], error["type"])
        mapped.append((path, skips, error))

    # Where a value failed every branch of a union, each branch reports an error. Keep the branches that say
    # something useful: drop "wrong kind of value" errors when another branch at the same point says more, or
    # when they want a mapping and the value is not one (or the reverse).
    informative: dict[KeyPath, set[str]] = {}
    for _path, skips, error in mapped:
        if error["type"] not in _KIND_ERRORS:
            for point, segment in skips:
                informative.setdefault(point, set()).add(segment)
    kept = [
        (path, skips, error)
        for path, skips, error in mapped
        if not (error["type"] in _KIND_ERRORS and _superseded(error, skips, informative))
    ]
    # A value whose every error was dropped as "another branch says more" would pass silently (a multi dimension
    # written as a name, a job's partitions written as a mapping): keep its first error when nothing at or under its
    # path is reported.
    covered = {path[:end] for path, _, _ in kept for end in range(len(path) + 1)}
    for path, skips, error in mapped:
        if path not in covered:
            covered.add(path)
            kept.append((path, skips, error))
    issues: list[ConfigIssue] = []
    seen: set[tuple[str, str]] = set()
    for path, _skips, error in kept:
        issue = _issue(path, error, data, source_map, root)
        key = (issue.path, issue.message)
        if key not in seen:
            seen.add(key)
            issues.append(issue)
    return issues


def _superseded(
    error: ErrorDetails,
    skips: list[tuple[KeyPath, str]],
    informative: dict[KeyPath, set[str]],
) -> bool:
    if not skips:
        return False
    is_mapping = isinstance(error.get("input"), dict)
    if error["type"] in ("model_type", "model_attributes_type", "dict_type") and not is_mapping:
        return True
    if error["type"] in ("literal_error", "string_type") and is_mapping:
        return True
    return any(informative.get(point, set()) - {segment} for point, segment in skips)


def _data_path(data: Any, loc: tuple[int | str, ...], kind: str) -> tuple[KeyPath, list[tuple[KeyPath, str]]]:
    """Keep the ``loc`` parts that index into ``data``; list the union branch names skipped and where."""
    path: list[str | int] = []
    skips: list[tuple[KeyPath, str]] = []
    current = data
    for index, part in enumerate(loc):
        if isinstance(current, dict) and part in current:
            path.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            path.append(part)
            current = current[part]
        elif part == "[key]":
            continue
        elif index == len(loc) - 1 and kind in ("missing", "extra_forbidden"):
            path.append(part)
        else:
            skips.append((tuple(path), str(part)))
    return tuple(path), skips


def _issue(
    path: KeyPath,
    error: ErrorDetails,
    data: Any,
    source_map: SourceMap,
    root: type[BaseModel],
) -> ConfigIssue:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    shown = source_map.display(path, value)
    at_key = False
    location_path = path
    if error["loc"] and error["loc"][-1] == "[key]":
        at_key = True
        message = _key_message(kind, str(path[-1]) if path else "", ctx)
    elif kind == "missing":
        location_path = path[:-1]
        at_key = True
        message = f"missing required key '{path[-1]}'"
    elif kind == "extra_forbidden":
        at_key = True
        message = _unknown_key_message(str(path[-1]), _allowed_keys(root, data, path[:-1]))
    elif kind == "union_tag_invalid":
        tag = str(ctx.get("tag", ""))
        tags = _quoted(str(ctx.get("expected_tags", "")))
        location_path = (*path, "type")
        path = location_path
        message = (
            f"unknown type {source_map.display(path, tag)}{_did_you_mean(tag, tags)}; use one of: {', '.join(tags)}"
        )
    elif kind == "union_tag_not_found":
        at_key = True
        tags = _union_tags(root, data, path)
        message = "missing 'type'" + (f"; use one of: {', '.join(tags)}" if tags else "")
    else:
        message = _shape_message(path, kind, value, shown, data) or _value_message(kind, error, shown, value, ctx)
    location = source_map.key_location(location_path) if at_key else source_map.value_location(location_path)
    message = source_map.redact(path, message)
    if not at_key:
        message = source_map.with_provenance(path, message)
    return ConfigIssue(source_map.file, location.line, location.column, dotted(path), message)


def _shape_message(path: KeyPath, kind: str, value: Any, shown: str, data: Any) -> str | None:
    """Explain a value of the wrong shape where floe.yaml expects a name of, or a definition unlike, another entry."""
    orchestration = data.get("orchestration") if isinstance(data, dict) else None
    partitions = orchestration.get("partitions") if isinstance(orchestration, dict) else None
    defined = sorted(partitions) if isinstance(partitions, dict) else []
    listed = f" (defined: {', '.join(defined)})" if defined else ""
    if (
        len(path) == 4
        and path[0] == "orchestration"
        and path[1] in ("jobs", "assets")
        and path[3] == "partitions"
        and isinstance(value, dict | list)
    ):
        found = "a mapping" if isinstance(value, dict) else "a list"
        return (
            f"expected the name of one entry of orchestration.partitions{listed}, got {found}; define the partitions "
            "under orchestration.partitions and write its name here, e.g. 'partitions: daily'"
        )
    if (
        len(path) == 5
        and path[:2] == ("orchestration", "partitions")
        and path[3] == "partitions"
        and isinstance(value, str)
    ):
        if value in defined:
            return (
                f"a multi dimension is a definition, not a name: write the definition of {value!r} here (e.g. "
                "{type: daily, start: '2024-01-01'}) instead of naming another entry of orchestration.partitions"
            )
        return (
            f"expected this dimension's definition, got {value!r}; "
            "write e.g. {type: static, partition_keys: [us, eu]}"
        )
    # Only for text the file shows: nothing derived from an environment variable's value may reach a message.
    from_file = isinstance(value, str) and shown == repr(value)
    number = _NUMBER_WITH_UNIT.match(value) if kind == "int_parsing" and from_file else None
    if number is not None:
        amount, unit = number.group(1), number.group(2).lower()
        example = amount
        if str(path[-1]).endswith("_seconds") and unit in _SECONDS_PER_UNIT:
            seconds = float(amount) * _SECONDS_PER_UNIT[unit]
            example = str(int(seconds)) if seconds.is_integer() else example
        return f"expected a whole number, got {shown}; write the number alone, without a unit (e.g. {example})"
    if kind == "too_short" and value == [] and path and str(path[-1]) in _LIST_EXAMPLES:
        return f"must not be empty; list at least one, e.g. {path[-1]}: {_LIST_EXAMPLES[str(path[-1])]}"
    if isinstance(value, list) and kind in ("dict_type", "model_type", "model_attributes_type"):
        return "expected a mapping of keys to values, got a list; write each entry as 'key: value', without '- '"
    return None


def _key_message(kind: str, key: str, ctx: dict[str, Any]) -> str:
    if kind == "string_pattern_mismatch":
        return _name_message(key)
    if kind == "string_too_short":
        return "names must not be empty"
    return f"invalid name '{key}'"


def _value_message(kind: str, error: ErrorDetails, shown: str, value: Any, ctx: dict[str, Any]) -> str:
    messages: dict[str, str] = {
        "string_type": f"expected text, got {_describe(value, shown)}"
        + ("; quote it to keep it as text" if isinstance(value, int | float) else ""),
        "int_type": f"expected a whole number, got {_describe(value, shown)}",
        "int_parsing": f"expected a whole number, got {shown}",
        "int_from_float": f"expected a whole number, got {shown}",
        "float_type": f"expected a number, got {_describe(value, shown)}",
        "float_parsing": f"expected a number, got {shown}",
        "bool_type": f"expected true or false, got {_describe(value, shown)}",
        "bool_parsing": f"expected true or false, got {shown}",
        "list_type": f"expected a list, got {_describe(value, shown)}; write [a, b] or one '- item' per line",
        "dict_type": f"expected a mapping of keys to values, got {_describe(value, shown)}",
        "model_type": f"expected a mapping of keys to values, got {_describe(value, shown)}",
        "model_attributes_type": f"expected a mapping of keys to values, got {_describe(value, shown)}",
        "greater_than": f"must be greater than {ctx.get('gt')}, got {shown}",
        "greater_than_equal": f"must be at least {ctx.get('ge')}, got {shown}",
        "less_than": f"must be less than {ctx.get('lt')}, got {shown}",
        "less_than_equal": f"must be at most {ctx.get('le')}, got {shown}",
        "string_pattern_mismatch": f"{shown} does not match the pattern {ctx.get('pattern')!r}",
    }
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == NAME_PATTERN and isinstance(value, str):
        return _name_message(value, shown)
    if kind == "string_pattern_mismatch" and ctx.get("pattern") == PIPELINE_NAME_PATTERN and isinstance(value, str):
        return _pipeline_name_message(value, shown)
    if kind in messages:
        return messages[kind]
    if kind == "literal_error":
        options = _quoted(str(ctx.get("expected", "")))
        suggestion = _did_you_mean(str(value), options) if isinstance(value, str) else ""
        return f"{_describe(value, shown)} is not allowed{suggestion}; use one of: {', '.join(options)}"
    if kind in ("too_short", "string_too_short"):
        if ctx.get("min_length") == 1:
            return "must not be empty"
        return f"needs at least {ctx.get('min_length')} items, got {shown}"
    if kind in ("value_error", "assertion_error"):
        cause = ctx.get("error")
        return str(cause) if cause is not None else error["msg"]
    if kind.startswith(("date", "datetime")):
        reason = ctx.get("error")
        detail = f": {reason}" if reason else ""
        return f"expected a date like 2024-01-01 or a datetime like 2024-01-01T06:00:00, got {shown}{detail}"
    return f"{error['msg']}, got {shown}"


def _name_message(name: str, shown: str | None = None) -> str:
    """Say what makes ``name`` unusable as a Dagster name and suggest one that works."""
    rule = "names use only letters, digits and underscores, and do not start with a digit"
    if shown is not None and shown != repr(name):
        return f"{shown} is not a valid name; {rule}"  # from the environment: describe nothing of its value
    odd = list(dict.fromkeys(char for char in name if not (char.isascii() and (char.isalnum() or char == "_"))))
    problems = []
    if odd:
        shown_chars = ["a space" if char == " " else repr(char) for char in odd]
        listed = ", ".join(shown_chars[:-1]) + " and " + shown_chars[-1] if len(shown_chars) > 1 else shown_chars[0]
        problems.append(f"contains {listed}")
    if name[:1].isdigit():
        problems.append("starts with a digit")
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = [word for word in re.split(r"[^A-Za-z0-9_]+", ascii_name) if word]
    example = "_".join(words) or "my_pipeline"
    digits = re.match(r"\d+_*", example)
    if digits:
        example = f"{example[digits.end() :]}_{digits.group().rstrip('_')}".strip("_") or f"n{example}"
    if example[:1].isdigit():
        example = f"n{example}"
    return f"name {name!r} {', and '.join(problems)}; {rule}: write e.g. {example!r}"


def _pipeline_name_message(name: str, shown: str | None = None) -> str:
    """Say what makes ``name`` unusable as a pipeline name (service.name, file name) and suggest one that works."""
    rule = "a pipeline name uses only letters, digits, '-', '_' and '.', and does not start with '-' or '.'"
    if shown is not None and shown != repr(name):
        return f"{shown} is not a valid pipeline name; {rule}"
    odd = list(dict.fromkeys(char for char in name if not (char.isascii() and (char.isalnum() or char in "_.-"))))
    problems = []
    if odd:
        shown_chars = ["a space" if char == " " else repr(char) for char in odd]
        listed = ", ".join(shown_chars[:-1]) + " and " + shown_chars[-1] if len(shown_chars) > 1 else shown_chars[0]
        problems.append(f"contains {listed}")
    if name[:1] in ("-", "."):
        problems.append(f"starts with {name[:1]!r}")
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = [word for word in re.split(r"[^A-Za-z0-9_.-]+", ascii_name) if word]
    example = "-".join(words).lstrip(".-") or "my-pipeline"
    return f"name {name!r} {', and '.join(problems)}; {rule}: write e.g. {example!r}"


def _describe(value: Any, shown: str) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {shown}"
    if isinstance(value, int | float):
        return f"the number {shown}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return shown


def _quoted(text: str) -> list[str]:
    return re.findall(r"'([^']*)'", text)


def _did_you_mean(word: str, options: list[str]) -> str:
    # Case first: 'Batch', 'FILE_WATCHER' and 'failure' are near misses difflib alone would not always see.
    by_case = {option.lower(): option for option in options}
    if word.lower() in by_case and by_case[word.lower()] != word:
        return f" (did you mean '{by_case[word.lower()]}'? the case matters)"
    close = difflib.get_close_matches(word.lower(), list(by_case), n=1, cutoff=0.6)
    return f" (did you mean '{by_case[close[0]]}'?)" if close else ""


def _unknown_key_message(key: str, allowed: list[str]) -> str:
    suggestion = _did_you_mean(key, allowed)
    if suggestion:
        return f"unknown key '{key}'{suggestion}"
    if allowed:
        return f"unknown key '{key}'; allowed keys here: {', '.join(allowed)}"
    return f"unknown key '{key}'"


def did_you_mean(word: str, options: list[str]) -> str:
    """Return `` (did you mean 'x'?)`` for the closest of ``options`` to ``word``, or an empty string."""
    return _did_you_mean(word, options)


def _allowed_keys(root: type[BaseModel], data: Any, path: KeyPath) -> list[str]:
    names: list[str] = []
    for model in _models_at(root, data, path):
        names.extend(name for name in model.model_fields if name not in names)
    return names


def _union_tags(root: type[BaseModel], data: Any, path: KeyPath) -> list[str]:
    tags: list[str] = []
    for model in _models_at(root, data, path, narrow=False):
        field = model.model_fields.get("type")
        if field is not None and typing.get_origin(field.annotation) is Literal:
            tags.extend(str(arg) for arg in typing.get_args(field.annotation) if str(arg) not in tags)
    return tags


def _models_at(annotation: Any, data: Any, path: KeyPath, *, narrow: bool = True) -> list[type[BaseModel]]:
    """Return the models that may describe the value at ``path``, narrowed by its ``type`` when it has one."""
    candidates = list(_members(annotation))
    if narrow and isinstance(data, dict) and isinstance(data.get("type"), str):
        tagged = [candidate for candidate in candidates if _has_tag(candidate, data["type"])]
        candidates = tagged or candidates
    if not path:
        return [candidate for candidate in candidates if _is_model(candidate)]
    head, rest = path[0], path[1:]
    child = data.get(head) if isinstance(data, dict) else None
    if isinstance(data, list) and isinstance(head, int) and 0 <= head < len(data):
        child = data[head]
    found: list[type[BaseModel]] = []
    for candidate in candidates:
        if _is_model(candidate):
            field = candidate.model_fields.get(str(head))
            if field is not None:
                found.extend(_models_at(field.annotation, child, rest, narrow=narrow))
        elif typing.get_origin(candidate) is dict:
            args = typing.get_args(candidate)
            if len(args) == 2:
                found.extend(_models_at(args[1], child, rest, narrow=narrow))
        elif typing.get_origin(candidate) is list:
            args = typing.get_args(candidate)
            if args:
                found.extend(_models_at(args[0], child, rest, narrow=narrow))
    return found


def _members(annotation: Any) -> Iterator[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _members(typing.get_args(annotation)[0])
    elif origin is Union or origin is types.UnionType:
        for arg in typing.get_args(annotation):
            yield from _members(arg)
    else:
        yield annotation


def _is_model(candidate: Any) -> bool:
    return isinstance(candidate, type) and issubclass(candidate, BaseModel)


def _has_tag(candidate: Any, tag: str) -> bool:
    if not _is_model(candidate):
        return False
    field = candidate.model_fields.get("type")
    return field is not None and tag in typing.get_args(field.annotation)


def validate_document(
    model: type[ModelT],
    data: Any,
    source_map: SourceMap,
    *,
    extra_checks: Callable[[Any, SourceMap], list[ConfigIssue]] | None = None,
    document: str = "the file",
) -> ModelT:
    """Validate a loaded document against ``model``, reporting model errors and ``extra_checks`` in one pass.

    Args:
        model: The root model (``FloeSpec``, ``PlatformSpec``).
        data: The loaded document.
        source_map: Where each value of ``data`` is in its file.
        extra_checks: Checks across entries, run even when the model rejects the document.
        document: What the file is, for messages about the file as a whole (``floe.yaml``).

    Returns:
        The validated model.

    Raises:
        ConfigError: The document is invalid; every problem is listed.
    """
    if not isinstance(data, dict):
        location = source_map.value_location(())
        message = _top_level_message(model, data, document)
        raise ConfigError([ConfigIssue(source_map.file, location.line, location.column, "", message)])
    issues: list[ConfigIssue] = []
    result: ModelT | None = None
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        issues.extend(validation_issues(exc, data, source_map, model))
    if extra_checks is not None:
        issues.extend(extra_checks(data, source_map))
    if issues or result is None:
        raise ConfigError(issues or [ConfigIssue(source_map.file, 1, 1, "", "invalid document")])
    return result


def _top_level_message(model: type[BaseModel], data: Any, document: str) -> str:
    """Say that the document is not a mapping, what it is instead, and how to write it."""
    keys = list(model.model_fields)
    example = "'name: shop'" if "name" in keys else f"'{keys[0]}: ...'"
    fix = f"write one 'key: value' per line, e.g. {example}"
    if isinstance(data, list):
        fix = f"write each top-level entry as 'key: value', not as a list item, e.g. {example}"
    elif isinstance(data, str) and data.strip():
        has_colon = ":" in data.split(None, 1)[0]
        key, _, rest = data.partition(":" if has_colon else " ")
        if key in keys:
            space = "a space after its ':'" if has_colon else "': ' after it"
            fix = f"a key needs {space}, e.g. '{key}: {rest.strip() or '...'}'"
    return f"{document} must be a mapping with the keys {', '.join(keys)}; found {_describe(data, repr(data))}: {fix}"
