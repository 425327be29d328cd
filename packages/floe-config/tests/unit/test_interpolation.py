import pytest

from floe_config.interpolation import InterpolationError, interpolate


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("${A:dflt}", {}, "dflt"),
        ("${A:-dflt}", {}, "dflt"),
        ("${A:dflt}", {"A": "set"}, "set"),
        ("${A:dflt}", {"A": ""}, "dflt"),
        ("${A}", {"A": ""}, ""),
        ("${CRON:0 6 * * *}", {}, "0 6 * * *"),
        ("pre-${A}-${B:b}-post", {"A": "a"}, "pre-a-b-post"),
        ("$${A}", {"A": "x"}, "${A}"),
        ("cost $5 and $${literal}", {}, "cost $5 and ${literal}"),
        ("${A:}", {}, ""),
    ],
)
def test_interpolates(text: str, environ: dict[str, str], expected: str):
    assert interpolate(text, environ).value == expected


def test_remembers_whether_the_environment_supplied_a_value():
    assert interpolate("${A:1}", {"A": "2"}).from_environment
    assert not interpolate("${A:1}", {}).from_environment
    assert interpolate("${A:1}-${B:2}", {}).variables == ("A", "B")


def test_unset_variable_without_default_names_it():
    with pytest.raises(InterpolationError, match=r"environment variable 'DBT_TARGET' is not set"):
        interpolate("${DBT_TARGET}", {})


def test_unclosed_reference_is_an_error():
    with pytest.raises(InterpolationError, match=r"'\$\{' at character 3 is never closed"):
        interpolate("a ${B", {})


def test_invalid_variable_name_is_an_error():
    with pytest.raises(InterpolationError, match=r"'\$\{1BAD\}' is not a valid reference"):
        interpolate("${1BAD}", {})
