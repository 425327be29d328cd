"""Maintenance functions; floe.yaml's ops job misspells one."""


def vacuum(retention_days: int = 30) -> int:
    """Pretend to delete rows older than ``retention_days``."""
    return retention_days


def analyze() -> None:
    """Pretend to refresh statistics."""
