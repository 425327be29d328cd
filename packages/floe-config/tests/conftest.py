"""Shared fixtures: the valid sample floe.yaml and helpers that load text with an explicit environment."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from floe_config import ConfigError
from floe_config.errors import ConfigIssue
from floe_config.floe_loading import FloeDocument, parse_floe_document

TESTS_DIR = Path(__file__).parent
SAMPLE = TESTS_DIR / "samples" / "floe.yaml"


@pytest.fixture(scope="session")
def sample_path() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


@pytest.fixture
def parse() -> Callable[..., FloeDocument]:
    """Parse floe.yaml text with an explicit (empty by default) environment."""

    def _parse(text: str | bytes, environ: Mapping[str, str] | None = None) -> FloeDocument:
        return parse_floe_document(text, file="floe.yaml", environ=environ or {})

    return _parse


@pytest.fixture
def issues_of() -> Callable[..., list[ConfigIssue]]:
    """Return the issues a floe.yaml text raises (failing the test when it is valid)."""

    def _issues(text: str | bytes, environ: Mapping[str, str] | None = None) -> list[ConfigIssue]:
        with pytest.raises(ConfigError) as caught:
            parse_floe_document(text, file="floe.yaml", environ=environ or {})
        return caught.value.issues

    return _issues


@pytest.fixture
def lines_of(issues_of: Callable[..., list[ConfigIssue]]) -> Callable[..., list[str]]:
    """Return the formatted ``floe.yaml:L:C: path: message`` lines a text raises."""

    def _lines(text: str | bytes, environ: Mapping[str, str] | None = None) -> list[str]:
        return [issue.format() for issue in issues_of(text, environ)]

    return _lines
