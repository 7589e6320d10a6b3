"""The local spool: a content-addressed, size-capped cache of image bytes.

While the engine streams an image from its source it tees the bytes here. If a
destination then fails transiently, the retry reads the spool instead of the source
(one source read per content, however many destinations misbehave). Entries are named
by content key and committed only after their sha512 matched, so a spool file is
trusted exactly as much as the source was. Oldest entries are evicted to stay under
the cap; an image larger than the cap is simply not spooled.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
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
    """Receives the stream's chunks; ``commit`` verifies and publishes, ``abort`` drops."""

    def __init__(self, spool: Spool, content_key: str, size: int) -> None:
        self.spool = spool
        self.content_key = content_key
        self.size = size
        self.written = 0
        self.tmp = spool.dir / f".partial-{uuid.uuid4().hex}"
        self._f = open(self.tmp, "wb")  # noqa: SIM115 - closed in commit/abort
        self.failed = False

    def write(self, chunk: bytes) -> None:
        if self.failed:
            return
        try:
            self._f.write(chunk)
            self.written += len(chunk)
        except OSError:  # disk full: the transfer goes on without a spool
            self.failed = True

    def commit(self, sha512_hex: str, md5_hex: str) -> Path | None:
        """Publish if the bytes are complete and match the content key; else drop."""
        try:
            self._f.close()
        except OSError:
            self.failed = True
        algo, digest = self.content_key.split(":", 1)
        expected = {"sha512": sha512_hex, "md5": md5_hex}.get(algo)
        if self.failed or self.written != self.size or expected != digest:
            self.abort()
            return None
        final = self.spool._path(self.content_key)
        os.replace(self.tmp, final)
        with contextlib.suppress(OSError):
            fsync_dir(self.spool.dir)
        return final

    def abort(self) -> None:
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
