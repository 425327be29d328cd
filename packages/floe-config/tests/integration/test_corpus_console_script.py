"""The installed ``floe-config`` console script on every broken floe.yaml a new user might write.

Each committed corpus file (``tests/corpus/*.yaml``) and each case generated here at test time (files too big to
commit, encodings editors produce) must be reported as ``file:line:column: ...`` with exit code 1, nothing that looks
like a traceback, and within a subprocess timeout so a pathological file can never hang the suite.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

CORPUS_DIR = Path(__file__).parents[1] / "corpus"
CORPUS = sorted(CORPUS_DIR.glob("*.yaml"))
TIMEOUT_SECONDS = 120
# An address-space cap for the alias-bomb case: the interpreter, pydantic and PyYAML fit in it comfortably,
# expanding a billion-laughs document does not.
ADDRESS_SPACE_BYTES = 1024 * 1024 * 1024


def expectations(path: Path) -> list[str]:
    """Return the ``# expect:`` lines of a corpus file, without the prefix."""
    lines = path.read_bytes().decode("ascii", errors="replace").splitlines()
    return [line.removeprefix("# expect: ") for line in lines if line.startswith("# expect: ")]


def console_script() -> str:
    """Return the path of the installed ``floe-config`` console script of this interpreter's environment."""
    script = shutil.which("floe-config", path=str(Path(sys.executable).parent))
    assert script is not None, "the floe-config console script is not installed in this environment"
    return script


def clean_env() -> dict[str, str]:
    """Return the environment without floe's platform and corpus variables, so results never depend on the shell."""
    return {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLOE_PLATFORM_", "FLOE_CORPUS_", "DBT_TARGET"))
    }


def validate(
    path: Path, *, preexec_fn: Callable[[], None] | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run ``floe-config validate NAME`` in the file's directory; return the result and the seconds it took."""
    started = time.perf_counter()
    result = subprocess.run(
        [console_script(), "validate", path.name],
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=path.parent,
        check=False,
        timeout=TIMEOUT_SECONDS,
        preexec_fn=preexec_fn,
    )
    return result, time.perf_counter() - started


def assert_reported(
    result: subprocess.CompletedProcess[str], name: str, expected: list[str], exit_code: int = 1
) -> None:
    """Assert the exit code, the exact located lines on stdout, and no traceback anywhere."""
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert result.returncode == exit_code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout.splitlines() == [f"{name}:{line}" for line in expected]


def test_corpus_has_at_least_forty_cases():
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("path", CORPUS, ids=[path.stem for path in CORPUS])
def test_console_script_reports_corpus_file_located(path: Path):
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' line"
    for line in expected:
        location = line.split(": ", 1)[0].split(":")
        assert len(location) == 2, f"{path.name}: expectation {line!r} does not start with LINE:COLUMN"
        assert all(part.isdigit() and int(part) > 0 for part in location), line
    result, _ = validate(path)
    assert_reported(result, path.name, expected)


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))


def test_alias_bomb_is_refused_with_bounded_memory():
    path = CORPUS_DIR / "billion_laughs.yaml"
    result, seconds = validate(path, preexec_fn=_limit_address_space)
    print(f"billion laughs refused in {seconds:.2f} s under a {ADDRESS_SPACE_BYTES >> 20} MiB address-space cap")
    assert_reported(result, path.name, expectations(path))


def _huge_floe_yaml(jobs: int) -> str:
    lines = ["name: shop", "orchestration:", "  jobs:"]
    lines += [
        f'    job_{index:06d}: {{type: batch, selection: ["group:g{index}"], description: "generated job {index}"}}'
        for index in range(jobs)
    ]
    lines += ["  schedules:", '    nightly: {job: job_9999999, cron_schedule: "0 6 * * *"}']
    return "\n".join(lines) + "\n"


def test_huge_file_reports_the_error_on_its_last_line(tmp_path: Path):
    jobs = 10_000
    path = tmp_path / "floe.yaml"
    path.write_text(_huge_floe_yaml(jobs), encoding="utf-8")
    last_line = jobs + 5
    result, seconds = validate(path)
    print(f"{path.stat().st_size:,} bytes, {jobs:,} jobs validated in {seconds:.2f} s")
    assert_reported(
        result,
        "floe.yaml",
        [
            f"{last_line}:20: orchestration.schedules.nightly.job: "
            "unknown job 'job_9999999' (did you mean 'job_009999'?)"
        ],
    )


def test_file_over_the_size_limit_is_refused_unparsed_as_invalid(tmp_path: Path):
    # Over the 8 MiB limit floe-config does not parse at all; the file is invalid (exit 1), not unreadable (exit 2).
    path = tmp_path / "floe.yaml"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("name: shop\ndescription: |\n")
        line = "  " + "x" * 1022 + "\n"
        handle.writelines(line for _ in range(9 * 1024))
    result, _ = validate(path)
    assert_reported(
        result,
        "floe.yaml",
        [
            "1:1: file is 9.0 MiB, over the 8 MiB a floe file may be (one with thousands of entries is well under "
            "1 MiB); check that this is the right file, and move data or generated text out of it"
        ],
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        pytest.param(
            "name: shop\norchestration:\n  jobs:\n    seed: {type: batch, selection: ['group:br\xf6nze']}\n".encode(
                "latin-1"
            ),
            "4:46: file is not UTF-8: byte 0xf6 cannot be decoded; save the file as UTF-8",
            id="latin-1",
        ),
        pytest.param(
            "name: shop\ndescription: \u201ccurly\u201d\n".encode("cp1252"),
            "2:14: file is not UTF-8: byte 0x93 cannot be decoded; save the file as UTF-8",
            id="windows-1252",
        ),
        pytest.param(
            "name: shop\n".encode("utf-16"),
            "1:1: file is not UTF-8: byte 0xff cannot be decoded; save the file as UTF-8",
            id="utf-16",
        ),
    ],
)
def test_non_utf8_bytes_are_located(tmp_path: Path, content: bytes, expected: str):
    path = tmp_path / "floe.yaml"
    path.write_bytes(content)
    result, _ = validate(path)
    assert_reported(result, "floe.yaml", [expected])


def test_deep_nesting_is_refused(tmp_path: Path):
    path = tmp_path / "floe.yaml"
    path.write_text("name: shop\ndescription: " + "[" * 500 + "]" * 500 + "\n", encoding="utf-8")
    result, _ = validate(path)
    path_to_deepest = "description" + "[0]" * 100
    assert_reported(result, "floe.yaml", [f"2:114: {path_to_deepest}: nested deeper than 100 levels"])
