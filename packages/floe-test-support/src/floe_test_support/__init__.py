"""floe's shared test support: fixtures and helpers every suite of the workspace would otherwise copy.

Installed by each package's ``test`` dependency group (never published). Its pytest plugin
(:mod:`floe_test_support.fixtures`, registered through the ``pytest11`` entry point) gives every suite the same
fixtures; the helpers are imported where needed:

- :mod:`~floe_test_support.http_endpoints`: local HTTP servers that record what they get (OTLP/HTTP, OpenLineage).
- :mod:`~floe_test_support.grpc_collector`: local OTLP/gRPC collectors that record what they get.
- :mod:`~floe_test_support.openlineage_conformance`: events validated against the vendored official spec.
- :mod:`~floe_test_support.postgres` / :mod:`~floe_test_support.redis_server`: fresh databases on the test servers.
- :mod:`~floe_test_support.reconstruct`: a job loaded by file, reconstructable through Dagster's public API.
- :mod:`~floe_test_support.dagster_internals`: the only place tests import Dagster's private modules.
- :mod:`~floe_test_support.launched_runs`: runs launched from a code server's snapshots by a warm or a cold instance.

Each module imports its own subject (Dagster, psycopg2, floe-dbt-observe) so a suite pays only for what it uses.
"""
