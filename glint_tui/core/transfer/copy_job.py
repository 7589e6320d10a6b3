"""The copy job: one ``CopyAction`` to all its destinations, with retries.

The job checks the source once, then runs attempt rounds: each round takes every
pending destination's lock against other glint runs and its upload slots, starts one
``DestinationUpload`` thread per destination and reads the bytes once through the
``FanOut`` in its own thread. Destinations that failed with a transient error go again
(backoff doubling, ``retries`` times) — from the spool, not the source. A damaged spool
entry is the local disk's fault: the first time, it gives the attempts it cost back.
At the end every destination is one ``Outcome``, and what failed attempts could not
delete is named with the command that will (``Destination.left_behind``).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Collection, Iterator

from glint_tui.core import journal as jn
from glint_tui.core import locks
from glint_tui.core.actions import CopyAction, conversion_note
from glint_tui.core.clouds.base import ImportState
from glint_tui.core.errors import GlintError, ServerError, located
from glint_tui.core.events import ActionFinished, CellChanged
from glint_tui.core.importmethods import STREAM
from glint_tui.core.model import CellState, ImageRecord
from glint_tui.core.transfer.cloudside import ImportFailed, ImportMethod
from glint_tui.core.transfer.context import RunContext
from glint_tui.core.transfer.control import ActionControl, Cancelled
from glint_tui.core.transfer.conversion import Conversion, converting
from glint_tui.core.transfer.destination import Attempt, Destination
from glint_tui.core.transfer.fanout import AllDropped, FanOut, Feed, as_glint_error
from glint_tui.core.transfer.result import Outcome
from glint_tui.core.transfer.sources import source_for
from glint_tui.core.transfer.upload import (
    DestinationUpload,
    StreamMethod,
    TransferMethod,
    remove_half_image,
)
from glint_tui.core.transfer.verify import Expectation, SpoolDamaged, expectation_for


def _transient(error: GlintError | None) -> bool:
    return bool(error is not None and error.transient)


class CopyJob:
    """One copy action (see the module docstring)."""

    def __init__(self, ctx: RunContext, action: CopyAction, control: ActionControl) -> None:
        self.ctx = ctx
        self.options = ctx.options
        self.action = action
        self.control = control
        self.cancel = control.scope()  # the whole run, or this action
        self.source = source_for(action, ctx.open)
        self.destinations = [
            Destination(
                target,
                control.destination_cancel[target.ref],
                control.destination_scope(target.ref),
                method=target.method,
            )
            for target in action.targets
        ]
        self.facts: ImageRecord | None = None  # the source, as checked at the start
        self.expect: Expectation | None = None
        self.source_reads = 0
        self.spool_reads = 0
        self.refunded = False  # a damaged spool entry gave its attempts back once
        self.conversion: Conversion | None = None  # the files of a converted copy

    def cell(self, destination: Destination, state: CellState, message: str = "") -> None:
        self.ctx.emit(
            CellChanged(self.action.id, destination.ref, state, message, destination.image_id)
        )

    def _live(self, destinations: list[Destination]) -> list[Destination]:
        """The destinations not cancelled yet (the cancelled ones get their error)."""
        live = []
        for destination in destinations:
            if destination.scope.is_set():
                destination.error = Cancelled()
            else:
                live.append(destination)
        return live

    def _convert(self) -> None:
        """Destinations that take another format: the copy becomes one of the file
        converted here (``conversion``); its destinations show it meanwhile."""
        fmt = converting(self.action)
        if fmt is None:
            return
        for destination in self.destinations:
            self.cell(destination, CellState.TRANSFERRING, conversion_note(fmt))
        self.ctx.notice(f"{self.action.name}: converting to {fmt} on this host", self.action.id)
        self.conversion = Conversion(self.ctx, self.action, self.source)
        try:
            self.action = self.conversion.run(self.cancel)
        finally:
            self.source_reads += self.conversion.source_reads
        self.source = source_for(self.action, self.ctx.open)

    def _check_source(self) -> None:
        self.facts = self.source.check()
        self.expect = expectation_for(
            self.facts, self.action.size, self.action.content_key, self.source.where
        )

    def run(self) -> list[Outcome]:
        if not self._live(self.destinations):  # cancelled while queued: never touch a cloud
            return self._finish()
        try:
            self._convert()
            self._check_source()
        except GlintError as e:
            for destination in self.destinations:
                destination.error = e
        pending = self._live([dest for dest in self.destinations if dest.error is None])
        backoff = self.options.backoff
        while pending and not self.cancel.is_set():
            for destination in pending:
                destination.attempts += 1
                self._clean_leftovers(destination)
            try:
                refs = [dest.ref for dest in pending]
                with self._locked(pending), self.ctx.slots.take(refs, self.cancel):
                    self._attempt_round(pending)
            except Cancelled:
                for destination in pending:
                    destination.error = destination.error or Cancelled()
            self._refund_spool_damage(pending)
            fallen = self._fall_back(pending)
            retry = [
                dest
                for dest in self._live(pending)
                if dest in fallen
                or (
                    not dest.ok and _transient(dest.error) and dest.attempts <= self.options.retries
                )
            ]
            if not retry or self.cancel.is_set():
                break
            waiting = [dest for dest in retry if dest not in fallen]
            for destination in waiting:
                message = f"retrying in {backoff:.0f} s: {destination.error}"
                self.cell(destination, CellState.QUEUED, message)
                self.ctx.notice(
                    f"{self.action.name} -> {destination.ref}: {message}", self.action.id
                )
            if waiting:
                if self.cancel.wait(backoff):
                    break
                backoff *= 2
            pending = self._live(retry)  # a destination may have been cancelled meanwhile
        return self._finish()

    def _fall_back(self, pending: list[Destination]) -> list[Destination]:
        """Destinations whose cloud-side import failed or stalled go to ``stream`` in the
        next round, at once and without costing a retry; journal and screen say why."""
        fallen = []
        for destination in pending:
            error = destination.error
            if destination.ok or not isinstance(error, ImportFailed) or not error.fallback:
                continue
            if destination.scope.is_set():
                continue
            why = str(error)
            destination.fallback = why
            destination.method = STREAM
            destination.attempts -= 1
            fallen.append(destination)
            self.ctx.journal.record(
                jn.FALLBACK, action="copy", ref=str(destination.ref), method=STREAM, result=why
            )
            message = f"{why}; copying it through this host instead (stream)"
            self.cell(destination, CellState.QUEUED, message)
            self.ctx.notice(f"{self.action.name} -> {destination.ref}: {message}", self.action.id)
        return fallen

    def _refund_spool_damage(self, pending: list[Destination]) -> None:
        """A damaged spool entry is the local disk's fault: once, it costs no retry."""
        if self.refunded or not any(isinstance(dest.error, SpoolDamaged) for dest in pending):
            return
        self.refunded = True
        for destination in pending:
            destination.attempts -= isinstance(destination.error, SpoolDamaged)

    def _attempt_round(self, destinations: list[Destination]) -> None:
        """One read of the bytes feeding one upload per live destination."""
        for destination in destinations:
            destination.error = None
        destinations = self._live(destinations)  # cancelled while waiting for a slot
        if not destinations:
            return
        assert self.facts is not None and self.expect is not None
        expect = self.expect.fresh()
        feeds = [
            Feed(Attempt(dest), self.options.queue_depth)
            for dest in destinations
            if dest.method == STREAM
        ]
        imports = [Attempt(dest) for dest in destinations if dest.method != STREAM]
        uploads: list[tuple[Attempt, TransferMethod]] = [
            (feed.attempt, self._stream_method(feed, expect)) for feed in feeds
        ]
        uploads += [(attempt, self._import_method(attempt, expect)) for attempt in imports]
        for attempt, method in uploads:
            upload = DestinationUpload(
                self.ctx, self.action, self.control, self.source, self.facts, attempt, method
            )
            name = f"up-{attempt.ref}"
            threading.Thread(target=upload.run, daemon=True, name=name).start()
        if feeds:  # a round of cloud-side imports only reads nothing
            self._stream(feeds, expect)
        self._await([attempt for attempt, _ in uploads], unbounded={id(a) for a in imports})

    def _stream_method(self, feed: Feed, expect: Expectation) -> StreamMethod:
        destination = feed.attempt.destination
        return StreamMethod(feed, expect, destination.scope, destination.target.store)

    def _import_method(self, attempt: Attempt, expect: Expectation) -> ImportMethod:
        """The cloud-side method the plan chose for this destination."""
        destination = attempt.destination
        target = destination.target

        def progress(state: ImportState) -> None:
            message = f"{destination.method}: {state.describe()}"
            self.cell(destination, CellState.TRANSFERRING, message)

        return ImportMethod(
            destination.method,
            target.import_body or {},
            expect,
            destination.scope,
            stall=self.options.import_stall,
            poll=self.options.import_poll,
            progress=progress,
            existing=target.adds_store_to,
            store=target.store,
            where=str(destination.ref),
        )

    def _stream(self, feeds: list[Feed], expect: Expectation) -> None:
        """One read of the bytes feeding every streamed destination of the round."""
        fan_out = FanOut(self.ctx, self.action, self.source, expect, self.cancel)
        try:
            fan_out.run(feeds)
        except BaseException as exc:  # the stream failed: every destination fails with it
            where = self.source.where
            error = as_glint_error(exc, where)
            if isinstance(exc, AllDropped):
                error = ServerError("every destination failed", where)
            for feed in feeds:
                feed.attempt.fail(error)  # the error first, so the upload reports it
                feed.abort()
        finally:
            self.source_reads += fan_out.source_reads
            self.spool_reads += fan_out.spool_reads

    def _await(self, attempts: list[Attempt], unbounded: Collection[int] = ()) -> None:
        """Wait (bounded) for the uploads to verify or give up; a dead one gets a short
        grace to delete its half image, a hung one (its cloud frozen) is left behind. A
        cloud-side import (its id in *unbounded*) may take as long as it keeps moving:
        its own no-progress deadline bounds it."""
        options = self.options
        deadline = time.monotonic() + options.active_timeout + options.stall_timeout
        for attempt in attempts:
            grace: float | None = None
            while not attempt.done.wait(0.2):
                now = time.monotonic()
                if attempt.dead.is_set():
                    grace = grace or now + min(15.0, options.stall_timeout)
                late = now > deadline and id(attempt) not in unbounded
                if late or (grace is not None and now > grace):
                    break
            destination = attempt.destination
            if attempt.ok:
                destination.ok = True
                destination.error = None
            else:
                destination.error = attempt.error or ServerError(
                    "the upload did not finish", str(destination.ref)
                )

    def _finish(self) -> list[Outcome]:
        action = self.action
        outcomes = []
        for destination in self.destinations:
            self._clean_leftovers(destination)
            left = destination.left_behind()
            if destination.ok:
                streamed = destination.method == STREAM and not destination.note
                sent = action.size if streamed else 0
                if left:
                    self.ctx.notice(located(destination.ref, left), action.id)
                note = destination.note or (
                    f"streamed after: {destination.fallback}" if destination.fallback else ""
                )
                outcomes.append(
                    Outcome(action.id, "copy", action.name, destination.ref, True,
                            destination.image_id, note, sent, method=destination.method)
                )  # fmt: skip
                continue
            # asked to stop (even if it also failed meanwhile): a cancel, not a failure
            cancelled = isinstance(destination.error, Cancelled) or destination.scope.is_set()
            if cancelled:
                destination.error = Cancelled()
            message = str(destination.error or "not copied") + (f"; {left}" if left else "")
            self.ctx.emit(
                CellChanged(
                    action.id, destination.ref, CellState.ERROR, message, cancelled=cancelled
                )
            )
            outcomes.append(
                Outcome(
                    action.id,
                    "copy",
                    action.name,
                    destination.ref,
                    False,
                    None,
                    message,
                    0,
                    cancelled,
                )
            )
        self.ctx.controls.finish(self.control)
        if self.conversion is not None:
            self.conversion.close()
        ok = all(outcome.ok for outcome in outcomes)
        failed = "; ".join(located(out.ref, out.message) for out in outcomes if not out.ok)
        only_cancelled = not ok and all(out.ok or out.cancelled for out in outcomes)
        self.ctx.emit(
            ActionFinished(action.id, "copy", action.name, ok, failed, cancelled=only_cancelled)
        )
        return outcomes

    @contextlib.contextmanager
    def _locked(self, destinations: list[Destination]) -> Iterator[None]:
        """Hold each destination's lock (cloud, project, content) against other glint
        runs, taken in one global order (no deadlock), until the copies verified or
        failed. No network: the keys come from the plan. The upload then looks at the
        destination again before creating anything (``upload.already_there``)."""
        keys = sorted(
            {
                (*dest.target.lock_key, self.action.content_key): dest for dest in destinations
            }.items()
        )
        waiting = "waiting for another glint run copying the same image there"
        with contextlib.ExitStack() as held:
            for key, destination in keys:

                def told(ref=destination.ref) -> None:
                    self.ctx.notice(f"{self.action.name} -> {ref}: {waiting}", self.action.id)

                try:
                    lock = locks.lock_path(self.ctx.paths, *key)
                    held.enter_context(locks.hold(lock, self.cancel.wait, told))
                except locks.LockCancelled:
                    raise Cancelled() from None
            yield

    def _clean_leftovers(self, destination: Destination) -> None:
        """Delete half images of earlier attempts (their cloud may be back by now)."""
        for transfer_id, image_id in list(destination.leftovers):
            try:
                with self.ctx.open(destination.ref) as session:
                    removed = remove_half_image(session, image_id)
            except GlintError:
                removed = False
            if not removed:
                continue  # still unreachable: next attempt, the end of the run, or reconcile
            destination.leftovers.remove((transfer_id, image_id))
            self.ctx.journal.record(
                jn.CLEANED, transfer_id=transfer_id, ref=str(destination.ref), image_id=image_id
            )
