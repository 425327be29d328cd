"""A silver and a gold asset; the nightly job's second term misspells gold, so gold silently leaves the job."""

from dagster import asset


@asset(group_name="silver")
def orders() -> None:
    """Stand in for a staging model."""


@asset(group_name="gold", deps=[orders])
def revenue() -> None:
    """Stand in for a mart."""
