"""Resolve which floe.yaml asset patterns apply to an asset key — a pure function of the config.

Patterns are globs over asset keys written ``a/b/c``: ``*`` matches within one path segment, ``**`` matches
across segments, ``?`` one character, ``[abc]`` / ``[!abc]`` a character class. When several patterns match a
key, each field is taken from the most specific pattern that sets it (tags per tag key):

1. an exact key (no wildcard) beats every glob;
2. then fewer wildcards (``**`` counts as two);
3. then the longer literal prefix before the first wildcard;
4. ties go to the entry written later in floe.yaml.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from floe_config.integration import AssetPattern, AutomationConditionConfig, BackfillPolicyConfig, OrchestrationConfig

_WILDCARD = re.compile(r"\*\*|\*|\?|\[!?\]?[^\]]*\]")
_FIELDS = ("partitions", "automation_condition", "backfill_policy", "group_name", "kinds", "owners", "description")


@dataclass(frozen=True)
class CompiledPattern:
    """One ``orchestration.assets`` entry, ready to match keys."""

    pattern: str
    """The pattern as written in floe.yaml."""
    index: int
    """Position in floe.yaml (later wins ties)."""
    regex: re.Pattern[str]
    """The glob translated to an anchored regex."""
    wildcards: int
    """Number of wildcards (``**`` counts two)."""
    literal_prefix: int
    """Characters before the first wildcard."""

    @property
    def specificity(self) -> tuple[int, int, int, int]:
        """Sort key: higher is more specific."""
        exact = 1 if self.wildcards == 0 else 0
        return (exact, -self.wildcards, self.literal_prefix, self.index)

    def matches(self, key: str) -> bool:
        """Tell whether ``key`` (``a/b/c``) matches."""
        return self.regex.fullmatch(key) is not None


@dataclass(frozen=True)
class ResolvedAssetSettings:
    """The settings floe.yaml's patterns give one asset key, and which pattern supplied each field."""

    key: str
    """The asset key, written ``a/b/c``."""
    partitions: str | None = None
    """Name of an ``orchestration.partitions`` entry."""
    automation_condition: AutomationConditionConfig | None = None
    """Automation condition config (``eager``, ``on_missing``, on_cron)."""
    backfill_policy: BackfillPolicyConfig | None = None
    """Backfill policy config."""
    group_name: str | None = None
    """Group name."""
    kinds: tuple[str, ...] | None = None
    """Kinds to add."""
    owners: tuple[str, ...] | None = None
    """Owners to add."""
    description: str | None = None
    """Description."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Tags to merge into the asset's own."""
    sources: Mapping[str, str] = field(default_factory=dict)
    """Field (``tags.<key>`` for tags) -> the pattern that supplied it."""
    matched_patterns: tuple[str, ...] = ()
    """Every pattern matching the key, least specific first."""

    @property
    def is_empty(self) -> bool:
        """True when no pattern sets anything for this key."""
        return not self.sources


def asset_key_string(key: object) -> str:
    """Write an asset key as floe.yaml does (``a/b/c``).

    Args:
        key: A ``dagster.AssetKey``, a ``a/b/c`` string, or a sequence of path parts.

    Returns:
        The ``/``-joined key.
    """
    path = getattr(key, "path", None)
    if path is not None:
        return "/".join(path)
    if isinstance(key, str):
        return key
    if isinstance(key, Sequence):
        return "/".join(str(part) for part in key)
    raise TypeError(f"not an asset key: {key!r}")


def compile_patterns(patterns: Mapping[str, AssetPattern]) -> tuple[CompiledPattern, ...]:
    """Compile floe.yaml's asset patterns in file order.

    Args:
        patterns: ``orchestration.assets``.

    Returns:
        The compiled patterns.
    """
    return tuple(_compile(pattern, index) for index, pattern in enumerate(patterns))


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str, index: int) -> CompiledPattern:
    parts: list[str] = []
    wildcards = 0
    position = 0
    first_wildcard: int | None = None
    for match in _WILDCARD.finditer(pattern):
        parts.append(re.escape(pattern[position : match.start()]))
        token = match.group()
        if first_wildcard is None:
            first_wildcard = match.start()
        if token == "**":
            parts.append(".*")
            wildcards += 2
        elif token == "*":
            parts.append("[^/]*")
            wildcards += 1
        elif token == "?":
            parts.append("[^/]")
            wildcards += 1
        else:
            body = token[1:-1]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            parts.append("[" + ("^/" if negate else "") + body.replace("\\", "\\\\") + "]")
            wildcards += 1
        position = match.end()
    parts.append(re.escape(pattern[position:]))
    return CompiledPattern(
        pattern=pattern,
        index=index,
        regex=re.compile("".join(parts)),
        wildcards=wildcards,
        literal_prefix=len(pattern) if first_wildcard is None else first_wildcard,
    )


def resolve_asset_settings(key: object, orchestration: OrchestrationConfig) -> ResolvedAssetSettings:
    """Resolve the effective pattern settings of one asset key (pure: reads only the config).

    Args:
        key: A ``dagster.AssetKey``, a ``a/b/c`` string, or a sequence of path parts.
        orchestration: floe.yaml's orchestration section.

    Returns:
        The effective settings and, per field, the pattern that supplied it.
    """
    return resolve_with_patterns(asset_key_string(key), orchestration.assets, compile_patterns(orchestration.assets))


def resolve_with_patterns(
    key: str, patterns: Mapping[str, AssetPattern], compiled: Sequence[CompiledPattern]
) -> ResolvedAssetSettings:
    """Resolve one key against already compiled patterns (what ``resolve_asset_settings`` does per call).

    Args:
        key: The key written ``a/b/c``.
        patterns: ``orchestration.assets``.
        compiled: ``compile_patterns(patterns)``.

    Returns:
        The effective settings.
    """
    matching = sorted((item for item in compiled if item.matches(key)), key=lambda item: item.specificity)
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    tags: dict[str, str] = {}
    for item in matching:  # least specific first: later assignments win
        config = patterns[item.pattern]
        for name in _FIELDS:
            value = getattr(config, name)
            if value is not None:
                values[name] = tuple(value) if isinstance(value, list) else value
                sources[name] = item.pattern
        for tag_key, tag_value in (config.tags or {}).items():
            tags[tag_key] = tag_value
            sources[f"tags.{tag_key}"] = item.pattern
    return ResolvedAssetSettings(
        key=key,
        tags=tags,
        sources=sources,
        matched_patterns=tuple(item.pattern for item in matching),
        **values,  # type: ignore[arg-type]
    )
