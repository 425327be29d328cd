"""Create (once) a directory of 100,000 small files for the ``file_watcher`` benchmark, cached under bench/.work/.

Nine in ten names match ``*.csv``; the rest (``*.tmp``) must be ignored by the sensor's pattern. The directory is
complete once the marker file beside it exists, so an interrupted creation is redone.

CLI: ``python bench/file_watcher_fixture.py [--files 100000] [OUTDIR]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

WORK_DIR = Path(__file__).resolve().parent / ".work"
CONTENT = b"id,amount\n1,10\n"


def create_files(directory: Path, files: int) -> None:
    """Create ``directory`` holding ``files`` small files (replaced if it exists)."""
    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    for i in range(files):
        suffix = "tmp" if i % 10 == 9 else "csv"
        fd = os.open(directory / f"file_{i:06d}.{suffix}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, CONTENT)
        finally:
            os.close(fd)


def ensure_fixture(files: int = 100_000, *, log: bool = True) -> Path:
    """Return the cached directory of ``files`` files, creating it on first use."""
    directory = WORK_DIR / "file_watcher" / f"incoming_{files}"
    marker = directory.with_name(directory.name + ".complete")
    if marker.exists() and directory.is_dir():
        return directory
    marker.unlink(missing_ok=True)
    started = time.perf_counter()
    if log:
        print(f"  creating {files:,} files under {directory} ...", flush=True)
    create_files(directory, files)
    marker.write_text(str(files), encoding="utf-8")
    if log:
        print(f"  ... done in {time.perf_counter() - started:.1f} s", flush=True)
    return directory


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, nargs="?", help="directory to create (default: the cached one)")
    parser.add_argument("--files", type=int, default=100_000)
    args = parser.parse_args(argv)
    if args.out_dir is None:
        print(ensure_fixture(args.files))
    else:
        create_files(args.out_dir.resolve(), args.files)
        print(args.out_dir.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
