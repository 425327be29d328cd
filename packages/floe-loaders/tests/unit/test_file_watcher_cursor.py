from __future__ import annotations

from floe_loaders.file_watcher import FileVersion, FileWatcherCursor, select_new_versions

SECOND = 1_000_000_000


def _v(name: str, ctime: int, size: int = 1, mtime: int | None = None) -> FileVersion:
    return FileVersion(relpath=name, path=f"/d/{name}", size=size, mtime_ns=mtime or ctime, ctime_ns=ctime)


def _select(files, cursor, now, limit=1000):
    return select_new_versions(files, cursor, scan_started_ns=now, slack_ns=2 * SECOND, limit=limit)


def test_first_tick_takes_everything_and_keeps_only_recent_files() -> None:
    files = [_v(f"f{i}", i * SECOND) for i in range(100)]
    taken, cursor = _select(files, FileWatcherCursor(), now=100 * SECOND)
    assert len(taken) == 100
    assert cursor.horizon_ns == 98 * SECOND
    assert set(cursor.seen) == {"f98", "f99"}


def test_nothing_twice_across_ticks() -> None:
    files = [_v(f"f{i}", i * SECOND) for i in range(10)]
    _, cursor = _select(files, FileWatcherCursor(), now=10 * SECOND)
    taken, cursor2 = _select(files, cursor, now=20 * SECOND)
    assert taken == []
    assert cursor2.seen == {}


def test_changed_file_is_taken_again_with_a_new_run_key() -> None:
    files = [_v("a", 1 * SECOND, size=1)]
    first, cursor = _select(files, FileWatcherCursor(), now=5 * SECOND)
    changed = [_v("a", 6 * SECOND, size=2)]
    second, _ = _select(changed, cursor, now=7 * SECOND)
    assert [v.run_key for v in second] == ["a:2:6000000000"]
    assert first[0].run_key != second[0].run_key


def test_file_written_during_the_previous_scan_is_not_missed() -> None:
    # 'late' was created while the previous scan ran (after scan start) but was not listed by it
    seen_by_first = [_v("early", 1 * SECOND), _v("during", 10 * SECOND + 5)]
    _, cursor = _select(seen_by_first, FileWatcherCursor(), now=10 * SECOND)
    later = [*seen_by_first, _v("late", 10 * SECOND + 1)]
    taken, _ = _select(later, cursor, now=20 * SECOND)
    assert [v.relpath for v in taken] == ["late"]


def test_limit_defers_the_rest_in_order_without_loss() -> None:
    files = [_v(f"f{i:03d}", SECOND + i // 10) for i in range(250)]  # many share a ctime
    cursor = FileWatcherCursor()
    got: list[str] = []
    for _ in range(5):
        taken, cursor = _select(files, cursor, now=100 * SECOND, limit=100)
        got.extend(v.relpath for v in taken)
    assert sorted(got) == sorted(v.relpath for v in files)
    assert len(got) == len(set(got)) == 250


def test_cursor_round_trips_and_tolerates_garbage() -> None:
    cursor = FileWatcherCursor(horizon_ns=5, seen={"a": 7})
    assert FileWatcherCursor.from_json(cursor.to_json()) == cursor
    assert FileWatcherCursor.from_json("not json") == FileWatcherCursor()
    assert FileWatcherCursor.from_json('{"v": 99}') == FileWatcherCursor()
