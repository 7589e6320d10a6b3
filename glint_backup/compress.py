"""zstd compression of stored objects (``glint_backup_compression``: off, auto, max).

``auto`` compresses the first MiB as a probe and stores the object uncompressed when that
saves less than 10 % (qcow2 and already-compressed images gain nothing and would only cost
CPU); raw images with zeros shrink a lot. ``max`` is zstd level 19 on every core: several
times slower, for repositories where space costs more than time. Both directions stream
with bounded buffers: a GiB of zeros never becomes one GiB-sized bytes object.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

import zstandard

MODES = ("off", "auto", "max")
PROBE = 1 << 20
MIN_SAVING = 0.10
LEVEL = {"auto": 3, "max": 19}
OUT_CHUNK = 1 << 20


class _Reader:
    """A file-like ``read(n)`` over an iterator of chunks (what zstandard streams from)."""

    def __init__(self, chunks: Iterable[bytes]):
        self._it = iter(chunks)
        self._buf = b""

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buf) < size:
            try:
                self._buf += next(self._it)
            except StopIteration:
                break
        if size < 0:
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:size], self._buf[size:]
        return out


def plan(chunks: Iterable[bytes], mode: str) -> tuple[bool, Iterator[bytes]]:
    """(compressed?, the bytes to store): decided on the first MiB for ``auto``."""
    it = iter(chunks)
    if mode == "off":
        return False, it
    head = bytearray()
    for chunk in it:
        head += chunk
        if len(head) >= PROBE:
            break
    source = itertools.chain([bytes(head)], it)
    if mode == "auto" and head:
        probe = zstandard.ZstdCompressor(level=LEVEL["auto"]).compress(bytes(head[:PROBE]))
        if len(probe) > len(head[:PROBE]) * (1 - MIN_SAVING):
            return False, source
    return True, _compress(source, LEVEL[mode])


def _compress(chunks: Iterable[bytes], level: int) -> Iterator[bytes]:
    threads = -1 if level >= LEVEL["max"] else 0
    compressor = zstandard.ZstdCompressor(level=level, threads=threads)
    yield from compressor.read_to_iter(_Reader(chunks), read_size=1 << 20, write_size=OUT_CHUNK)


def decompress(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The original bytes, in pieces of at most 1 MiB; damaged input raises ZstdError."""
    reader = _Reader(chunks)
    yield from zstandard.ZstdDecompressor().read_to_iter(
        reader, read_size=1 << 20, write_size=OUT_CHUNK
    )
