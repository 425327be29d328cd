"""A bronze and a silver asset; the sensor misspells the bronze key."""

from dagster import asset


@asset(key=["bronze", "raw_orders"], group_name="bronze")
def raw_orders() -> None:
    """Stand in for a landed file."""


@asset(group_name="silver", deps=[raw_orders])
def orders() -> None:
    """Stand in for a staging model."""
