"""``daily/count``: one partition per day, filled by ``floe backfill first_days`` under the daemon."""

from dagster import AssetExecutionContext, MaterializeResult, asset


@asset(key=["daily", "count"], group_name="daily")
def count(context: AssetExecutionContext) -> MaterializeResult[None]:
    """Record the partitions this run was launched for (a backfill run may cover several; floe.yaml's batch_size)."""
    keys = context.partition_key_range
    return MaterializeResult(metadata={"first_day": keys.start, "last_day": keys.end})
