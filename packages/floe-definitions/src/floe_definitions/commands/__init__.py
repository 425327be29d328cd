"""The ``floe`` command line: its commands, ``floe check``'s deep checks and the dry run."""
