"""Turn floe.yaml orchestration config into Dagster objects."""

__all__: list[str] = []
