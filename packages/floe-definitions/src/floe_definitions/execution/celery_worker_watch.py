"""Fail a Celery step whose worker is lost whole, so that its run never waits for it forever.

Under ``on_worker_lost: fail`` Celery acknowledges a step's task when a worker takes it. A worker's pool process
that dies is reported by the worker's main process (``WorkerLostError``), but a worker lost whole (its main process
killed, its machine gone) reports nothing: the task's state stays STARTED, and dagster-celery's loop, which polls
each task's ``ready()`` with no timeout, waits for ever.

:class:`WatchedCeleryExecutor` runs dagster-celery's own loop with a submitter that wraps each task's result in a
:class:`WatchedResult`. Every few seconds a :class:`WorkerWatch` asks the workers named by the tasks' STARTED states
(``task_track_started``), in one broadcast (Celery's ``inspect().query_task``), whether they still hold those
tasks. A task its worker has not confirmed for ``worker_lost_timeout_seconds`` is lost: its result becomes ready,
with the events the worker stored before it was lost (``STEP_START``, materializations) and then the step's
``STEP_FAILURE`` naming the worker (or ``STEP_UP_FOR_RETRY``, under the op's retry policy), as Dagster's
multiprocess executor reports a crashed step process. The run fails as for any failed step, and the step's span
and lineage run end as a failed step's. A task still in the queue (PENDING, say every worker is busy) is never
failed; neither is a long step on a worker that answers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dagster import DagsterEvent, Executor, serialize_value

from floe_definitions._compat import celery_step_loop, step_failure_or_retry_event
from floe_definitions.errors import CeleryWorkerLostError
from floe_definitions.execution.lost_step_records import stored_step_events

if TYPE_CHECKING:
    from floe_definitions._compat import (
        ExecutionPlan,
        ExecutionStep,
        KnownExecutionState,
        PlanOrchestrationContext,
        RetryMode,
    )

logger = logging.getLogger(__name__)

PROBE_INTERVAL_SECONDS = 5.0
"""Longest time between two questions to the workers (shorter for a short timeout: a quarter of it)."""
REPLY_TIMEOUT_SECONDS = 1.0
"""How long one question waits for the workers' replies (Celery's own default)."""
STARTED = "STARTED"


@dataclass
class _Task:
    result: Any
    worker: str | None = None
    confirmed_at: float = 0.0


class WorkerWatch:
    """Tell, for the tasks of one run, which were taken by a worker that has since been lost.

    Args:
        timeout_seconds: How long a task's worker may go without confirming it holds the task.
        clock: Monotonic seconds.
    """

    def __init__(self, timeout_seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._timeout = timeout_seconds
        self._interval = min(PROBE_INTERVAL_SECONDS, timeout_seconds / 4)
        self._clock = clock
        self._app: Any = None
        self._tasks: dict[str, _Task] = {}
        self._next_probe = 0.0
        self._probe_failed = False

    def watch(self, app: Any, result: Any) -> None:
        """Start watching the task of ``result`` (a Celery ``AsyncResult`` of ``app``)."""
        self._app = app
        self._tasks[result.id] = _Task(result)

    def forget(self, task_id: str) -> None:
        """Stop watching a task that ended."""
        self._tasks.pop(task_id, None)

    def lost_worker(self, task_id: str) -> str | None:
        """Return the worker that took the task and has not confirmed it for the timeout, or None.

        Asks the workers (one broadcast for every watched task) when the last question is older than the probe
        interval.
        """
        task = self._tasks.get(task_id)
        if task is None:
            return None
        now = self._clock()
        if now >= self._next_probe:
            self._probe(now)
            self._next_probe = self._clock() + self._interval
        if task.worker is not None and now - task.confirmed_at >= self._timeout:
            return task.worker
        return None

    def _probe(self, now: float) -> None:
        """Learn which worker took each task (its STARTED state), then ask those workers which they still hold."""
        for task in self._tasks.values():
            if task.worker is None:
                self._read_worker(task, now)
        taken = {task_id: task for task_id, task in self._tasks.items() if task.worker is not None}
        if not taken:
            return
        workers = sorted({task.worker for task in taken.values() if task.worker is not None})
        try:
            inspector = self._app.control.inspect(destination=workers, timeout=REPLY_TIMEOUT_SECONDS)
            replies = inspector.query_task(*taken) or {}
        except Exception:  # the broker cannot be asked: that says nothing of the workers, so none is condemned
            if not self._probe_failed:
                self._probe_failed = True
                logger.warning("floe: cannot ask the Celery workers about their tasks", exc_info=True)
            for task in taken.values():
                task.confirmed_at = now
            return
        for task_id, task in taken.items():
            if task_id in (replies.get(task.worker) or {}):
                task.confirmed_at = now

    def _read_worker(self, task: _Task, now: float) -> None:
        try:
            if task.result.state != STARTED:  # PENDING: still queued (or reserved), not taken by a worker yet
                return
            info = task.result.info
        except Exception:  # the result backend is dagster-celery's to report on; no verdict from here
            logger.debug("floe: cannot read a Celery task's state", exc_info=True)
            return
        worker = info.get("hostname") if isinstance(info, dict) else None
        if worker:
            task.worker = str(worker)
            task.confirmed_at = now  # the timeout counts from when the run learned the worker took it


@dataclass(frozen=True)
class _Submission:
    executor: Executor
    plan_context: PlanOrchestrationContext
    step: ExecutionStep
    known_state: KnownExecutionState


class WatchedResult:
    """A step's Celery result that also becomes ready when the worker that took its task is lost.

    dagster-celery's loop calls ``ready()``, ``get()`` and ``revoke()``; other attributes are the inner result's.
    """

    def __init__(self, inner: Any, watch: WorkerWatch, submission: _Submission, timeout_seconds: float) -> None:
        self._inner = inner
        self._watch = watch
        self._submission = submission
        self._timeout = timeout_seconds
        self._lost: str | None = None

    def __getattr__(self, name: str) -> Any:
        """The inner ``AsyncResult``'s attributes."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def ready(self) -> bool:
        """Whether the task ended, or its worker was lost."""
        if self._lost is not None:
            return True
        if self._inner.ready():
            self._watch.forget(self._inner.id)
            return True
        worker = self._watch.lost_worker(self._inner.id)
        if worker is None:
            return False
        if self._inner.ready():  # it ended while the workers were asked
            self._watch.forget(self._inner.id)
            return True
        self._lost = worker
        self._watch.forget(self._inner.id)
        return True

    def get(self, *args: Any, **kwargs: Any) -> Any:
        """The task's serialized events; for a lost task, those its worker stored and the step's failure.

        Raises:
            CeleryWorkerLostError: The task was lost and this Dagster cannot make the step's failure event
                (dagster-celery's loop then fails the run with this error).
        """
        if self._lost is None:
            return self._inner.get(*args, **kwargs)
        return self._lost_step_events(self._lost)

    def revoke(self, *args: Any, **kwargs: Any) -> Any:
        """Revoke the task (the run was terminated)."""
        self._watch.forget(self._inner.id)
        return self._inner.revoke(*args, **kwargs)

    def _lost_step_events(self, worker: str) -> list[str]:
        submission = self._submission
        step_key = submission.step.key
        error = CeleryWorkerLostError(
            f"the Celery worker {worker} took step {step_key!r} and has not answered for {self._timeout:g} s: it "
            f"was lost (killed, out of memory, or its machine gone), so the step failed. Restart the worker and "
            "re-execute the run; execution.executor.worker_lost_timeout_seconds in the platform file sets this wait",
            step_key=step_key,
            worker=worker,
        )
        stored = stored_step_events(submission.plan_context.instance, submission.plan_context.run_id, step_key)
        failure = step_failure_or_retry_event(
            submission.executor, submission.plan_context, submission.step, error, submission.known_state
        )
        if failure is None:
            raise error
        return [serialize_value(event) for event in [*stored, failure]]


class WatchedCeleryExecutor(Executor):
    """dagster-celery's executor, failing a step whose worker is lost whole (see the module docstring).

    Args:
        inner: dagster-celery's ``CeleryExecutor``.
        timeout_seconds: platform.yaml ``execution.executor.worker_lost_timeout_seconds``.
    """

    def __init__(self, inner: Executor, timeout_seconds: float) -> None:
        self._inner = inner
        self._timeout = timeout_seconds

    @property
    def inner(self) -> Executor:
        """dagster-celery's executor."""
        return self._inner

    @property
    def timeout_seconds(self) -> float:
        """How long a step's worker may go without answering before the step fails."""
        return self._timeout

    @property
    def retries(self) -> RetryMode:
        """dagster-celery's retry mode."""
        return self._inner.retries

    def __getattr__(self, name: str) -> Any:
        """dagster-celery's own attributes (its loop calls ``app_args()`` on the run's executor)."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._inner, name)

    def execute(self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan) -> Iterator[DagsterEvent]:
        """Run dagster-celery's loop, watching the worker of each step it submits.

        Without dagster-celery's loop and submitter (the ``celery_step_loop`` probe), dagster-celery's executor runs
        as it is.
        """
        found = celery_step_loop()
        if found is None:
            return self._inner.execute(plan_context, execution_plan)
        loop, submit_task = found
        watch = WorkerWatch(self._timeout)
        timeout = self._timeout
        executor = self

        def submit(
            app: Any,
            job_context: PlanOrchestrationContext,
            step: ExecutionStep,
            queue: str,
            priority: int,
            known_state: KnownExecutionState,
        ) -> WatchedResult:
            result = submit_task(app, job_context, step, queue, priority, known_state)
            watch.watch(app, result)
            return WatchedResult(result, watch, _Submission(executor, job_context, step, known_state), timeout)

        events: Iterator[DagsterEvent] = loop(plan_context, execution_plan, submit)
        return events
