"""Verification: the stream against the source's hash, each copy against the stream.

Why only one hash of our own: on a small machine glint's CPU competes with the Glance
workers it feeds, and hashing is most of it (md5 ≈ 1.4 s and sha512 ≈ 1.0 s per GiB
here). The fan-out hashes the stream once, with the content key's algorithm (sha512, or
md5 for a source that has no ``os_hash_value``), and ``check_stream`` compares it with
the source's value before the last chunk is released: a source whose bytes rotted in its
store never becomes an ``active`` image anywhere. Each destination computes md5 *and*
sha512 of what it stored; ``check_copy`` compares its hash with ours and its md5 with the
md5 the source recorded, so both algorithms vouch for every copy without glint computing
md5 a second time. (ARCHITECTURE.md, "Verifying copies with one hash".)

A destination's hashes come from ``CloudSession.stored_hashes``: Glance reports them in
the image record; a cloud that cannot (EC2) reads the data back and hashes it there.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from dataclasses import dataclass
from typing import Any

from glint_tui.core.clouds.base import CloudSession
from glint_tui.core.errors import DataMismatch, ServerError
from glint_tui.core.model import ImageRecord
from glint_tui.core.transfer.control import Cancelled, CancelScope


class SpoolDamaged(ServerError):
    """The spooled copy did not hash to its key: the local disk's fault, never the
    source's. The entry is gone by the time this is raised; the retry reads the source."""


@dataclass
class Expectation:
    """What every copy of one action must hold: *size* bytes whose *algo* hash is
    *expected* (the source's value); ``digest`` is the hash the fan-out computed of the
    stream it sent, set before the last chunk went out."""

    size: int
    content_key: str
    algo: str
    expected: str
    source_md5: str | None = None
    digest: str | None = None

    def hasher(self) -> Any:
        if self.algo == "md5":
            return hashlib.md5(usedforsecurity=False)
        return hashlib.new(self.algo)

    def fresh(self) -> Expectation:
        """The same expectation for a new stream (no digest yet)."""
        return Expectation(self.size, self.content_key, self.algo, self.expected, self.source_md5)


def expectation_for(source: ImageRecord, size: int, content_key: str, where: str) -> Expectation:
    """The hash the content key's algorithm gives (md5 if Python lacks the source's).

    Raises:
        DataMismatch: the source has no hash at all to verify against.
    """
    if source.os_hash_algo and source.os_hash_value:
        with contextlib.suppress(ValueError):
            hashlib.new(source.os_hash_algo)
            return Expectation(
                size, content_key, source.os_hash_algo, source.os_hash_value, source.checksum
            )
    if source.checksum:
        return Expectation(size, content_key, "md5", source.checksum, source.checksum)
    raise DataMismatch(f"source image {source.id} has no checksum to verify against", where)


def check_stream(expect: Expectation, total: int, label: str, hint: str, where: str) -> None:
    """The whole stream went by: its length and our hash must be the source's.

    Raises:
        DataMismatch: a short or long stream, or bytes that hash to something else.
    """
    if total != expect.size:
        raise DataMismatch(f"source sent {total} of {expect.size} bytes", where)
    if expect.digest != expect.expected:
        raise DataMismatch(f"{label}: bytes do not match its {expect.algo} ({hint})", where)


def check_copy(
    record: ImageRecord, hashes: dict[str, str], expect: Expectation, where: str
) -> None:
    """The destination's own hashes of what it stored (*hashes*, by algorithm) against
    ours and the source's: its *algo* hash against the stream we hashed, its md5 against
    the md5 the source recorded (metadata: glint does not compute md5 a second time).

    Raises:
        DataMismatch: a size or hash differs, or the destination reports no hash at all.
    """
    problems = []
    checked = False
    if record.size != expect.size:
        problems.append(f"size {record.size} != {expect.size}")
    ours = hashes.get(expect.algo)
    if ours:
        checked = True
        if ours != expect.digest:
            problems.append(f"{expect.algo} differs")
    md5 = hashes.get("md5")
    if md5 and expect.source_md5:
        checked = True
        if md5 != expect.source_md5:
            problems.append("md5 differs from the source's")
    key_algo, _, key_value = expect.content_key.partition(":")
    stored = hashes.get(key_algo)
    if stored and stored != key_value:
        problems.append("content key differs")
    if not checked:
        problems.append("the destination reports no checksum to compare")
    if problems:
        raise DataMismatch(
            f"the copy does not match the source ({', '.join(problems)}); deleted", where
        )


def wait_active(
    session: CloudSession, image_id: str, where: str, cancel: CancelScope, timeout: float
) -> ImageRecord:
    """The new image once its cloud reports it ``active``.

    Raises:
        ServerError: the cloud killed or deleted it, or it is not active after *timeout*.
        Cancelled: *cancel* was set while waiting.
    """
    deadline = time.monotonic() + timeout
    while True:
        record = session.get_image(image_id)
        if record.status == "active":
            return record
        if record.status in ("killed", "deleted", "pending_delete"):
            raise ServerError(f"Glance marked the new image {record.status}", where)
        if time.monotonic() > deadline:
            raise ServerError(
                f"the new image is still {record.status} after {timeout:.0f} s", where
            )
        if cancel.wait(0.5):
            raise Cancelled()
