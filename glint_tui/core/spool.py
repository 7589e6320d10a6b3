"""The local spool: a content-addressed, size-capped cache of image bytes.

While the engine streams an image from its source it tees the bytes here. If a
destination then fails transiently, the retry reads the spool instead of the source
(one source read per content, however many destinations misbehave). Entries are named
by content key and committed only after their hash matched it, so a spool file is
trusted exactly as much as the source was. Oldest entries are evicted to stay under
the cap; an image larger than the cap is simply not spooled.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import re
import threading
import uuid
from pathlib import Path

from glint_tui.core.fsutil import fsync_dir

_SAFE = re.compile(r"^[a-z0-9]+:[0-9a-f]+$")


class Spool:
    def __init__(self, directory: Path, cap_bytes: int) -> None:
        self.dir = Path(directory)
        self.cap = cap_bytes

    def _path(self, content_key: str) -> Path:
        if not _SAFE.match(content_key):
            raise ValueError(f"not a content key: {content_key!r}")
        algo, digest = content_key.split(":", 1)
        return self.dir / f"{algo}-{digest}.img"

    def get(self, content_key: str, size: int | None = None) -> Path | None:
        """The committed file for this content, if there (and of the right size)."""
        try:
            p = self._path(content_key)
            st = p.stat()
        except (ValueError, OSError):
            return None
        if size is not None and st.st_size != size:
            return None
        with contextlib.suppress(OSError):
            os.utime(p)  # most recently used
        return p

    def writer(self, content_key: str, size: int) -> SpoolWriter | None:
        """A writer for new content, or None if it can never fit under the cap."""
        if size <= 0 or size > self.cap:
            return None
        try:
            self._path(content_key)
        except ValueError:
            return None
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._evict(size)
        return SpoolWriter(self, content_key, size)

    def usage(self) -> int:
        return sum(p.stat().st_size for p in self._entries())

    def _entries(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return [p for p in self.dir.iterdir() if p.is_file()]

    def _evict(self, incoming: int) -> None:
        """Delete least-recently-used entries (and stale partials) until incoming fits."""
        entries = sorted(self._entries(), key=lambda p: p.stat().st_mtime)
        total = sum(p.stat().st_size for p in entries)
        for p in entries:
            if total + incoming <= self.cap:
                break
            with contextlib.suppress(OSError):
                size = p.stat().st_size
                p.unlink()
                total -= size

    def remove(self, content_key: str) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._path(content_key).unlink()


class SpoolWriter:
    """Receives the stream's chunks; ``commit`` verifies and publishes, ``abort`` drops.

    The writes happen on a thread of their own behind a small bounded queue: a disk
    that is slow for a moment (the kernel throttling dirty pages while three Glance
    stores write too) must not hold up the reader that feeds every destination. If the
    disk falls more than ``max_wait`` seconds behind, this content is simply not
    spooled (the transfer goes on; only a retry would then read the source again).
    Plain sequential writes, no fsync per chunk: the spool is a cache, and a spooled
    stream is hashed and checked again against the source's value when it is replayed.
    """

    def __init__(
        self, spool: Spool, content_key: str, size: int, depth: int = 8, max_wait: float = 10.0
    ) -> None:
        self.spool = spool
        self.content_key = content_key
        self.size = size
        self.written = 0
        self.max_wait = max_wait
        self.tmp = spool.dir / f".partial-{uuid.uuid4().hex}"
        self._f = open(self.tmp, "wb")  # noqa: SIM115 - closed in commit/abort
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
            self._f.close()
        except OSError:
            self.failed = True
        matches = digest is not None and self.content_key == f"{algo}:{digest}"
        if self.failed or self.written != self.size or not matches:
            self.abort()
            return None
        final = self.spool._path(self.content_key)
        os.replace(self.tmp, final)
        with contextlib.suppress(OSError):
            fsync_dir(self.spool.dir)
        return final

    def abort(self) -> None:
        self.failed = True  # the writer skips whatever is still queued
        if self._stop():
            with contextlib.suppress(OSError):
                self._f.close()
        with contextlib.suppress(OSError):
            self.tmp.unlink()


def file_hashes(path: Path, chunk: int = 1 << 20) -> tuple[str, str]:
    """(md5, sha512) of a file: used by tests and the bench to check what landed."""
    md5, sha = hashlib.md5(), hashlib.sha512()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            md5.update(block)
            sha.update(block)
    return md5.hexdigest(), sha.hexdigest()
