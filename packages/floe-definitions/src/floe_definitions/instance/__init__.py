"""The Dagster instance: the project's ``DAGSTER_HOME`` and the ``dagster.yaml`` rendered from platform.yaml."""
