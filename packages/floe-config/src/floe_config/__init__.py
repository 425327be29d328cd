"""floe.yaml and platform.yaml: schema, interpolation, located errors, CLI."""

__all__: list[str] = []
