"""The storage backend seam: a flat key -> bytes store that the object store is built on.

Every backend (a local directory, a Swift container, an S3 bucket) gives the same few
guarantees, so the layout and invariants above it are the same everywhere:

* ``write`` streams: it never holds the whole object in memory or on local disk, and
  it commits only when the chunk iterator ends normally — an exception raised by the
  iterator (the caller's hash check) or a dead connection leaves no object under *key*.
  Large objects become Swift static large objects / S3 multipart uploads.
* What an interrupted ``write`` left behind (temp files, segments, unfinished multipart
  uploads) is found and removed by ``clean_partial`` (each run, under the lock).
* ``write_bytes(create_only=True)`` is an atomic create-if-absent (the remote lock).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from glint_backup.errors import BackupError


class StorageError(BackupError):
    """A repository that cannot be reached or refused a request (exit 1); *status* is the
    HTTP status of a refusal, when there was one."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class NotFound(StorageError):
    pass


class Backend(Protocol):
    url: str  # for messages: a path, swift://container/prefix or s3://bucket/prefix
    remote: bool  # True: another host may use the same repository (remote lock needed)

    def list(self, prefix: str) -> Iterator[tuple[str, int]]:
        """Every (key, stored size) under *prefix*, in key order."""

    def size(self, key: str) -> int | None:
        """Stored size of *key*, or None when absent."""

    def read(self, key: str, chunk: int = 1 << 20) -> Iterator[bytes]:
        """Stream *key* (NotFound if absent); closing the iterator ends the request."""

    def read_bytes(self, key: str) -> bytes | None:
        """A small object whole (manifests, the marker, the lock), or None when absent."""

    def write(self, key: str, chunks: Iterable[bytes], size_hint: int | None = None) -> int:
        """Store the stream under *key*; return the bytes stored (see module docstring)."""

    def write_bytes(self, key: str, data: bytes, create_only: bool = False) -> bool:
        """Store a small object atomically; with *create_only*, False if *key* exists."""

    def delete(self, key: str) -> None:
        """Remove *key* (and a large object's segments); absent is fine."""

    def rename(self, src: str, dst: str) -> None:
        """Move an object to another key (damaged objects are moved aside)."""

    def clean_partial(self) -> int:
        """Remove what interrupted writes left; return how many pieces were removed."""

    def ensure_space(self, size: int, reserve: int) -> None:
        """Raise DiskFull if *size* more bytes would not fit (only local disks know)."""

    def close(self) -> None: ...


def rechunk(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """The same bytes in pieces of exactly *size* (the last one shorter, never empty)."""
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        while len(buf) >= size:
            yield bytes(buf[:size])
            del buf[:size]
    if buf:
        yield bytes(buf)


class Pieces:
    """Cut one stream into consecutive pieces of at most *size* bytes, each itself a stream.

    Consume each ``piece()`` fully before asking for the next; ``done`` tells whether the
    source has ended. An exception from the source (a failed hash check at its end) is
    raised inside the piece being read, so the upload of that piece aborts.
    """

    def __init__(self, chunks: Iterable[bytes], size: int):
        self._it = iter(chunks)
        self._size = size
        self._carry = b""
        self.done = False

    def piece(self) -> Iterator[bytes]:
        remaining = self._size
        if self._carry:
            head, self._carry = self._carry[:remaining], self._carry[remaining:]
            remaining -= len(head)
            yield head
        while remaining > 0:
            try:
                chunk = next(self._it)
            except StopIteration:
                self.done = True
                return
            if len(chunk) > remaining:
                chunk, self._carry = chunk[:remaining], chunk[remaining:]
            remaining -= len(chunk)
            if chunk:
                yield chunk
        while not self._carry:  # full: is there more? (the source's end check runs here)
            try:
                self._carry = next(self._it)
            except StopIteration:
                self.done = True
                return
