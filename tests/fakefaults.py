"""The FAKE cloud's faults (``tests/fakecloud.py``): what to break, and how a stream
breaks at a chosen byte. Each ``Fault`` affects ``times`` calls (None: until removed)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from glint_tui.core import errors

STREAM_OPS = ("upload", "download")


@dataclass
class Fault:
    """One injected misbehaviour (``tests/fakecloud.py`` lists the kinds)."""

    op: str
    project: str | None = None  # only sessions of this project (None: any)
    image_id: str | None = None  # only calls about this image (None: any)
    times: int | None = 1
    error: errors.GlintError | None = None
    drop_after: int | None = None
    stall_after: int | None = None
    stall_seconds: float = 0.0
    rate: float | None = None
    corrupt_at: int | None = None
    hits: int = 0
    released: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)  # the fault fired

    def release(self) -> None:
        self.released.set()

    def matches(self, op: str, project: str, image_id: str | None) -> bool:
        if self.op != op or (self.times is not None and self.hits >= self.times):
            return False
        if self.project is not None and self.project != project:
            return False
        return self.image_id is None or self.image_id == image_id


def stream_through(
    data_chunks: Iterator[bytes], fault: Fault | None, where: str
) -> Iterator[bytes]:
    """Chunks through a stream fault: drop, stall, slow or corrupt at its byte."""
    offset = 0
    started = time.monotonic()
    for chunk in data_chunks:
        if fault is not None:
            chunk = _apply(fault, chunk, offset, started, where)
        offset += len(chunk)
        yield chunk


def _apply(fault: Fault, chunk: bytes, offset: int, started: float, where: str) -> bytes:
    end = offset + len(chunk)
    if fault.drop_after is not None and end > fault.drop_after:
        fault.started.set()
        raise errors.ServerError("connection dropped mid-stream (fake)", where)
    if fault.stall_after is not None and end > fault.stall_after:
        fault.started.set()
        if not fault.released.wait(fault.stall_seconds):
            raise errors.Unreachable(
                f"the stream made no progress for {fault.stall_seconds:.1f} s (fake)", where
            )
        fault.stall_after = None  # released: the stream moves on
    if fault.corrupt_at is not None and offset <= fault.corrupt_at < end:
        fault.started.set()
        flipped = bytearray(chunk)
        flipped[fault.corrupt_at - offset] ^= 0xFF
        chunk = bytes(flipped)
    if fault.rate:
        fault.started.set()
        ahead = end / fault.rate - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)
    return chunk


class FaultControls:
    """How a test tells a ``FakeCloud`` what goes wrong (a mixin: the cloud gives it
    ``lock``, ``faults``, ``images``, ``lost``, ``is_down``, ``calls``, ``endpoint``,
    ``name``)."""

    lock: Any
    faults: list[Fault]
    images: dict[str, Any]
    lost: set[str]
    is_down: bool
    calls: list[tuple[str, str, str | None]]
    endpoint: str
    name: str

    def add(self, fault: Fault) -> Fault:
        with self.lock:
            self.faults.append(fault)
        return fault

    def fail(self, op: str, error: errors.GlintError, **where: Any) -> Fault:
        return self.add(Fault(op, error=error, **where))

    def drop(self, op: str, after: int, **where: Any) -> Fault:
        return self.add(Fault(op, drop_after=after, **where))

    def stall(self, op: str, after: int, seconds: float, **where: Any) -> Fault:
        return self.add(Fault(op, stall_after=after, stall_seconds=seconds, **where))

    def slow(self, op: str, rate: float, **where: Any) -> Fault:
        where.setdefault("times", None)
        return self.add(Fault(op, rate=rate, **where))

    def corrupt(self, op: str, at: int, **where: Any) -> Fault:
        return self.add(Fault(op, corrupt_at=at, **where))

    def rot(self, image_id: str, at: int | None = None) -> None:
        with self.lock:
            data = self.images[image_id].data
            data[len(data) // 2 if at is None else at] ^= 0xFF

    def set_status(self, image_id: str, status: str) -> None:
        """Put an image in *status* (``saving``: what Glance leaves when it dies mid-upload)."""
        with self.lock:
            stored = self.images[image_id]
            stored.record = replace(stored.record, status=status)

    def lose(self, image_id: str) -> None:
        with self.lock:
            self.lost.add(image_id)

    def down(self) -> None:
        self.is_down = True

    def up(self) -> None:
        self.is_down = False

    def clear_faults(self) -> None:
        with self.lock:
            for fault in self.faults:
                fault.release()
            self.faults.clear()

    def _fault(self, op: str, project: str, image_id: str | None) -> Fault | None:
        """The first live fault for this call (counted as used), after the down check."""
        with self.lock:
            self.calls.append((op, project, image_id))
            if self.is_down:
                raise errors.Unreachable(f"cannot connect to {self.endpoint}", f"{self.name}")
            for fault in self.faults:
                if fault.matches(op, project, image_id):
                    fault.hits += 1
                    return fault
        return None
