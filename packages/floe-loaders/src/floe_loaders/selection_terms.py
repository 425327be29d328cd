"""The terms of a selection union that select nothing, each with a "did you mean" over the asset graph.

A batch job's ``selection`` is a list of Dagster selection strings whose union the job runs. One misspelled term
(``group:glod``) silently drops what it meant while the other terms keep the job non-empty, so every term must
select at least one asset on its own. The suggestion compares each ``attribute:value`` of the term with the
graph's group names, asset keys, tags, kinds and owners.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import dagster as dg

from floe_config.integration import did_you_mean
from floe_loaders import _compat

_ATOM = re.compile(r'\b(group|key|tag|kind|owner|code_location):("(?:[^"\\]|\\.)*"|[^\s()]+)')
_KIND_TAG_PREFIX = "dagster/kind/"
_LISTED = 8


@dataclass(frozen=True)
class UnmatchedTerm:
    """One selection term that selects no materializable asset.

    Attributes:
        index: Position of the term in the ``selection`` list.
        text: The term as written.
        hint: ``" (did you mean 'group:gold'?)"``, or ``"; known groups: ..."``, or empty.
    """

    index: int
    text: str
    hint: str


def unmatched_terms(strings: Sequence[str], asset_graph: _compat.BaseAssetGraph[Any]) -> list[UnmatchedTerm]:
    """Return the terms of a selection union that select no materializable asset on their own.

    Args:
        strings: The ``selection`` list (already known to parse).
        asset_graph: The graph of every asset of the code location.

    Returns:
        The unmatched terms, in list order.
    """
    materializable = {key for key in asset_graph.get_all_asset_keys() if asset_graph.get(key).is_materializable}
    unmatched = []
    for index, text in enumerate(strings):
        try:
            with _compat.silenced_selection_beta_warning():
                selected = set(dg.AssetSelection.from_string(text).resolve(asset_graph))
        except dg.DagsterInvalidSubsetError:  # a bare key that no asset has
            selected = set()
        if not selected & materializable:
            unmatched.append(UnmatchedTerm(index, text, selection_hint(text, asset_graph)))
    return unmatched


def selection_hint(text: str, asset_graph: _compat.BaseAssetGraph[Any]) -> str:
    """Suggest what a selection term that selects nothing probably meant.

    Args:
        text: One selection string.
        asset_graph: The graph of every asset of the code location.

    Returns:
        ``" (did you mean '...'?)"``, ``"; known <attribute>s: ..."`` or an empty string.
    """
    vocabulary = _vocabulary(asset_graph)
    atoms = [(attribute, raw.strip('"')) for attribute, raw in _ATOM.findall(text)]
    if not atoms:
        atoms = [("key", text.strip().strip("+").strip('"'))]
    for attribute, value in atoms:
        known = vocabulary.get(attribute, [])
        if "*" in value or value in known or (attribute == "tag" and value.split("=")[0] in known):
            continue
        for other, options in vocabulary.items():  # right value, wrong attribute: group:bronze/raw_orders
            if other != attribute and value in options:
                return f" (did you mean '{other}:{value}'?)"
        close = did_you_mean(value, known)  # values only: a shared 'group:' prefix would make any two look close
        if close:
            return close.replace(" (did you mean '", f" (did you mean '{attribute}:", 1)
        if known:
            shown = ", ".join(known[:_LISTED]) + (", ..." if len(known) > _LISTED else "")
            plural = "keys" if attribute == "key" else f"{attribute}s"
            return f"; known {plural}: {shown}"
        return f"; no asset has any {attribute}"
    return ""


def _vocabulary(asset_graph: _compat.BaseAssetGraph[Any]) -> dict[str, list[str]]:
    groups: set[str] = set()
    keys: set[str] = set()
    tags: set[str] = set()
    kinds: set[str] = set()
    owners: set[str] = set()
    for key in asset_graph.get_all_asset_keys():
        node = asset_graph.get(key)
        if not node.is_materializable:
            continue
        keys.add(key.to_user_string())
        if node.group_name:
            groups.add(node.group_name)
        for name, value in (node.tags or {}).items():
            if name.startswith(_KIND_TAG_PREFIX):
                kinds.add(name.removeprefix(_KIND_TAG_PREFIX))
            elif not name.startswith("dagster/"):
                tags.add(f"{name}={value}" if value else name)
                tags.add(name)
        owners.update(node.owners or ())
    return {
        "group": sorted(groups),
        "key": sorted(keys),
        "tag": sorted(tags),
        "kind": sorted(kinds),
        "owner": sorted(owners),
    }
