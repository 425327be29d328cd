"""``bronze/landed`` records the file its run was started for; ``silver/summary`` counts what landed."""

from pathlib import Path

from dagster import AssetExecutionContext, MaterializeResult, asset


@asset(key=["bronze", "landed"], group_name="bronze")
def landed(context: AssetExecutionContext) -> MaterializeResult[None]:
    """Read the file named by the file watcher's run tag; a file whose name starts with ``poison`` fails."""
    path = context.run.tags.get("floe/file_path", "")
    if Path(path).name.startswith("poison"):
        raise ValueError(f"refusing poisoned file {path}")
    lines = Path(path).read_text(encoding="utf-8").count("\n") if path else 0
    return MaterializeResult(metadata={"file": path, "lines": lines})


@asset(key=["silver", "summary"], group_name="silver", deps=[landed])
def summary() -> MaterializeResult[None]:
    """Stand in for the transform step."""
    return MaterializeResult(metadata={"ok": True})
