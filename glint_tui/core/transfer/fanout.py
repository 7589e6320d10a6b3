"""The stream fan-out: one read of the bytes feeds every destination at once.

A single reader (the copy job's thread) reads the spool's copy if it has one, else the
source, which it tees to the spool. It hashes each chunk and offers it to one bounded
queue per destination (a ``Feed``); each destination's upload drains its queue through a
``QueueReader``. Memory is destinations × ``queue_depth`` × ``chunk_size`` whatever the
image's size. The last chunk is held back until the whole stream's hash matched the
source's (``verify.check_stream``), so a corrupted source never becomes an ``active``
image anywhere: the uploads are aborted instead. A destination whose queue stays full
for ``stall_timeout`` is dropped, never stalling the others; a destination cancelled on
its own stops being fed. A replayed spool entry that fails its hash is the spool's
fault: it is removed and ``SpoolDamaged`` raised (the retry reads the source).
"""

from __future__ import annotations

import contextlib
import queue
import time

from glint_tui.core.actions import CopyAction
from glint_tui.core.errors import GlintError, ServerError
from glint_tui.core.events import CopyProgress
from glint_tui.core.spool import SpoolWriter
from glint_tui.core.transfer.context import RunContext
from glint_tui.core.transfer.control import Cancelled, CancelScope
from glint_tui.core.transfer.destination import Attempt
from glint_tui.core.transfer.sources import Source, SourceStream
from glint_tui.core.transfer.verify import Expectation, SpoolDamaged, check_stream

_END = object()  # the stream is complete and verified
_ABORT = object()  # the stream failed: make the upload fail


class Aborted(Exception):
    """Raised inside an upload's reader to make the HTTP upload fail on purpose."""


class AllDropped(Exception):
    """Every destination failed mid-stream and there is no spool to finish."""


def as_glint_error(exc: BaseException, where: str) -> GlintError:
    """Any exception as the glint error an outcome reports."""
    if isinstance(exc, GlintError):
        return exc
    if isinstance(exc, Aborted):
        return ServerError("upload aborted", where)
    return ServerError(f"{type(exc).__name__}: {exc}", where)


class Feed:
    """One attempt's bounded queue of chunks: the fan-out puts, the upload reads."""

    def __init__(self, attempt: Attempt, depth: int) -> None:
        self.attempt = attempt
        self.queue: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self.sent = 0  # bytes the upload took

    def end(self) -> None:
        """The stream is complete: the upload may finish."""
        with contextlib.suppress(queue.Full):
            self.queue.put(_END, timeout=0.5)

    def abort(self) -> None:
        """The stream failed: the upload stops at its next read."""
        self.attempt.dead.set()
        with contextlib.suppress(queue.Full):
            self.queue.put(_ABORT, timeout=0.01)


class QueueReader:
    """The file-like object an upload reads: chunks from its feed, ``Aborted`` when the
    attempt is dropped or cancelled."""

    def __init__(self, feed: Feed, cancel: CancelScope) -> None:
        self.feed = feed
        self.cancel = cancel
        self.chunk = b""
        self.pos = 0

    def read(self, size: int = -1) -> bytes:
        attempt = self.feed.attempt
        while self.pos >= len(self.chunk):
            if attempt.dead.is_set() or self.cancel.is_set():
                raise Aborted("upload aborted")
            try:
                item = self.feed.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is _END:
                return b""
            if item is _ABORT:
                raise Aborted("upload aborted")
            self.chunk, self.pos = item, 0
        left = len(self.chunk) - self.pos
        if size is None or size < 0 or size >= left:
            out = self.chunk if self.pos == 0 else self.chunk[self.pos :]  # no copy when whole
        else:
            out = self.chunk[self.pos : self.pos + size]
        self.pos += len(out)
        self.feed.sent += len(out)
        return out


class FanOut:
    """One read of one copy action's bytes, offered to each feed (one attempt round)."""

    def __init__(
        self,
        ctx: RunContext,
        action: CopyAction,
        source: Source,
        expect: Expectation,
        cancel: CancelScope,
    ) -> None:
        self.ctx = ctx
        self.options = ctx.options
        self.action = action
        self.source = source
        self.expect = expect
        self.cancel = cancel  # the run or the action
        self.from_spool = False  # the stream being read is the spool's copy
        self.source_reads = 0
        self.spool_reads = 0

    def _open(self) -> tuple[SourceStream, SpoolWriter | None]:
        """The spool's copy if it has the content, else the source (teed to the spool)."""
        spool, key, size = self.ctx.spool, self.action.content_key, self.action.size
        if spool is not None:
            path = spool.get(key, size)
            if path is not None:
                self.from_spool = True
                self.spool_reads += 1
                file = open(path, "rb")  # noqa: SIM115 - closed by the stream's close
                chunk = self.options.chunk_size
                return SourceStream(iter(lambda: file.read(chunk), b""), file.close), None
        stream = self.source.open(self.options.chunk_size)
        self.source_reads += 1
        writer = spool.writer(key, size) if spool is not None and self.source.spool else None
        return stream, writer

    def run(self, feeds: list[Feed]) -> None:
        """Read the whole stream once, feeding every live feed; end each feed once the
        stream verified. Raises what made the stream fail (the caller aborts the feeds)."""
        hasher = self.expect.hasher()
        stream, writer = self._open()
        total = 0
        held: bytes | None = None  # the last chunk, released only once the hash matched
        progress = _Progress(self.ctx, self.action, feeds)
        started = time.monotonic()
        try:
            for chunk in stream.chunks:
                if self.cancel.is_set() or all(
                    feed.attempt.destination.stop.is_set() for feed in feeds
                ):
                    raise Cancelled()  # the action, or each of its destinations, cancelled
                hasher.update(chunk)
                if writer is not None:
                    writer.write(chunk)
                total += len(chunk)
                if held is not None:
                    self._offer(held, feeds)
                held = chunk
                if all(feed.attempt.ok and feed.attempt.dead.is_set() for feed in feeds):
                    raise AllDropped()  # every destination was already there: stop reading
                if writer is None and all(feed.attempt.dead.is_set() for feed in feeds):
                    raise AllDropped()  # nobody to feed and nothing to spool
                self._throttle(total, started)
                progress.tick(total)
            self.expect.digest = hasher.hexdigest()
            self._check(total)
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        finally:
            stream.close()
        try:
            if held is not None:
                self._offer(held, feeds)
            for feed in feeds:
                feed.end()
        finally:  # after the destinations got the last chunk: they never wait for the disk
            if writer is not None:
                writer.commit(self.expect.algo, self.expect.digest)
        progress.tick(total, final=True)

    def _throttle(self, total: int, started: float) -> None:
        """Sleep off what is ahead of ``max_rate`` (a bandwidth cap), cancellably."""
        if not self.options.max_rate:
            return
        ahead = total / self.options.max_rate - (time.monotonic() - started)
        if ahead > 0 and self.cancel.wait(ahead):
            raise Cancelled()

    def _check(self, total: int) -> None:
        if self.from_spool and (
            total != self.action.size or self.expect.digest != self.expect.expected
        ):
            assert self.ctx.spool is not None
            self.ctx.spool.remove(self.action.content_key)
            raise SpoolDamaged(
                f"the local spool copy of {self.action.name} was damaged (deleted it); "
                "reading the source again",
                "spool",
            )
        source = self.source
        check_stream(self.expect, total, source.label, source.damage_hint, source.where)

    def _offer(self, chunk: bytes, feeds: list[Feed]) -> None:
        """Put the chunk in every live queue; drop a destination stuck past stall_timeout."""
        for feed in feeds:
            attempt = feed.attempt
            if attempt.destination.stop.is_set():
                attempt.fail(Cancelled())  # this destination alone was cancelled: stop feeding it
            if attempt.dead.is_set():
                continue
            deadline = time.monotonic() + self.options.stall_timeout
            while True:
                try:
                    feed.queue.put(chunk, timeout=0.2)
                    break
                except queue.Full:
                    if attempt.destination.stop.is_set():
                        attempt.fail(Cancelled())
                    if attempt.dead.is_set():
                        break
                    if self.cancel.is_set():
                        raise Cancelled() from None
                    if time.monotonic() > deadline:
                        attempt.fail(self._stalled(feed))
                        break

    def _stalled(self, feed: Feed) -> ServerError:
        seconds = self.options.stall_timeout
        return ServerError(f"accepted no data for {seconds:.0f} s; dropped", str(feed.attempt.ref))


class _Progress:
    """``CopyProgress`` events, at most four a second, with the rate over the last 3 s."""

    def __init__(self, ctx: RunContext, action: CopyAction, feeds: list[Feed]) -> None:
        self.ctx = ctx
        self.action = action
        self.feeds = feeds
        self.last = time.monotonic()
        self.window: list[tuple[float, int]] = [(self.last, 0)]

    def tick(self, total: int, final: bool = False) -> None:
        now = time.monotonic()
        if final:
            window = [*self.window, (now, total)]
        elif now - self.last >= 0.25:
            self.last = now
            self.window.append((now, total))
            self.window = [w for w in self.window if now - w[0] <= 3.0] or self.window[-1:]
            window = self.window
        else:
            return
        (t0, b0), (t1, b1) = window[0], window[-1]
        rate = (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0
        size = self.action.size or None
        eta = (size - total) / rate if size and rate > 0 else None
        sent = {str(feed.attempt.ref): feed.sent for feed in self.feeds}
        self.ctx.emit(CopyProgress(self.action.id, self.action.name, total, size, rate, eta, sent))
