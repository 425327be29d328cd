"""Python assets of the fault tests' project."""
