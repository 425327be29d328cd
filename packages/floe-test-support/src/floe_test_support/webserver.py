"""Questions to a running Dagster webserver on 127.0.0.1, over its GraphQL API (plain HTTP, no Dagster import)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request


def code_locations_loaded(port: int) -> bool:
    """Whether the webserver at ``port`` answers and every code location of its workspace has loaded."""
    query = "{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }"
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            entries = json.load(response)["data"]["workspaceOrError"]["locationEntries"]
    except (urllib.error.URLError, OSError, KeyError, TypeError, ValueError):
        return False
    return bool(entries) and all(entry["loadStatus"] == "LOADED" for entry in entries)
