"""Traces and lineage: tracer provider, OpenLineage client, sinks, span delivery and run trace ids."""
