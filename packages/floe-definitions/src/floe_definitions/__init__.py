"""FloeDefinitions: floe.yaml becomes an observed Dagster code location."""

__all__: list[str] = []
