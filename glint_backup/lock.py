"""One run at a time per backup directory: an fcntl lock the kernel frees when we die.

A lock file is never "stale": flock is released when the holder exits, even on SIGKILL,
so no pid-file heuristics are needed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from glint_backup.errors import Locked, NoStore

LOCK_FILE = ".lock"


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold the exclusive lock of *directory* or raise Locked (exit 4) at once."""
    if not Path(directory).is_dir():
        raise NoStore(f"backup directory {directory} does not exist (is the disk mounted?)")
    fd = os.open(Path(directory) / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise Locked(
                f"another glint-backup run (pid {holder}) holds the lock on {directory}"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock
