"""One silver asset; the job's selection misspells its group."""

from dagster import asset


@asset(group_name="silver")
def orders() -> None:
    """Stand in for a staging model."""
