import tracemalloc
from pathlib import Path

import pytest

from floe_config import ConfigError
from floe_config.errors import ConfigFileError
from floe_config.yaml_loading import MAX_FILE_BYTES, load_yaml, read_config_file


def load(text: str | bytes, environ: dict[str, str] | None = None):
    return load_yaml(text, "floe.yaml", environ=environ or {})


def messages(text: str | bytes) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(text)
    return [issue.format() for issue in caught.value.issues]


def test_records_value_and_key_positions():
    document = load("a:\n  b: [1, {c: x}]\n")
    source_map = document.source_map
    assert source_map.values[("a", "b")] == (2, 6)
    assert source_map.values[("a", "b", 1, "c")] == (2, 14)
    assert source_map.keys[("a", "b")] == (2, 3)


def test_unknown_path_falls_back_to_nearest_located_ancestor():
    document = load("a:\n  b: 1\n")
    assert document.source_map.value_location(("a", "b", "missing", 0)) == (2, 6)


def test_yaml_12_core_schema_keeps_norway_and_dates_as_strings():
    document = load("a: no\nb: 2024-01-01\nc: on\nd: true\ne: 010\nf: 1.5\ng: ~\nh: 0x1F\ni: 1.0.0\n")
    assert document.data == {
        "a": "no",
        "b": "2024-01-01",
        "c": "on",
        "d": True,
        "e": 10,
        "f": 1.5,
        "g": None,
        "h": 31,
        "i": "1.0.0",
    }


def test_quoted_numbers_stay_strings():
    assert load('a: "30"\n').data == {"a": "30"}


def test_duplicate_key_is_a_located_error():
    assert messages("a: 1\nb: 2\na: 3\n") == [
        "floe.yaml:3:1: a: duplicate key 'a' (first defined at line 1); keys must be unique, remove or rename one"
    ]


def test_every_duplicate_key_is_reported_at_once():
    assert len(messages("x:\n  a: 1\n  a: 2\ny:\n  b: 1\n  b: 2\n")) == 2


def test_tab_indentation_is_a_located_error():
    assert messages("a:\n\tb: 1\n") == [
        "floe.yaml:2:1: invalid YAML: a tab character where YAML expects indentation or a value "
        "while scanning for the next token; indent with spaces, not tabs"
    ]


def test_bad_indentation_is_a_located_error_with_a_hint():
    (message,) = messages("a:\n  b: 1\n c: 2\n")
    assert message.startswith("floe.yaml:3:2: invalid YAML:")
    assert message.endswith("check the indentation of this line and the one before it")


def test_unclosed_flow_sequence_is_a_located_error():
    (message,) = messages("a: [1, 2\nb: 3\n")
    assert message.startswith("floe.yaml:2:")
    assert "invalid YAML" in message


def test_non_utf8_bytes_are_a_located_error():
    assert messages(b"name: shop\ndescription: caf\xe9\n") == [
        "floe.yaml:2:17: file is not UTF-8: byte 0xe9 cannot be decoded; save the file as UTF-8"
    ]


def test_utf8_bom_is_accepted():
    assert load(b"\xef\xbb\xbfname: shop\n").data == {"name": "shop"}


def test_control_character_is_a_located_error():
    assert messages("a: b\nc: \x07\n") == [
        "floe.yaml:2:4: character 0x0007 is not allowed in YAML (control characters are not allowed)"
    ]


def test_python_object_tag_is_refused_without_constructing_anything():
    assert messages("a: !!python/object/apply:os.system [echo hacked]\n") == [
        "floe.yaml:1:4: a: tag '!!python/object/apply:os.system' is not allowed: "
        "floe files are loaded safely and never create Python objects"
    ]


def test_custom_tag_is_refused():
    assert messages("a: !secret x\n") == [
        "floe.yaml:1:4: a: tag '!secret' is not supported; remove it (floe files use plain YAML values)"
    ]


def billion_laughs() -> str:
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for index in range(1, 10):
        name, previous = chr(ord("a") + index), chr(ord("a") + index - 1)
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_refused_with_bounded_memory():
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as caught:
            load(billion_laughs())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    (issue,) = caught.value.issues
    assert issue.format().startswith("floe.yaml:9:4: aliases expand this document to 4,412,961,516 values")
    assert "billion laughs" in issue.message
    assert peak < 20 * 1024 * 1024


def test_modest_alias_reuse_is_accepted():
    document = load("defaults: &d {pattern: '*.csv', recursive: true}\nx:\n  <<: *d\n  pattern: '*.json'\ny: *d\n")
    assert document.data["x"] == {"pattern": "*.json", "recursive": True}
    assert document.data["y"] == {"pattern": "*.csv", "recursive": True}


def test_recursive_alias_is_refused():
    assert messages("a: &a [1, *a]\n") == [
        "floe.yaml:1:4: an alias refers to the node that contains it (a recursive structure); remove the alias"
    ]


def test_undefined_alias_is_a_located_error():
    assert messages("a: *nope\n") == ["floe.yaml:1:4: invalid YAML: alias '*nope' is used before any anchor '&nope'"]


def test_second_document_is_refused():
    assert messages("a: 1\n---\nb: 2\n") == [
        "floe.yaml:2:1: invalid YAML: the file holds more than one YAML document ('---'); "
        "a floe file is a single document"
    ]


def test_deep_nesting_is_refused():
    (message,) = messages("a: " + "[" * 150 + "]" * 150 + "\n")
    assert "nested deeper than 100 levels" in message


def test_non_scalar_key_is_refused():
    assert messages("? [a, b]\n: 1\n") == [
        "floe.yaml:1:3: keys must be plain text, not a list, mapping or tagged value"
    ]


def test_empty_document_loads_as_none():
    assert load("# only a comment\n").data is None


def test_unset_variable_is_located_at_its_value():
    assert messages("a:\n  b: ${NOPE}\n") == [
        "floe.yaml:2:6: a.b: environment variable 'NOPE' is not set and '${NOPE}' has no default; "
        "set NOPE or write '${NOPE:default}'"
    ]


def test_interpolated_values_are_remembered_with_their_written_text():
    document = load("a: ${TOKEN}\nb: ${PORT:5432}\n", {"TOKEN": "s3cret"})
    assert document.data == {"a": "s3cret", "b": "5432"}
    assert document.source_map.display(("a",), "s3cret") == "'${TOKEN}'"
    assert document.source_map.redact(("a",), "bad value 's3cret'") == "bad value '${TOKEN}'"


def test_missing_file_is_a_file_error(tmp_path: Path):
    with pytest.raises(ConfigFileError) as caught:
        read_config_file(str(tmp_path / "floe.yaml"), "floe.yaml")
    assert [issue.format() for issue in caught.value.issues] == ["floe.yaml: file not found"]


def test_directory_is_a_file_error(tmp_path: Path):
    with pytest.raises(ConfigFileError) as caught:
        read_config_file(str(tmp_path))
    assert caught.value.issues[0].message == "is a directory, not a YAML file"


def test_huge_file_is_refused_before_parsing_as_a_config_error(tmp_path: Path):
    path = tmp_path / "floe.yaml"
    path.write_bytes(b"# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    with pytest.raises(ConfigError) as caught:
        read_config_file(str(path), "floe.yaml")
    assert not isinstance(caught.value, ConfigFileError)
    assert caught.value.issues[0].format() == (
        "floe.yaml:1:1: file is 8.0 MiB, over the 8 MiB a floe file may be (one with thousands of entries is well "
        "under 1 MiB); check that this is the right file, and move data or generated text out of it"
    )
