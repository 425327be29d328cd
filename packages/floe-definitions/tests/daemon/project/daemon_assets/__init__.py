"""Assets and ops of the daemon tests' project."""
