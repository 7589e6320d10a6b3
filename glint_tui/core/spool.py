"""The local spool: a content-addressed, size- and age-capped cache of image bytes.

While the engine streams an image from its source it tees the bytes here. If a
destination then fails transiently, the retry reads the spool instead of the source
(one source read per content, however many destinations misbehave). Entries are named
by content key and committed only after their hash matched it. A committed entry can
still rot on disk, so whoever replays one hashes it again: a mismatch is the spool's
fault, the entry is ``remove``d and the source read again (never blamed on the source).

Files: ``<algo>-<hex>.img`` (committed) and ``.partial-<random>`` (being written), all
0600 in a 0700 directory. A writer holds an ``flock`` on its partial file for as long as
it writes; ``clean`` (at the start of every run) deletes partials nobody holds — left by
a run that was killed — and entries unused for ``max_age`` seconds, then keeps the total
under the size cap by dropping the least recently used. An image larger than the cap is
not spooled.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import re
import threading
import time
import uuid
from pathlib import Path

from glint_tui.core.fsutil import fsync_dir

_SAFE = re.compile(r"^[a-z0-9]+:[0-9a-f]+$")
PARTIAL_PREFIX = ".partial-"
ENTRY_SUFFIX = ".img"
DEFAULT_CAP = 20 << 30  # bytes (20 GiB)
DEFAULT_MAX_AGE = 7 * 24 * 3600.0  # seconds an entry may go unused (7 days)


class Spool:
    def __init__(
        self, directory: Path, cap_bytes: int = DEFAULT_CAP, max_age: float = DEFAULT_MAX_AGE
    ) -> None:
        self.dir = Path(directory)
        self.cap = cap_bytes
        self.max_age = max_age

    def path_of(self, content_key: str) -> Path:
        """Where the committed entry of *content_key* lives (ValueError: not a key)."""
        if not _SAFE.match(content_key):
            raise ValueError(f"not a content key: {content_key!r}")
        algo, digest = content_key.split(":", 1)
        return self.dir / f"{algo}-{digest}{ENTRY_SUFFIX}"

    def get(self, content_key: str, size: int | None = None) -> Path | None:
        """The committed file for this content, if there; one of the wrong size is removed."""
        try:
            p = self.path_of(content_key)
            st = p.stat()
        except (ValueError, OSError):
            return None
        if size is not None and st.st_size != size:
            self.remove(content_key)
            return None
        with contextlib.suppress(OSError):
            os.utime(p)  # most recently used
        return p

    def writer(self, content_key: str, size: int) -> SpoolWriter | None:
        """A writer for new content, or None if it can never fit under the cap."""
        if size <= 0 or size > self.cap:
            return None
        try:
            self.path_of(content_key)
        except ValueError:
            return None
        try:
            self._ensure_dir()
            self._evict(size)
            return SpoolWriter(self, content_key, size)
        except OSError:  # a read-only or full cache: the transfer goes on without a spool
            return None

    def _ensure_dir(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.dir, 0o700)  # an older glint may have made it 0755

    def _entries(self) -> list[Path]:
        """Committed entries only (partials are ``clean``'s business)."""
        if not self.dir.is_dir():
            return []
        return [p for p in self.dir.iterdir() if p.name.endswith(ENTRY_SUFFIX) and p.is_file()]

    def partials(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return [p for p in self.dir.iterdir() if p.name.startswith(PARTIAL_PREFIX)]

    def clean(self, now: float | None = None) -> None:
        """Start-of-run housekeeping: stale partials, entries past ``max_age``, the cap."""
        for p in self.partials():
            _remove_if_unlocked(p)
        now = time.time() if now is None else now
        for p in self._entries():
            with contextlib.suppress(OSError):
                if now - p.stat().st_mtime > self.max_age:
                    p.unlink()
        self._evict(0)

    def _evict(self, incoming: int) -> None:
        """Delete least-recently-used entries until *incoming* more bytes fit."""
        stats = []
        for p in self._entries():
            with contextlib.suppress(OSError):
                stats.append((p, p.stat()))
        stats.sort(key=lambda e: e[1].st_mtime)
        total = sum(st.st_size for _, st in stats)
        for p, st in stats:
            if total + incoming <= self.cap:
                break
            with contextlib.suppress(OSError):
                p.unlink()
                total -= st.st_size

    def remove(self, content_key: str) -> None:
        with contextlib.suppress(ValueError, OSError):
            self.path_of(content_key).unlink()


def _remove_if_unlocked(path: Path) -> None:
    """Delete a partial file unless a live writer holds its lock (it dies with its owner)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held: a run is writing it right now
        os.close(fd)
        return
    try:
        if os.fstat(fd).st_ino == os.stat(path).st_ino:
            path.unlink()
    except OSError:
        pass
    finally:
        os.close(fd)


def _open_locked(path: Path) -> int:
    """Create *path* 0600 and lock it; fail if ``clean`` got there between the two."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        if os.fstat(fd).st_nlink == 0:
            raise FileNotFoundError(path)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()
        raise
    return fd


class SpoolWriter:
    """Receives the stream's chunks; ``commit`` verifies and publishes, ``abort`` drops.

    The writes happen on a thread of their own behind a small bounded queue: a disk
    that is slow for a moment (the kernel throttling dirty pages while three Glance
    stores write too) must not hold up the reader that feeds every destination. If the
    disk falls more than ``max_wait`` seconds behind, this content is simply not
    spooled (the transfer goes on; only a retry would then read the source again).
    Plain sequential writes, no fsync per chunk: the spool is a cache, and a spooled
    stream is hashed and checked again against the source's value when it is replayed.
    The partial file stays locked until it is renamed or deleted.
    """

    def __init__(
        self, spool: Spool, content_key: str, size: int, depth: int = 8, max_wait: float = 10.0
    ) -> None:
        self.spool = spool
        self.content_key = content_key
        self.size = size
        self.written = 0
        self.max_wait = max_wait
        self.tmp = spool.dir / f"{PARTIAL_PREFIX}{uuid.uuid4().hex}"
        self._f = os.fdopen(_open_locked(self.tmp), "wb")
        self.failed = False
        self._q: queue.Queue[bytes | None] = queue.Queue(maxsize=max(1, depth))
        self._thread = threading.Thread(target=self._drain, name="glint-spool", daemon=True)
        self._thread.start()

    def write(self, chunk: bytes) -> None:
        if self.failed:
            return
        try:
            self._q.put(chunk, timeout=self.max_wait)
        except queue.Full:  # the disk cannot keep up: give the spool up, not the transfer
            self.failed = True

    def _drain(self) -> None:
        while (chunk := self._q.get()) is not None:
            if self.failed:
                continue
            try:
                self._f.write(chunk)
                self.written += len(chunk)
            except OSError:  # disk full: the transfer goes on without a spool
                self.failed = True

    def _stop(self) -> bool:
        """Let the writer finish what it has; True once it has (bounded by ``max_wait``)."""
        with contextlib.suppress(queue.Full):
            self._q.put(None, timeout=self.max_wait)
        self._thread.join(self.max_wait)
        return not self._thread.is_alive()

    def commit(self, algo: str, digest: str | None) -> Path | None:
        """Publish if the bytes are complete and their *algo* hash is the content key; else
        drop (the engine hashes the stream once, with the content key's algorithm)."""
        if not self._stop():
            self.failed = True
        try:
            self._f.flush()
        except OSError:
            self.failed = True
        matches = digest is not None and self.content_key == f"{algo}:{digest}"
        if self.failed or self.written != self.size or not matches:
            self.abort()
            return None
        final = self.spool.path_of(self.content_key)
        try:
            os.replace(self.tmp, final)  # still locked: ``clean`` cannot take it meanwhile
        except OSError:
            self.abort()
            return None
        finally:
            with contextlib.suppress(OSError):
                self._f.close()
        with contextlib.suppress(OSError):
            fsync_dir(self.spool.dir)
        return final

    def abort(self) -> None:
        self.failed = True  # the writer skips whatever is still queued
        stopped = self._stop()
        with contextlib.suppress(OSError):
            self.tmp.unlink()
        if stopped:
            with contextlib.suppress(OSError):
                self._f.close()
