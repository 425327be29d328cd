"""dbt models as Dagster assets, each with its own OpenTelemetry span and OpenLineage run."""

__all__: list[str] = []
