"""A dagster-dbt translator with folder-based groups and configurable source asset keys.

Groups come from dbt (``meta.dagster.group`` or ``config.group``) when set, else from the
model's first folder under its resource path, optionally renamed (``staging`` -> ``silver``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from dagster import AssetKey
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

_INVALID_GROUP_CHARS = re.compile(r"[^A-Za-z0-9_]")


def folder_of(dbt_resource_props: Mapping[str, Any]) -> str:
    """Return the first folder of a node below its resource path (``models/staging/x.sql`` -> ``staging``).

    Nodes directly in the resource path (``seeds/x.csv``) return the resource path's name
    (``seeds``); snapshots and seeds therefore group as ``snapshots`` / ``seeds`` by default.
    """
    fqn: Sequence[str] = dbt_resource_props.get("fqn") or []
    if len(fqn) >= 3:
        return str(fqn[1])
    original = str(dbt_resource_props.get("original_file_path") or "")
    head = original.replace("\\", "/").split("/", 1)[0]
    return head or str(dbt_resource_props.get("resource_type", "dbt"))


class FloeDbtTranslator(DagsterDbtTranslator):
    """Map dbt nodes to Dagster assets the floe way.

    Args:
        folder_groups: Rename folder-derived groups, e.g. ``{"staging": "silver", "marts": "gold"}``.
            Folders not listed keep their own name as the group.
        source_key_prefix: Prefix for source asset keys that have no ``meta.dagster.asset_key``.
            With ``None`` a source ``raw.orders`` is ``AssetKey(["raw", "orders"])`` (dagster-dbt's
            convention); with ``["bronze"]`` it is ``AssetKey(["bronze", "orders"])`` (the source
            name is replaced, which is how Python bronze assets are usually keyed).
        key_prefix: Prefix for model, seed and snapshot asset keys.
        settings: dagster-dbt translator settings (asset checks are on by default).
    """

    def __init__(
        self,
        *,
        folder_groups: Mapping[str, str] | None = None,
        source_key_prefix: Sequence[str] | None = None,
        key_prefix: Sequence[str] | None = None,
        settings: DagsterDbtTranslatorSettings | None = None,
    ) -> None:
        super().__init__(settings=settings)
        self.folder_groups: dict[str, str] = dict(folder_groups or {})
        self.source_key_prefix: list[str] | None = list(source_key_prefix) if source_key_prefix is not None else None
        self.key_prefix: list[str] = list(key_prefix or [])

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        """Return the asset key: meta override, then source prefix, then dagster-dbt's default plus prefix."""
        meta_key = dbt_resource_props.get("meta", {}).get("dagster", {}).get("asset_key")
        if meta_key:
            return AssetKey(meta_key)
        if dbt_resource_props.get("resource_type") == "source":
            if self.source_key_prefix is not None:
                return AssetKey([*self.source_key_prefix, str(dbt_resource_props["name"])])
            return super().get_asset_key(dbt_resource_props)
        key = super().get_asset_key(dbt_resource_props)
        return key.with_prefix(self.key_prefix) if self.key_prefix else key

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        """Return the group: dbt meta/config group first, else the (renamed) folder."""
        explicit = super().get_group_name(dbt_resource_props)
        if explicit:
            return explicit
        if dbt_resource_props.get("resource_type") == "source":
            return None
        folder = folder_of(dbt_resource_props)
        group = self.folder_groups.get(folder, folder)
        return _INVALID_GROUP_CHARS.sub("_", group) or None
