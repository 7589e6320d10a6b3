"""Bytes into an EBS snapshot through the EBS direct APIs, the way awslabs/coldsnap does.

A snapshot is a run of 512 KiB blocks. ``BlockUploader`` reads the image from a stream
(the engine's queue) one block at a time, hashes it with sha512 on the way (what this
upload received: compared later with what EC2 stored), skips every all-zero block (a
snapshot's unwritten blocks read as zeros, so a sparse raw image uploads only its data),
and hands the others to a few worker threads that send ``PutSnapshotBlock`` with the
block's SHA-256 (base64). The last block is padded with zeros to 512 KiB. Memory is
bounded: at most ``2 × workers`` blocks are in flight. A block that fails with a transient
error is sent again alone (``retries``, with backoff); the rest carry on.

``CompleteSnapshot`` takes the aggregate checksum (``LINEAR``): SHA-256 over the
concatenated raw SHA-256 digests of the written blocks in block order, base64.
"""

from __future__ import annotations

import base64
import hashlib
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from glint_tui.core.clouds.base import Reader
from glint_tui.core.errors import CloudError, DataMismatch, ImageNotFound, ServerError, Unreachable

BLOCK = 512 * 1024  # the EBS direct APIs' block size (fixed by the API)
GiB = 1 << 30
ZERO = bytes(BLOCK)
RETRYABLE = (ServerError, Unreachable, ImageNotFound)
"""Worth sending one block again: a throttle or 5xx, a dropped connection, and "no such
snapshot" just after StartSnapshot (EBS is eventually consistent; coldsnap retries it)."""


def volume_gib(size: int, min_disk: int = 0) -> int:
    """The snapshot's (and AMI root volume's) size: whole GiB holding *size* bytes, and
    at least the image's ``min_disk``."""
    return max(1, math.ceil(size / GiB), int(min_disk or 0))


def block_count(size: int) -> int:
    return math.ceil(size / BLOCK)


def b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def aggregate_checksum(digests: dict[int, bytes]) -> str:
    """The LINEAR aggregate: SHA-256 of the raw block digests in block index order."""
    h = hashlib.sha256()
    for index in sorted(digests):
        h.update(digests[index])
    return b64(h.digest())


@dataclass
class UploadResult:
    """What one upload sent: the aggregate checksum and count CompleteSnapshot needs,
    the sha512 of every byte received, and how many blocks went (and were skipped)."""

    aggregate: str
    blocks_put: int
    blocks_skipped: int
    sha512: str
    retries: int = 0


@dataclass
class _State:
    digests: dict[int, bytes] = field(default_factory=dict)
    error: BaseException | None = None
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def read_block(reader: Reader, want: int) -> bytes:
    """Exactly *want* bytes from *reader*, fewer only at its end."""
    parts: list[bytes] = []
    got = 0
    while got < want:
        chunk = reader.read(want - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return parts[0] if len(parts) == 1 else b"".join(parts)


class BlockUploader:
    """Streams one image into a started snapshot (see the module docstring).

    *put* is ``PutSnapshotBlock`` already bound to the snapshot: ``put(index, data,
    checksum)`` raising glint errors. *on_block* hears each block index as it is done
    (sent or skipped): progress per block.
    """

    def __init__(
        self,
        put: Callable[[int, bytes, str], Any],
        where: str,
        *,
        workers: int = 8,
        retries: int = 4,
        backoff: float = 0.5,
        on_block: Callable[[int], None] | None = None,
    ) -> None:
        self.put = put
        self.where = where
        self.workers = max(1, workers)
        self.retries = retries
        self.backoff = backoff
        self.on_block = on_block or (lambda index: None)

    def run(self, reader: Reader, size: int) -> UploadResult:
        """Send *size* bytes of *reader*; raises the first block's error (after its
        retries), or whatever *reader* raised (the engine aborting), or DataMismatch
        when the reader ends early."""
        state = _State()
        sha512 = hashlib.sha512()
        skipped = 0
        inflight: set[Future] = set()
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="glint-ebs")
        try:
            for index in range(block_count(size)):
                want = min(BLOCK, size - index * BLOCK)
                data = read_block(reader, want)
                if len(data) != want:
                    got = index * BLOCK + len(data)
                    raise DataMismatch(f"the stream ended after {got} of {size} bytes", self.where)
                sha512.update(data)
                if data == ZERO[:want]:
                    skipped += 1
                    self.on_block(index)
                    continue
                while len(inflight) >= 2 * self.workers:
                    done, inflight = wait(inflight, return_when=FIRST_COMPLETED)
                    self._raise_if_failed(state)
                self._raise_if_failed(state)
                inflight.add(pool.submit(self._send, state, index, data))
            if reader.read(1):
                raise DataMismatch(f"the stream holds more than {size} bytes", self.where)
            wait(inflight)
            self._raise_if_failed(state)
        except BaseException:
            state.error = state.error or RuntimeError("stopped")  # workers stop retrying
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        return UploadResult(
            aggregate_checksum(state.digests),
            len(state.digests),
            skipped,
            sha512.hexdigest(),
            state.retries,
        )

    @staticmethod
    def _raise_if_failed(state: _State) -> None:
        if state.error is not None:
            raise state.error

    def _send(self, state: _State, index: int, data: bytes) -> None:
        if len(data) < BLOCK:
            data = data + ZERO[: BLOCK - len(data)]
        digest = hashlib.sha256(data).digest()
        delay = self.backoff
        for attempt in range(self.retries + 1):
            if state.error is not None:
                return
            try:
                self.put(index, data, b64(digest))
                break
            except RETRYABLE as e:
                if attempt == self.retries:
                    self._fail(state, e)
                    return
                with state.lock:
                    state.retries += 1
                time.sleep(delay)
                delay *= 2
            except BaseException as e:  # a permanent refusal: no use sending it again
                self._fail(state, e)
                return
        with state.lock:
            state.digests[index] = digest
        self.on_block(index)

    @staticmethod
    def _fail(state: _State, error: BaseException) -> None:
        with state.lock:
            if state.error is None:
                state.error = error


def block_error(index: int, error: CloudError) -> CloudError:
    """*error* naming the block it happened on."""
    return type(error)(f"block {index}: {error}", None, error.status)
