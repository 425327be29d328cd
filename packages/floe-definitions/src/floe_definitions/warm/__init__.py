"""Warm run starts: a long-lived process per code location forks each run (``run_launcher`` in ``dagster.yaml``).

:mod:`~floe_definitions.warm.launcher` is the Dagster run launcher; :mod:`~floe_definitions.warm.server` the warm
process it starts; :mod:`~floe_definitions.warm.fingerprint` what tells the warm process to load the project again.
"""
