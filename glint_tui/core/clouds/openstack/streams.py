"""The byte streams: a sized upload body read from any reader, and a streamed download
that verifies size and hash as the bytes go by."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from typing import Any

import requests

from glint_tui.core import errors
from glint_tui.core.clouds.base import Reader
from glint_tui.core.model import ImageRecord


class ShortSource(Exception):
    """The upload reader ended before the declared size."""


class SizedBody:
    """Upload body: iterates exactly *size* bytes of *reader* in chunks.

    ``len()`` makes requests send ``Content-Length`` instead of chunked encoding, and
    iterating keeps at most one chunk in memory. Errors from the reader are remembered, so
    they are not mistaken for network errors after urllib3 wraps them.
    """

    def __init__(self, reader: Reader, size: int, chunk_size: int):
        self.reader = reader
        self.size = size
        self.chunk_size = chunk_size
        self.sent = 0
        self.error: BaseException | None = None

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < self.size:
            try:
                chunk = self.reader.read(min(self.chunk_size, self.size - self.sent))
            except BaseException as exc:
                self.error = exc
                raise
            if not chunk:
                self.error = ShortSource(f"the source ended after {self.sent} of {self.size} bytes")
                raise self.error
            self.sent += len(chunk)
            yield chunk


class OpenStackDownload:
    """A streamed image download; verifies size and hash as the bytes go by.

    Iterate it once for the chunks; a checksum or size mismatch raises ``DataMismatch``
    after the last chunk; always ``close()`` it (also closes the HTTP connection).
    """

    def __init__(
        self,
        response: requests.Response,
        record: ImageRecord,
        chunk_size: int,
        calls: Callable[[], Any],
        verify: bool,
        where: str,
    ):
        self.record = record
        self.where = where
        self.size: int | None = record.size
        self._response = response
        self._chunk_size = chunk_size
        self._calls = calls
        self._hasher: Any = None
        self._expected: str | None = None
        if verify:
            if record.os_hash_algo and record.os_hash_value:
                with contextlib.suppress(ValueError):  # an algorithm Python lacks: use md5
                    self._hasher = hashlib.new(record.os_hash_algo)
                    self._expected = record.os_hash_value
            if self._hasher is None and record.checksum:
                self._hasher = hashlib.md5(usedforsecurity=False)
                self._expected = record.checksum
        self.received = 0

    def __iter__(self) -> Iterator[bytes]:
        chunks = self._response.iter_content(self._chunk_size)
        while True:
            with self._calls():
                chunk = next(chunks, None)
            if chunk is None:
                break
            if not chunk:
                continue
            self.received += len(chunk)
            if self._hasher is not None:
                self._hasher.update(chunk)
            yield chunk
        self._finish()

    def _finish(self) -> None:
        where = self.where
        if self.size is not None and self.received != self.size:
            raise errors.DataMismatch(
                f"image {self.record.id} sent {self.received} of {self.size} bytes"
                + (" (its data is missing from the store?)" if self.received == 0 else ""),
                where,
            )
        if self._hasher is not None and self._hasher.hexdigest() != self._expected:
            raise errors.DataMismatch(
                f"image {self.record.id}: downloaded bytes do not match its "
                f"{self._hasher.name} checksum (corrupted in the store?)",
                where,
            )

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> OpenStackDownload:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
