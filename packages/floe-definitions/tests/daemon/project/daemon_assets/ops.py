"""Ops jobs of the daemon tests' project."""


def record_alert() -> str:
    """Stand in for a failure notification."""
    return "alerted"


def tick() -> str:
    """Do nothing, on a schedule."""
    return "tick"
