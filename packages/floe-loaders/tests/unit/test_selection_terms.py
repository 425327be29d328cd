"""Each term of a selection union selects something, or is named with a suggestion from the asset graph."""

from __future__ import annotations

import dagster as dg
import pytest

from floe_loaders.selection_terms import selection_hint, unmatched_terms


@dg.asset(key=["bronze", "raw_orders"], group_name="bronze", tags={"layer": "bronze"}, kinds={"duckdb"})
def raw_orders() -> None:
    return None


@dg.asset(key=["gold", "revenue"], group_name="gold", owners=["team:data"])
def revenue() -> None:
    return None


@pytest.fixture(scope="module")
def graph():
    return dg.Definitions(assets=[raw_orders, revenue]).resolve_asset_graph()


def test_terms_that_select_something_pass(graph) -> None:
    assert unmatched_terms(["group:bronze", 'key:"gold/revenue"', "tag:layer=bronze", "kind:duckdb", "*"], graph) == []


def test_one_bad_term_of_a_union_is_named_with_its_index(graph) -> None:
    [term] = unmatched_terms(["group:bronze", "group:glod"], graph)
    assert (term.index, term.text, term.hint) == (1, "group:glod", " (did you mean 'group:gold'?)")


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("group:platinum", "; known groups: bronze, gold"),
        ('key:"bronze/raw_orderz"', " (did you mean 'key:bronze/raw_orders'?)"),
        ("bronze/raw_orderz", " (did you mean 'key:bronze/raw_orders'?)"),
        ("tag:layr=bronze", " (did you mean 'tag:layer=bronze'?)"),
        ("kind:duckbd", " (did you mean 'kind:duckdb'?)"),
        ("group:gold/revenue", " (did you mean 'key:gold/revenue'?)"),
        ("group:silver and kind:dbt", "; known groups: bronze, gold"),
    ],
)
def test_hint_compares_the_term_with_groups_keys_tags_and_kinds(graph, text: str, hint: str) -> None:
    assert selection_hint(text, graph) == hint


def test_bare_key_no_asset_has_is_unmatched_not_an_exception(graph) -> None:
    [term] = unmatched_terms(["raw_orders"], graph)
    assert term.text == "raw_orders"
