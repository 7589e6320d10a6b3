"""Bytes out of an EBS snapshot: ``ListSnapshotBlocks`` + ``GetSnapshotBlock``, streamed.

Used both to download an AMI (EC2 as the source of a copy) and to read back what an upload
wrote before glint registers an AMI on it (EC2 reports no hash of a snapshot's contents,
and an emulator stores blocks without checking their checksums: glint hashes what it
reads back instead). Blocks the listing does not name were never written and read as
zeros; only the first *size* bytes are the image (the rest pads the volume to whole GiB).

A few workers fetch blocks ahead (at most ``2 × workers`` in memory), and the stream
yields them in order. Each block's data is checked against the SHA-256 EBS returns with
it, and a block that fails transiently is fetched again alone.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from glint_tui.core.clouds.ec2.blocks import BLOCK, RETRYABLE, ZERO, block_count
from glint_tui.core.errors import DataMismatch

GetBlock = Callable[[int, str], tuple[bytes, str | None]]
"""``(index, token) -> (data, base64 sha256 or None)``, raising glint errors."""


class BlockStream:
    """The image's bytes from a snapshot, in order (iterate once; close when done)."""

    def __init__(
        self,
        tokens: dict[int, str],
        size: int,
        get: GetBlock,
        where: str,
        *,
        workers: int = 4,
        retries: int = 4,
        backoff: float = 0.5,
    ) -> None:
        self.tokens = tokens
        self.size = size
        self.get = get
        self.where = where
        self.workers = max(1, workers)
        self.retries = retries
        self.backoff = backoff
        self.blocks_read = 0  # GetSnapshotBlock calls that returned data
        self._pool: ThreadPoolExecutor | None = None

    def __iter__(self) -> Iterator[bytes]:
        count = block_count(self.size)
        wanted = deque(i for i in sorted(self.tokens) if i < count)
        ahead: dict[int, Future] = {}
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="glint-ebs")
        try:
            for index in range(count):
                while wanted and len(ahead) < 2 * self.workers:
                    i = wanted.popleft()
                    ahead[i] = self._pool.submit(self._fetch, i)
                want = min(BLOCK, self.size - index * BLOCK)
                future = ahead.pop(index, None)
                if future is None:
                    yield ZERO[:want]
                    continue
                data = future.result()
                yield data if want == BLOCK else data[:want]
        finally:
            self.close()

    def _fetch(self, index: int) -> bytes:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                data, checksum = self.get(index, self.tokens[index])
                break
            except RETRYABLE:
                if attempt == self.retries:
                    raise
                time.sleep(delay)
                delay *= 2
        if len(data) != BLOCK:
            raise DataMismatch(f"block {index} came back {len(data)} bytes long", self.where)
        if checksum is not None:
            mine = base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")
            if mine != checksum:
                raise DataMismatch(f"block {index} does not match its SHA-256", self.where)
        self.blocks_read += 1
        return data

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def sha512_of(stream: BlockStream) -> tuple[str, int]:
    """(sha512 hex, bytes) of everything *stream* yields."""
    h = hashlib.sha512()
    total = 0
    for chunk in stream:
        h.update(chunk)
        total += len(chunk)
    return h.hexdigest(), total


def list_tokens(pages: Iterator[dict[str, Any]]) -> dict[int, str]:
    """Block index -> token from ListSnapshotBlocks answers (all pages)."""
    out: dict[int, str] = {}
    for page in pages:
        for block in page.get("Blocks") or []:
            out[int(block["BlockIndex"])] = block.get("BlockToken", "")
    return out


class Ec2Download:
    """An open download of an AMI: blocks in order, sha512 checked at the end when
    *expected* is given (the ``glint_sha512`` tag)."""

    def __init__(
        self,
        stream: BlockStream,
        size: int,
        expected: str | None,
        where: str,
        on_done: Callable[[int], None],
    ) -> None:
        self.stream = stream
        self.size = size
        self.expected = expected
        self.where = where
        self.on_done = on_done

    def __iter__(self) -> Iterator[bytes]:
        h = hashlib.sha512() if self.expected else None
        total = 0
        for chunk in self.stream:
            if h is not None:
                h.update(chunk)
            total += len(chunk)
            yield chunk
        self.on_done(self.stream.blocks_read)
        if total != self.size:
            raise DataMismatch(f"read {total} of {self.size} bytes", self.where)
        if h is not None and h.hexdigest() != self.expected:
            raise DataMismatch("the AMI's bytes do not match its glint sha512 tag", self.where)

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> Ec2Download:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
