"""Errors raised by floe-dbt-observe: one root, one subclass per failure users can act on."""

from __future__ import annotations


class DbtObserveError(Exception):
    """Root of every error floe-dbt-observe raises."""


class DbtProjectNotFoundError(DbtObserveError):
    """The dbt project directory does not exist or holds no ``dbt_project.yml``."""


class ManifestNotFoundError(DbtObserveError):
    """No manifest exists and none can be produced because the project is missing."""


class InvalidManifestError(DbtObserveError):
    """The manifest file exists but is not a usable dbt manifest."""


class DbtParseError(DbtObserveError):
    """``dbt parse`` failed while producing a missing manifest.

    Attributes:
        returncode: dbt's exit code (``None`` when dbt could not be started).
        dbt_error: dbt's own error text, without colour codes and timestamps (empty when unknown).
    """

    def __init__(self, message: str, *, returncode: int | None = None, dbt_error: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.dbt_error = dbt_error

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_parse_error, (str(self), self.returncode, self.dbt_error))


def _rebuild_parse_error(message: str, returncode: int | None, dbt_error: str) -> DbtParseError:
    return DbtParseError(message, returncode=returncode, dbt_error=dbt_error)


class DbtExecutableNotFoundError(DbtObserveError):
    """No ``dbt`` executable could be found next to the running Python or on ``PATH``."""


class DbtEngineVersionError(DbtObserveError):
    """A ``dbt`` executable cannot be run for its ``--version``, or prints no dbt version."""


class FusionInProcessError(DbtObserveError):
    """``invocation='in_process'`` was asked of dbt Fusion, which runs only as a subprocess."""


class InvalidAssetSettingsError(DbtObserveError):
    """Per-asset settings are malformed (unknown asset key, wrong type)."""


class EmptySelectionError(DbtObserveError):
    """The dbt selection matched no model, seed or snapshot."""
