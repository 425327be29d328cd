"""``floe run`` beside a running ``floe dev``: launch the run through its webserver and follow it from here.

The ``floe dev`` of the same floe.yaml, platform file and instance (its ``DAGSTER_HOME`` holds the file
:mod:`~floe_definitions.commands.dev_state` reads) already has the project loaded and, on floe's warm launcher, a
warm process that forks each run. The run is launched with the webserver's GraphQL API (``launchRun``, the job's
selector and the run's tags, as the UI launches it), its events are read back with ``logsForRun`` and printed by
the same :class:`~floe_definitions.commands.progress.ProgressView` as a run ``floe run`` executes itself, with the
same exit codes. Standard library and floe-config only: this path never imports Dagster. Ctrl-C terminates the
launched run (``terminateRun``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from floe_definitions.commands.dev_state import DevServer, running_dev
from floe_definitions.commands.progress import ProgressEvent, ProgressView
from floe_definitions.commands.run_options import partition_tags, unknown_job_error
from floe_definitions.errors import ConfigNotFoundError
from floe_definitions.project_files import dagster_home, find_floe_yaml

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
POLL_SECONDS = 0.1
REQUEST_TIMEOUT_SECONDS = 30.0
TERMINATE_WAIT_SECONDS = 60.0
FINISHED = frozenset({"SUCCESS", "FAILURE", "CANCELED"})
RUN_ENDS = frozenset({"RUN_SUCCESS", "RUN_FAILURE", "RUN_CANCELED"})

LAUNCH = """
mutation FloeRunLaunch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId jobName } }
    ... on PipelineNotFoundError { pipelineName }
    ... on RunConfigValidationInvalid { errors { message } }
    ... on Error { message }
  }
}
"""
ERROR_FIELDS = "message className"
CAUSES = ERROR_FIELDS
for _ in range(5):  # the error's cause chain, five deep (GraphQL fragments cannot recurse)
    CAUSES = f"{ERROR_FIELDS} cause {{ {CAUSES} }}"
FOLLOW = (
    """
query FloeRunFollow($runId: ID!, $cursor: String) {
  runOrError(runId: $runId) { __typename ... on Run { status } }
  logsForRun(runId: $runId, afterCursor: $cursor, limit: 1000) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events {
        __typename
        ... on MessageEvent { message timestamp level stepKey eventType }
        ... on MaterializationEvent { assetKey { path } }
        ... on ErrorEvent { error { CAUSES } }
      }
    }
    ... on Error { message }
  }
}
"""
).replace("CAUSES", CAUSES)
PARTITION_KEYS = """
query FloeRunPartitions($selector: PipelineSelector!) {
  pipelineOrError(params: $selector) {
    __typename
    ... on Pipeline { partitionKeysOrError { partitionKeys } }
  }
}
"""
ASSET_STEPS = """
query FloeRunAssets($selector: PipelineSelector!) {
  assetNodes(pipeline: $selector) { assetKey { path } opNames }
}
"""
TERMINATE = """
mutation FloeRunTerminate($runId: String!) {
  terminateRun(runId: $runId) { __typename ... on Error { message } }
}
"""


class DevUnavailable(Exception):
    """The ``floe dev`` webserver did not answer (or answered something floe cannot use)."""


def run_through_dev(args: argparse.Namespace, tags: Mapping[str, str], out: TextIO) -> int | None:
    """Launch ``floe run``'s run through a running ``floe dev`` of the same project and instance.

    Returns:
        The exit code, or ``None`` when no such ``floe dev`` runs or the run needs this process (``--in-process``,
        ``--platform-executor``, ``--no-dev``, another platform file): ``floe run`` then executes it here. Every
        case but "no ``floe dev``" prints one line saying why.
    """
    if args.no_dev:
        return None
    try:
        floe_yaml = find_floe_yaml(args.path).resolve()
    except ConfigNotFoundError:
        return None  # the run in this process says so, as it always did
    server = running_dev(dagster_home(floe_yaml.parent))
    if server is None or server.floe_yaml != os.fspath(floe_yaml):
        return None
    try:
        reason = _needs_this_process(args, floe_yaml, server)
    except Exception:  # e.g. FLOE_PLATFORM_ENV is not an environment name: the run here says so, located
        return None
    if reason is not None:
        print(f"floe run: {reason}; running here, not through the floe dev at {server.url}", file=out, flush=True)
        return None
    client = DevClient(server)
    try:
        if args.partition or args.partition_range:
            if not client.partitions_are_valid(args.job, args.partition, args.partition_range):
                return None  # the run in this process names the partition error, located, as it always did
            tags = {**tags, **partition_tags(args.partition, args.partition_range)}
        return client.run(args.job, tags, verbose=args.verbose, floe_yaml=floe_yaml, out=out)
    except DevUnavailable as exc:
        print(f"floe run: the floe dev at {server.url} did not answer ({exc}); running here", file=out, flush=True)
        return None


def _needs_this_process(args: argparse.Namespace, floe_yaml: Path, server: DevServer) -> str | None:
    if args.in_process:
        return "--in-process runs the steps in this process"
    if args.platform_executor:
        return "--platform-executor applies to a run in this process"
    from floe_config.integration import resolve_platform_file

    name, _how = resolve_platform_file(args.platform, floe_yaml=floe_yaml)
    platform_file = os.fspath(Path(name).resolve()) if name is not None else None
    if platform_file != server.platform_file:
        return (
            f"the floe dev of this project runs with {server.platform_file or 'platform defaults'}, "
            f"not {name or 'platform defaults'}"
        )
    return None


class DevClient:
    """The few GraphQL calls ``floe run`` makes to a ``floe dev`` webserver (plain HTTP, no Dagster client)."""

    def __init__(self, server: DevServer) -> None:
        """Talk to ``server``'s webserver."""
        self.server = server
        self.selector = {
            "repositoryLocationName": server.location,
            "repositoryName": server.repository,
            "pipelineName": "",
        }

    def run(self, job: str, tags: Mapping[str, str], *, verbose: bool, floe_yaml: Path, out: TextIO) -> int | None:
        """Launch ``job`` with ``tags``, print its progress and summary; return the exit code.

        Returns:
            0 when the run succeeded, 1 when it failed or was canceled, 2 for an unknown job; ``None`` when the
            ``floe dev`` does not know a job floe.yaml has (it loaded an older floe.yaml): run it here.
        """
        started = time.monotonic()
        selector = {**self.selector, "pipelineName": job}
        params = {
            "selector": selector,
            "runConfigData": {},
            "executionMetadata": {"tags": [{"key": key, "value": value} for key, value in tags.items()]},
        }
        result = self.request(LAUNCH, {"params": params})["launchRun"]
        kind = result["__typename"]
        if kind == "PipelineNotFoundError":
            return self._unknown_job(job, floe_yaml, out)
        if kind != "LaunchRunSuccess":
            details = [error["message"] for error in result.get("errors", [])] or [result.get("message") or kind]
            for detail in details:
                print(f"error: floe dev did not launch {job!r}: {detail}", file=sys.stderr)
            return EXIT_FAILED
        run_id = result["run"]["runId"]
        print(f"floe run: through the floe dev at {self.server.url}: {self.server.url}/runs/{run_id}", file=out)
        view = ProgressView(verbose=verbose, out=out)
        view.header(run_id, result["run"]["jobName"])
        try:
            status = self._follow(run_id, view)
        except KeyboardInterrupt:
            status = self._terminate(run_id, view)
        except DevUnavailable as exc:  # the run was launched: never start it again here
            print(
                f"error: lost the floe dev at {self.server.url} ({exc}); the run may still be running there: "
                f"{self.server.url}/runs/{run_id}",
                file=sys.stderr,
            )
            return EXIT_FAILED
        seconds = time.monotonic() - started
        if status == "SUCCESS":
            view.succeeded(job, seconds, run_id)
            return EXIT_OK
        failed_assets = sorted(self._planned_assets(selector, view.failed_steps()) - view.materialized)
        view.failed(job, seconds, run_id, failed_assets=failed_assets, places=self.server.places)
        return EXIT_FAILED

    def partitions_are_valid(self, job: str, partition: str | None, partition_range: str | None) -> bool:
        """Say whether the partition key(s) are the job's; the run in this process explains any that are not."""
        selector = {**self.selector, "pipelineName": job}
        try:
            found = self.request(PARTITION_KEYS, {"selector": selector})["pipelineOrError"]
        except DevUnavailable:  # e.g. an unpartitioned job has no keys to list
            return False
        keys = (found.get("partitionKeysOrError") or {}).get("partitionKeys") or []
        if partition is not None:
            return partition in keys
        start, sep, end = (partition_range or "").partition("...")
        return bool(sep) and start in keys and end in keys and keys.index(start) <= keys.index(end)

    def request(self, query: str, variables: Mapping[str, Any]) -> dict[str, Any]:
        """Send one GraphQL request; return its ``data``.

        Raises:
            DevUnavailable: The webserver did not answer, or answered with GraphQL errors.
        """
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(
            f"{self.server.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as response:
                answer = json.load(response)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise DevUnavailable(str(getattr(exc, "reason", exc))) from exc
        if answer.get("errors") or not isinstance(answer.get("data"), dict):
            messages = "; ".join(str(error.get("message")) for error in answer.get("errors") or [])
            raise DevUnavailable(f"GraphQL: {messages or 'no data'}")
        return dict(answer["data"])

    def _follow(self, run_id: str, view: ProgressView) -> str:
        """Print the run's events until it ends; return its final status."""
        cursor: str | None = None
        ended = False
        finished_polls = 0
        while True:
            data = self.request(FOLLOW, {"runId": run_id, "cursor": cursor})
            status = (data.get("runOrError") or {}).get("status")
            logs = data["logsForRun"]
            if logs["__typename"] != "EventConnection":
                raise DevUnavailable(logs.get("message") or logs["__typename"])
            for event in logs["events"]:
                progress_event = _progress_event(event)
                ended = ended or progress_event.kind in RUN_ENDS
                view.show(progress_event)
            cursor = logs["cursor"]
            if logs["hasMore"]:
                continue
            finished_polls = finished_polls + 1 if status in FINISHED else 0
            # The run's last event is stored before its status changes; two finished polls cover a run that ended
            # without one (failed by run monitoring before it started).
            if status in FINISHED and (ended or finished_polls > 1):
                return str(status)
            time.sleep(POLL_SECONDS)

    def _terminate(self, run_id: str, view: ProgressView) -> str:
        print(f"floe run: interrupted; terminating run {run_id} in the floe dev", file=view.out, flush=True)
        try:
            answer = self.request(TERMINATE, {"runId": run_id})["terminateRun"]
            if answer["__typename"] != "TerminateRunSuccess":
                print(
                    f"floe run: floe dev did not terminate it: {answer.get('message') or answer['__typename']}",
                    file=view.out,
                    flush=True,
                )
            deadline = time.monotonic() + TERMINATE_WAIT_SECONDS
            while time.monotonic() < deadline:
                try:
                    return self._follow(run_id, view)
                except KeyboardInterrupt:
                    break
        except DevUnavailable:
            pass
        print(f"floe run: the run may still be running; see {self.server.url}/runs/{run_id}", file=view.out)
        return "CANCELED"

    def _unknown_job(self, job: str, floe_yaml: Path, out: TextIO) -> int | None:
        from floe_config.integration import load_floe_document
        from floe_definitions.project_files import display_path, document_locator

        document = load_floe_document(floe_yaml)
        error = unknown_job_error(
            job, list(document.spec.orchestration.jobs), floe_yaml, document_locator(document, display_path(floe_yaml))
        )
        if error is None:
            print(
                f"floe run: the floe dev at {self.server.url} has no job {job!r} yet (floe.yaml changed since it "
                "loaded; reload the code location in its UI); running here",
                file=out,
                flush=True,
            )
            return None
        print(f"error: {error.located_message}", file=sys.stderr)
        return EXIT_USAGE

    def _planned_assets(self, selector: Mapping[str, str], steps: list[str]) -> set[str]:
        if not steps:
            return set()
        try:
            nodes = self.request(ASSET_STEPS, {"selector": selector})["assetNodes"]
        except DevUnavailable:
            return set()
        return {"/".join(node["assetKey"]["path"]) for node in nodes if set(node["opNames"]) & set(steps)}


def _progress_event(event: Mapping[str, Any]) -> ProgressEvent:
    error = event.get("error")
    while error is not None and error.get("cause") is not None:
        error = error["cause"]
    asset = event.get("assetKey")
    return ProgressEvent(
        kind=event.get("eventType"),
        level=str(event.get("level") or ""),
        step_key=event.get("stepKey"),
        timestamp=int(event.get("timestamp") or 0) / 1000,
        message=event.get("message") or "",
        asset="/".join(asset["path"]) if asset else None,
        error=(error["message"], error.get("className")) if error is not None else None,
    )
