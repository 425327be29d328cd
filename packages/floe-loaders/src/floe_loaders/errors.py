"""floe-loaders' errors: one root, ``FloeLoaderError``, and a subclass per kind of loading failure.

Every message reads ``<location>: <path>: <what>. <what to do>`` where ``location`` comes from the caller's
``locate`` function (``floe.yaml:12:5`` when floe-config supplies line numbers).
"""

from __future__ import annotations

from floe_loaders.locations import Locate, default_locate


class FloeLoaderError(Exception):
    """Root of every error floe-loaders raises; names the floe.yaml entry that caused it."""

    def __init__(self, path: str, what: str, fix: str, *, locate: Locate = default_locate) -> None:
        """Build the located message.

        Args:
            path: Dotted floe.yaml path of the entry at fault (``orchestration.jobs.transform``).
            what: What went wrong, with the offending value.
            fix: What the user should do.
            locate: Path -> location prefix (``floe.yaml:12:5``).
        """
        self.path = path
        self.what = what.rstrip(".")
        self.fix = fix
        self.location = locate(path)
        super().__init__(f"{self.location}: {path}: {self.what}. {fix}")

    def __reduce__(self) -> tuple[type[FloeLoaderError], tuple[str, str, str]]:
        return (type(self), (self.path, self.what, self.fix))


class AssetModuleNotFoundError(FloeLoaderError):
    """An ``asset_modules`` entry names a module that does not exist."""


class AssetModuleImportError(FloeLoaderError):
    """An asset module exists but importing it failed (syntax error or an exception at import time)."""


class AssetModuleConflictError(FloeLoaderError):
    """A relative module name is already taken by a module imported from somewhere else."""


class DuplicateDefinitionError(FloeLoaderError):
    """Two modules (or a module and floe.yaml) define the same asset key, job, schedule or sensor name."""


class PartitionsDefinitionError(FloeLoaderError):
    """A partitions entry cannot become a Dagster partitions definition, or a reference names none."""


class AssetPatternError(FloeLoaderError):
    """An asset pattern cannot be applied (unknown partitions, conflicting settings inside a multi-asset)."""


class SelectionError(FloeLoaderError):
    """A batch job's selection does not parse, or resolves to no asset."""


class MixedPartitionsError(FloeLoaderError):
    """A batch job selects assets with different partitions definitions."""


class TargetFunctionError(FloeLoaderError):
    """An ops job's or custom sensor's ``target_function`` is outside the import boundary or cannot be loaded."""


class UnknownReferenceError(FloeLoaderError):
    """An entry names a job, asset or backfill that does not exist."""


class ScheduleError(FloeLoaderError):
    """A schedule cannot be built for its job (e.g. ``partition_selector: all`` on time partitions)."""


class BackfillError(FloeLoaderError):
    """A backfill cannot be launched (range outside the partitions, job not partitioned)."""
