"""Errors raised by floe-definitions: one root, one subclass per kind of failure.

Loading errors carry the floe.yaml (or platform.yaml) location of the entry that caused them, so the message
says which file, line and key to fix.
"""

from __future__ import annotations


class FloeDefinitionsError(Exception):
    """Root of every error floe-definitions raises."""


class LocatedError(FloeDefinitionsError):
    """An error tied to one entry of floe.yaml or platform.yaml.

    Attributes:
        location: Where the entry is written, e.g. ``floe.yaml:12:5`` (``None`` when unknown).
        key: Dotted key of the entry, e.g. ``orchestration.dbt.project_dir``.
        message: What is wrong and how to fix it.
    """

    def __init__(self, message: str, *, location: str | None = None, key: str | None = None) -> None:
        self.location = location
        self.key = key
        self.message = message
        super().__init__(self.located_message)

    @property
    def located_message(self) -> str:
        """``location: key: message``, leaving out what is unknown."""
        prefix = f"{self.location}: " if self.location else ""
        key = f"{self.key}: " if self.key else ""
        return f"{prefix}{key}{self.message}"

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild, (type(self), self.message, self.location, self.key))


def _rebuild(cls: type[LocatedError], message: str, location: str | None, key: str | None) -> LocatedError:
    return cls(message, location=location, key=key)


class DefinitionsLoadError(LocatedError):
    """floe.yaml is valid but cannot be turned into Dagster definitions (module, manifest, selection...)."""


class ConfigNotFoundError(FloeDefinitionsError):
    """No floe.yaml was found where one was expected."""


class ResourceConflictError(FloeDefinitionsError):
    """An extra resource uses a key floe already provides (pass ``override_resources=True`` to replace it)."""


class TelemetryConfigError(LocatedError):
    """The tracing or lineage settings cannot be turned into an exporter or transport."""


class ExecutorConfigError(LocatedError):
    """The platform's executor cannot be built (e.g. its optional extra is not installed)."""


class InstanceConfigError(LocatedError):
    """The Dagster instance platform.yaml describes cannot be rendered, written or opened."""


class RunCommandError(LocatedError):
    """``floe run`` cannot start the run it was asked for (unknown job, partition outside the job's partitions)."""


class DevCommandError(LocatedError):
    """``floe dev`` cannot start its services (the port is taken, or a service failed to start)."""


class ComponentConfigError(FloeDefinitionsError):
    """A ``FloeComponent`` in a dg project cannot be loaded: a missing path in defs.yaml, or floe.yaml's issues."""


class DuplicateComponentAssetError(FloeDefinitionsError):
    """Two ``FloeComponent`` folders of one dg project define the same asset key."""


class CeleryWorkerLostError(FloeDefinitionsError):
    """A Celery worker took a step's task and was lost whole (killed, or its machine gone) before it ended.

    It is the error of the step's failure (``STEP_FAILURE``), as the user's own exception is for a step that raised.

    Attributes:
        step_key: The step whose task was lost.
        worker: The Celery worker that took it (``name@host``).
    """

    def __init__(self, message: str, *, step_key: str, worker: str) -> None:
        self.step_key = step_key
        self.worker = worker
        super().__init__(message)

    def __reduce__(self) -> tuple[object, ...]:
        return (_rebuild_lost, (str(self), self.step_key, self.worker))


def _rebuild_lost(message: str, step_key: str, worker: str) -> CeleryWorkerLostError:
    return CeleryWorkerLostError(message, step_key=step_key, worker=worker)
