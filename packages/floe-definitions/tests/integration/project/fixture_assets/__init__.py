"""Python assets of the floe-definitions test project."""
