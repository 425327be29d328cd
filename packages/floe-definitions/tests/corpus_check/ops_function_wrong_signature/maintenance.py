"""A maintenance function whose parameter is not the one floe.yaml passes."""


def vacuum(keep_days: int) -> int:
    """Pretend to delete rows older than ``keep_days``."""
    return keep_days
