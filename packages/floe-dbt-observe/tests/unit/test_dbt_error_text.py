"""dbt's error, cut out of its console output for a one-screen message."""

from floe_dbt_observe.manifest import dbt_error_text


def test_keeps_the_lines_after_encountered_an_error_without_colours_or_timestamps() -> None:
    output = [
        "\x1b[0m02:26:42  Running with dbt=1.11.16",
        "\x1b[0m02:26:49  Encountered an error:",
        "Compilation Error in model revenue (models/revenue.sql)",
        "  unexpected '}', expected ')'",
        "",
    ]
    assert (
        dbt_error_text(output)
        == "Compilation Error in model revenue (models/revenue.sql)\n  unexpected '}', expected ')'"
    )


def test_without_the_marker_keeps_the_last_lines() -> None:
    assert dbt_error_text([f"02:00:0{i}  line {i}" for i in range(3)]) == "line 0\nline 1\nline 2"


def test_dbt_1_12s_level_prefixed_marker_is_found() -> None:
    # dbt 1.12.6's own output for the corpus project `dbt_parse_fails` (colour codes as it prints them)
    output = [
        "\x1b[0m14:29:06  Running with dbt=1.12.6",
        "\x1b[0m14:29:08  Registered adapter: duckdb=1.11.1",
        "\x1b[0m14:29:12  [\x1b[31mERROR\x1b[0m]: Encountered an error:",
        "Compilation Error in model revenue (models/revenue.sql)",
        "  unexpected '}', expected ')'",
    ]
    assert (
        dbt_error_text(output)
        == "Compilation Error in model revenue (models/revenue.sql)\n  unexpected '}', expected ')'"
    )
