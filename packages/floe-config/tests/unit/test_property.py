"""Whatever the input, loading raises nothing but ConfigError."""

import random

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floe_config import ConfigError
from floe_config.floe_loading import parse_floe_document

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["${X}", "${X:1}", "$${", "@daily", "0 6 * * *", "batch", "ops", "group:", "2024-01-01", "type"]),
)
keys = st.one_of(
    st.text(min_size=1, max_size=12),
    st.sampled_from(
        ["name", "orchestration", "jobs", "type", "schedules", "sensors", "partitions", "job", "selection"]
    ),
)
documents = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=25,
)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def load_only_config_errors(content: str | bytes) -> None:
    issues = []
    try:
        parse_floe_document(content, environ={"X": "1"})
    except ConfigError as exc:
        issues = exc.issues
        assert issues, "a ConfigError must carry at least one issue"
    assert all(issue.format() for issue in issues)


@FUZZ
@given(documents)
def test_random_yaml_documents(document: object):
    load_only_config_errors(yaml.safe_dump(document))


@FUZZ
@given(st.text(max_size=200))
def test_random_text(text: str):
    load_only_config_errors(text)


@FUZZ
@given(st.binary(max_size=200))
def test_random_bytes(data: bytes):
    load_only_config_errors(data)


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


@FUZZ
@given(
    seed=st.integers(0, 2**32 - 1), replacement=scalars | documents, action=st.sampled_from(["set", "delete", "rename"])
)
def test_structural_mutations_of_a_valid_file(sample_text: str, seed: int, replacement: object, action: str):
    data = yaml.safe_load(sample_text)
    rng = random.Random(seed)
    path = rng.choice(_paths(data)[1:])
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if action == "set":
        parent[path[-1]] = replacement
    elif action == "delete":
        del parent[path[-1]]
    elif isinstance(parent, dict):
        parent[str(replacement)[:12] or "x"] = parent.pop(path[-1])
    load_only_config_errors(yaml.safe_dump(data, sort_keys=False))


@FUZZ
@given(seed=st.integers(0, 2**32 - 1), insert=st.text(alphabet=" \t\n:-[]{}&*!'\"#${}|>%@`,?", max_size=5))
def test_textual_mutations_of_a_valid_file(sample_text: str, seed: int, insert: str):
    rng = random.Random(seed)
    position = rng.randrange(len(sample_text))
    cut = rng.randrange(0, 4)
    load_only_config_errors(sample_text[:position] + insert + sample_text[position + cut :])
