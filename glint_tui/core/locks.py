"""Advisory file locks between glint processes of one profile (fcntl ``flock``).

Two glint runs (two terminals, a cron ``apply`` and the UI) may copy the same image to the
same place at once: each checked the destination before either created anything, and
both made a copy. The engine holds a lock per (cloud, project, content) from its last look
at the destination until the copy verified, and a lock per content key while it checks
the other copies a delete relies on and deletes, so the second run sees what the first
did. The lock files live under the profile's state directory and are never removed
(removing a lock file while another process waits on it would split the lock); each is
empty.

The locks bind glint processes sharing a state directory (one user, one ``GLINT_HOME``),
not other machines: there the re-check just before creating still narrows the window.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from glint_tui.core.paths import Paths

POLL = 0.2  # seconds between attempts while another process holds the lock


class LockCancelled(Exception):
    """Waiting for a lock was given up because the run (or action) was cancelled."""


def lock_path(paths: Paths, *key: str) -> Path:
    """The lock file of *key* (its parts hashed: names never reach the file system)."""
    digest = hashlib.sha256("\0".join(key).encode()).hexdigest()[:40]
    return paths.state_dir / "locks" / f"{digest}.lock"


@contextlib.contextmanager
def hold(
    path: Path,
    stop: Callable[[float], bool],
    on_wait: Callable[[], None] | None = None,
) -> Iterator[None]:
    """Hold the exclusive lock *path* for the block.

    ``stop(seconds)`` waits up to that long and returns True when waiting must end (a
    cancelled run): then ``LockCancelled`` is raised. ``on_wait`` is called once, when
    another process holds the lock (to tell the operator why nothing moves).
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told and on_wait is not None:
                    on_wait()
                    told = True
                if stop(POLL):
                    raise LockCancelled() from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


class Busy(Exception):
    """Another process holds a one-at-a-time lock (``only_one``); its pid, when known."""

    def __init__(self, pid: str) -> None:
        super().__init__(pid)
        self.pid = pid


@contextlib.contextmanager
def only_one(path: Path) -> Iterator[None]:
    """Hold *path*'s lock for the block, or raise ``Busy`` at once (never wait): one
    ``glint catalog apply`` at a time per profile. The holder's pid is written into the
    file for the message; the kernel frees the lock when the holder dies (even SIGKILL)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(os.pread(fd, 32, 0).decode(errors="replace").strip() or "?") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)
