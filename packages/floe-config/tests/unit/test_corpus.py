"""Every broken floe.yaml in tests/corpus reports exactly its `# expect:` lines, located, with exit code 1."""

from pathlib import Path

import pytest

from floe_config.cli import main

CORPUS = Path(__file__).parents[1] / "corpus"
CASES = sorted(CORPUS.glob("*.yaml"))


def expectations(path: Path) -> list[str]:
    lines = path.read_bytes().decode("ascii", errors="replace").splitlines()
    return [line.removeprefix("# expect: ") for line in lines if line.startswith("# expect: ")]


def test_corpus_is_not_empty():
    assert len(CASES) >= 10


@pytest.mark.parametrize("path", CASES, ids=[path.stem for path in CASES])
def test_corpus_file_reports_its_expected_lines(
    path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(CORPUS)
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' line"
    assert main(["validate", path.name]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [f"{path.name}:{line}" for line in expected]
    assert "Traceback" not in captured.err
