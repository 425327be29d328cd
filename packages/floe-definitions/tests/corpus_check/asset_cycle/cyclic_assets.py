"""Two assets that each depend on the other."""

from dagster import asset


@asset(deps=["customers"])
def orders() -> None:
    """Needs customers."""


@asset(deps=["orders"])
def customers() -> None:
    """Needs orders: a cycle."""
