"""Safe YAML loading that remembers where every key and value came from.

PyYAML composes the node graph (with libyaml when available); this module then builds plain Python values from it
itself, so that it can: record the line and column of every mapping key and value in a ``SourceMap`` keyed by the
key path; reject duplicate keys, non-standard tags (no Python objects) and alias bombs before expanding anything;
resolve scalars by the YAML 1.2 core schema (``no`` and ``2024-01-01`` stay strings); and interpolate ``${VAR}`` in
every string. Problems are collected, not raised one by one, so a file reports all of them at once.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from floe_config.errors import ConfigError, ConfigFileError, ConfigIssue
from floe_config.interpolation import InterpolationError, has_reference, interpolate

KeyPath = tuple[str | int, ...]
"""Path of a value in a document: mapping keys and sequence indexes from the root."""

MAX_FILE_BYTES = 8 * 1024 * 1024
"""Larger files are refused before parsing: a floe.yaml with thousands of entities is well under 1 MiB."""

MAX_ALIAS_EXPANSION = 100_000
"""At most this many nodes may be added by expanding aliases (a billion-laughs document adds ~10^9)."""

MAX_DEPTH = 100
"""Deepest nesting of mappings and sequences accepted."""

_TAG = "tag:yaml.org,2002:"
_STR, _INT, _FLOAT, _BOOL, _NULL = (f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null"))
_MAP, _SEQ, _MERGE = f"{_TAG}map", f"{_TAG}seq", f"{_TAG}merge"
_SCALAR_TAGS = frozenset({_STR, _INT, _FLOAT, _BOOL, _NULL, "!"})


class Location(NamedTuple):
    """A 1-based line and column in a file (a tuple: one is made per YAML node, so it must be cheap)."""

    line: int
    column: int


@dataclass(frozen=True)
class Interpolation:
    """A value written with ``${...}``: the text as written and whether the environment supplied any part of it."""

    written: str
    value: str
    environment_variables: tuple[str, ...] = ()
    """Variables whose value came from the environment."""
    defaulted_variables: tuple[str, ...] = ()
    """Variables that were unset and took the default written in the file."""

    @property
    def from_environment(self) -> bool:
        """Whether the environment supplied any part of the value."""
        return bool(self.environment_variables)

    def provenance(self) -> str:
        """Say where the value came from and what to change: the environment, or the defaults in the file."""
        if self.environment_variables:
            names = self.environment_variables
            if len(names) == 1:
                return f"it came from environment variable {names[0]}: change its value"
            return f"it came from environment variables {', '.join(names)}: change their values"
        names = self.defaulted_variables
        if len(names) == 1:
            return (
                f"it came from the default of ${{{names[0]}}} ({names[0]} is not set): set {names[0]}, "
                "or fix the default"
            )
        listed = ", ".join(f"${{{name}}}" for name in names)
        return f"it came from the defaults of {listed} (none is set): set them, or fix the defaults"


@dataclass
class SourceMap:
    """Where each key and value of a loaded document sits in its file, and which values were interpolated."""

    file: str
    """The file name used in messages."""
    values: dict[KeyPath, Location] = field(default_factory=dict)
    """Start of each value (scalar, mapping or sequence), by key path."""
    keys: dict[KeyPath, Location] = field(default_factory=dict)
    """Position of each mapping key, by the key path of its value."""
    interpolations: dict[KeyPath, Interpolation] = field(default_factory=dict)
    """Values that contained ``${...}``, by key path."""
    written: dict[KeyPath, str] = field(default_factory=dict)
    """Booleans and numbers as written (``1.10``, ``true``), by key path, so messages show what the file says."""

    def value_location(self, path: KeyPath) -> Location:
        """Return where the value at ``path`` (or its nearest located ancestor) starts."""
        for end in range(len(path), -1, -1):
            location = self.values.get(path[:end])
            if location is not None:
                return location
        return Location(1, 1)

    def key_location(self, path: KeyPath) -> Location:
        """Return where the key of ``path`` is written (or its value's location when it has no key)."""
        location = self.keys.get(path)
        return location if location is not None else self.value_location(path)

    def display(self, path: KeyPath, value: object) -> str:
        """Render ``value`` for a message: the ``${...}`` text as written when the environment supplied any of it.

        A value made only of the file's text and the defaults written in it is shown as it resolved (``'soon'``
        for ``${POLL:soon}``); ``provenance`` then says which default it came from.
        """
        interpolation = self.interpolations.get(path)
        if interpolation is not None and interpolation.from_environment:
            return repr(interpolation.written)
        written = self.written.get(path)
        if written is not None and not isinstance(value, str):
            return written
        return repr(value)

    def provenance(self, path: KeyPath) -> str | None:
        """Say where an interpolated value came from (environment or default) and what to change; else ``None``."""
        interpolation = self.interpolations.get(path)
        return interpolation.provenance() if interpolation is not None else None

    def with_provenance(self, path: KeyPath, message: str) -> str:
        """Append to ``message`` where the value at ``path`` came from, when it was interpolated."""
        provenance = self.provenance(path)
        return f"{message}; {provenance}" if provenance else message

    def issue(self, path: KeyPath, message: str, *, at_key: bool = False) -> ConfigIssue:
        """Build an issue located at the value (or key) of ``path``."""
        location = self.key_location(path) if at_key else self.value_location(path)
        if not at_key:
            message = self.with_provenance(path, message)
        return ConfigIssue(self.file, location.line, location.column, dotted(path), message)

    def redact(self, path: KeyPath, message: str) -> str:
        """Replace values taken from the environment at or under ``path`` by the ``${...}`` text as written."""
        for value_path, interpolation in self.interpolations.items():
            if not interpolation.from_environment or value_path[: len(path)] != path:
                continue
            message = message.replace(repr(interpolation.value), repr(interpolation.written))
            if len(interpolation.value) >= 3:
                message = message.replace(interpolation.value, interpolation.written)
        return message


@dataclass(frozen=True)
class LoadedDocument:
    """A YAML document as plain Python values, with its source map."""

    data: Any
    source_map: SourceMap


def dotted(path: KeyPath) -> str:
    """Render a key path as ``orchestration.jobs.transform.selection[0]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


class _CoreResolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core schema: only ``true``/``false`` are booleans, and dates stay strings."""

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        """Return the tag of a node; called by the composer for every node, so kept to the cases floe uses."""
        if kind is ScalarNode:
            if not implicit[0]:
                return _STR
            for tag, pattern in self.yaml_implicit_resolvers.get(value[:1], ()):
                if pattern.match(value):
                    return str(tag)
            return _STR
        return _SEQ if kind is SequenceNode else _MAP


for _tag, _pattern, _first in (
    (_BOOL, r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    (_NULL, r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    (_INT, r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        _FLOAT,
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$",
        "-+.0123456789",
    ),
    (_MERGE, r"^(?:<<)$", "<"),
):
    _CoreResolver.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))

if yaml.__with_libyaml__:

    class _Composer(_CoreResolver, yaml.CBaseLoader):
        """libyaml's parser and composer with the core-schema resolver."""

else:  # pragma: no cover - PyYAML's wheels ship libyaml

    class _Composer(_CoreResolver, yaml.BaseLoader):  # type: ignore[no-redef]
        """PyYAML's pure-Python parser and composer with the core-schema resolver."""


def read_config_file(path: str, display_name: str | None = None) -> bytes:
    """Read a configuration file's bytes.

    Args:
        path: Filesystem path.
        display_name: Name used in messages; ``path`` when omitted.

    Returns:
        The file's content.

    Raises:
        ConfigFileError: The file is missing, a directory, or unreadable.
        ConfigError: The file is larger than ``MAX_FILE_BYTES`` (a problem with its content, refused unparsed).
    """
    name = display_name or path
    try:
        with open(path, "rb") as handle:
            content = handle.read(MAX_FILE_BYTES + 1)
            size = os.fstat(handle.fileno()).st_size
    except FileNotFoundError:
        raise ConfigFileError([ConfigIssue(name, 0, 0, "", "file not found")]) from None
    except IsADirectoryError:
        raise ConfigFileError([ConfigIssue(name, 0, 0, "", "is a directory, not a YAML file")]) from None
    except OSError as exc:
        raise ConfigFileError([ConfigIssue(name, 0, 0, "", f"cannot read file: {exc.strerror or exc}")]) from None
    if len(content) > MAX_FILE_BYTES:
        raise ConfigError([ConfigIssue(name, 1, 1, "", too_large_message(max(size, len(content))))])
    return content


def too_large_message(size: int) -> str:
    """Say that a file of ``size`` bytes is over the limit, and what to do about it."""
    limit = MAX_FILE_BYTES // (1024 * 1024)
    return (
        f"file is {size / (1024 * 1024):.1f} MiB, over the {limit} MiB a floe file may be (one with thousands of "
        "entries is well under 1 MiB); check that this is the right file, and move data or generated text out of it"
    )


def load_yaml(
    content: str | bytes,
    file: str,
    *,
    environ: Mapping[str, str],
    interpolate_strings: bool = True,
) -> LoadedDocument:
    """Parse one YAML document into plain values plus a source map, collecting every problem.

    Args:
        content: The document; bytes must be UTF-8 (a BOM is allowed).
        file: Name used in messages.
        environ: Variables for ``${VAR}`` interpolation.
        interpolate_strings: Whether to interpolate ``${...}`` in string values.

    Returns:
        The document's values and source map.

    Raises:
        ConfigError: The text is not UTF-8, not YAML, or has duplicate keys, forbidden tags, alias bombs,
            unset variables, or other problems; every one found is listed.
    """
    text = _decode(content, file) if isinstance(content, bytes) else content
    if len(text) > MAX_FILE_BYTES:
        raise ConfigError([ConfigIssue(file, 1, 1, "", too_large_message(len(text.encode("utf-8"))))])
    node = _compose(text, file)
    source_map = SourceMap(file)
    if node is None:
        return LoadedDocument(None, source_map)
    if "&" in text:  # without an anchor there is no alias to expand
        _check_expansion(node, file)
    builder = _Builder(source_map, environ if interpolate_strings else None)
    data = builder.build(node, (), 0)
    if builder.issues:
        raise ConfigError(builder.issues)
    return LoadedDocument(data, source_map)


def _decode(content: bytes, file: str) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content.count(b"\n", 0, exc.start) + 1
        line_start = content.rfind(b"\n", 0, exc.start) + 1
        column = len(content[line_start : exc.start].decode("utf-8", errors="replace")) + 1
        issue = ConfigIssue(
            file,
            line,
            column,
            "",
            f"file is not UTF-8: byte 0x{content[exc.start]:02x} cannot be decoded; save the file as UTF-8",
        )
        raise ConfigError([issue]) from None


def _compose(text: str, file: str) -> Node | None:
    composer = _Composer(text)
    try:
        node: Node | None = composer.get_single_node()
    except yaml.MarkedYAMLError as exc:
        raise ConfigError([_marked_issue(exc, file, text)]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        character = exc.character if isinstance(exc.character, str) else chr(exc.character)
        issue = ConfigIssue(
            file,
            line,
            column,
            "",
            f"character {ord(character):#06x} is not allowed in YAML ({exc.reason})",
        )
        raise ConfigError([issue]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([ConfigIssue(file, 1, 1, "", f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise ConfigError([ConfigIssue(file, 1, 1, "", "document is nested too deeply")]) from None
    finally:
        composer.dispose()
    return node


def _marked_issue(exc: yaml.MarkedYAMLError, file: str, text: str) -> ConfigIssue:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "invalid YAML"
    lines = text.splitlines()
    at = ""
    if mark is not None and mark.line < len(lines):
        at = lines[mark.line][mark.column :]
    hint = ""
    if "tab" in problem or at.startswith("\t"):
        problem = "a tab character where YAML expects indentation or a value" if "tab" not in problem else problem
        hint = "; indent with spaces, not tabs"
    elif any(text in problem for text in ("expected <block end>", "mapping values are not allowed", "expected key")):
        hint = "; check the indentation of this line and the one before it"
    elif "expected a single document" in (exc.context or ""):
        problem = "the file holds more than one YAML document ('---'); a floe file is a single document"
    elif "undefined alias" in problem:
        name = re.match(r"\*([^\s,\]}]*)", at)
        problem = (
            f"alias '*{name.group(1) if name else ''}' is used before any anchor '&{name.group(1) if name else ''}'"
        )
    context = f" {exc.context}" if exc.context and "while" in exc.context else ""
    message = f"invalid YAML: {problem}{context}{hint}"
    if mark is None:
        return ConfigIssue(file, 1, 1, "", message)
    return ConfigIssue(file, mark.line + 1, mark.column + 1, "", message)


def _location(node: Node) -> Location:
    return Location(node.start_mark.line + 1, node.start_mark.column + 1)


def _check_expansion(root: Node, file: str) -> None:
    """Refuse documents whose aliases expand to too many nodes, or refer to themselves, before building anything."""
    sizes: dict[int, int] = {}
    active: set[int] = set()
    reused: dict[int, Node] = {}

    def size(node: Node, depth: int) -> int:
        key = id(node)
        cached = sizes.get(key)
        if cached is not None:
            reused[key] = node
            return cached
        if key in active:
            location = _location(node)
            message = "an alias refers to the node that contains it (a recursive structure); remove the alias"
            raise ConfigError([ConfigIssue(file, location.line, location.column, "", message)])
        if depth > MAX_DEPTH:
            location = _location(node)
            raise ConfigError(
                [
                    ConfigIssue(
                        file,
                        location.line,
                        location.column,
                        "",
                        f"nested deeper than {MAX_DEPTH} levels",
                    )
                ]
            )
        total = 1
        if isinstance(node, SequenceNode):
            active.add(key)
            for child in node.value:
                total += size(child, depth + 1)
            active.discard(key)
        elif isinstance(node, MappingNode):
            active.add(key)
            for key_node, value_node in node.value:
                total += size(key_node, depth + 1) + size(value_node, depth + 1)
            active.discard(key)
        sizes[key] = total
        return total

    expanded = size(root, 0)
    unique = len(sizes)
    if expanded - unique > MAX_ALIAS_EXPANSION:
        biggest = max(reused.values(), key=lambda node: sizes[id(node)])
        location = _location(biggest)
        message = (
            f"aliases expand this document to {expanded:,} values (from {unique:,} written); at most "
            f"{MAX_ALIAS_EXPANSION:,} may come from aliases. Is this a 'billion laughs' document? "
            "Use fewer or smaller aliases"
        )
        raise ConfigError([ConfigIssue(file, location.line, location.column, "", message)])


class _Builder:
    """Turns a composed node graph into Python values, recording locations and collecting issues."""

    def __init__(self, source_map: SourceMap, environ: Mapping[str, str] | None) -> None:
        self.source_map = source_map
        self.environ = environ
        self.issues: list[ConfigIssue] = []

    def _issue(self, node: Node, path: KeyPath, message: str) -> None:
        location = _location(node)
        self.issues.append(
            ConfigIssue(
                self.source_map.file,
                location.line,
                location.column,
                dotted(path),
                message,
            )
        )

    def build(self, node: Node, path: KeyPath, depth: int) -> Any:
        self.source_map.values.setdefault(path, _location(node))
        if depth > MAX_DEPTH:
            self._issue(node, path, f"nested deeper than {MAX_DEPTH} levels")
            return None
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if isinstance(node, SequenceNode):
            if node.tag != _SEQ:
                self._issue(node, path, _tag_message(node.tag))
                return None
            return [self.build(child, (*path, index), depth + 1) for index, child in enumerate(node.value)]
        if isinstance(node, MappingNode):
            if node.tag != _MAP:
                self._issue(node, path, _tag_message(node.tag))
                return None
            return self._mapping(node, path, depth)
        self._issue(node, path, f"unsupported YAML node {type(node).__name__}")  # pragma: no cover
        return None  # pragma: no cover

    def _mapping(self, node: MappingNode, path: KeyPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, Location] = {}
        merges: list[tuple[Node, MappingNode]] = []
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _MERGE:
                merges.extend(self._merge_sources(key_node, value_node, path))
                continue
            key = self._key(key_node, path)
            if key is None:
                continue
            child_path = (*path, key)
            if key in first_seen:
                first = first_seen[key]
                self._issue(
                    key_node,
                    child_path,
                    f"duplicate key '{key}' (first defined at line {first.line}); keys must be unique, "
                    "remove or rename one",
                )
                continue
            first_seen[key] = _location(key_node)
            self.source_map.keys[child_path] = first_seen[key]
            result[key] = self.build(value_node, child_path, depth + 1)
        for _, source in merges:
            for key_node, value_node in source.value:
                key = self._key(key_node, path)
                if key is None or key in result:
                    continue
                child_path = (*path, key)
                self.source_map.keys[child_path] = _location(key_node)
                result[key] = self.build(value_node, child_path, depth + 1)
        return result

    def _merge_sources(self, key_node: Node, value_node: Node, path: KeyPath) -> list[tuple[Node, MappingNode]]:
        candidates = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        sources: list[tuple[Node, MappingNode]] = []
        for candidate in candidates:
            if isinstance(candidate, MappingNode) and candidate.tag == _MAP:
                sources.append((key_node, candidate))
            else:
                self._issue(
                    candidate,
                    path,
                    "'<<' merges only mappings (an alias such as '*defaults' to a mapping)",
                )
        return sources

    def _key(self, key_node: Node, path: KeyPath) -> str | None:
        if not isinstance(key_node, ScalarNode) or key_node.tag not in _SCALAR_TAGS:
            self._issue(
                key_node,
                path,
                "keys must be plain text, not a list, mapping or tagged value",
            )
            return None
        if not key_node.value:
            self._issue(key_node, path, "empty key; give the entry a name")
            return None
        return str(key_node.value)

    def _scalar(self, node: ScalarNode, path: KeyPath) -> Any:
        tag, text = node.tag, node.value
        if tag in (_STR, "!"):
            return self._string(node, text, path)
        if tag == _NULL:
            return None
        self.source_map.written[path] = text
        if tag == _BOOL:
            lowered = text.lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            self._issue(node, path, f"{text!r} is not a boolean; use true or false")
            return None
        if tag == _INT:
            try:
                return int(text, 0) if text[:2].lower() in ("0o", "0x") else int(text, 10)
            except ValueError:
                self._issue(node, path, f"{text!r} is not an integer")
                return None
        if tag == _FLOAT:
            special = {".inf": "inf", "+.inf": "inf", "-.inf": "-inf", ".nan": "nan"}
            try:
                return float(special.get(text.lower()) or text)
            except ValueError:
                self._issue(node, path, f"{text!r} is not a number")
                return None
        self._issue(node, path, _tag_message(tag))
        return None

    def _string(self, node: ScalarNode, text: str, path: KeyPath) -> str | None:
        if self.environ is None or not has_reference(text):
            return text
        try:
            result = interpolate(text, self.environ)
        except InterpolationError as exc:
            self._issue(node, path, str(exc))
            return None
        if result.variables:
            self.source_map.interpolations[path] = Interpolation(
                text,
                result.value,
                result.environment_variables,
                result.defaulted_variables,
            )
        return result.value


def _tag_message(tag: str) -> str:
    shown = tag.replace(_TAG, "!!")
    if shown.startswith("!!python"):
        return f"tag {shown!r} is not allowed: floe files are loaded safely and never create Python objects"
    return f"tag {shown!r} is not supported; remove it (floe files use plain YAML values)"
