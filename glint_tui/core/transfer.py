"""The transfer engine: runs a Plan — streamed fan-out copies, then deletes.

Usage (CLI and TUI alike)::

    engine = TransferEngine(provider, paths, on_event=handle)   # handle(event) from threads
    cancel = threading.Event()
    result = engine.run(plan, cancel)                            # blocks; run it in a worker
    result.exit_code                                             # 0 ok, 1 failed, 3 partial

``on_event`` receives ``core.events`` records from worker threads (a TUI must marshal
them to its loop). Setting ``cancel`` stops new work, aborts transfers in flight,
cleans what was half-created, and returns with ``result.cancelled``.
``engine.cancel_action(action_id, destination=None)`` (from any thread, while ``run``
goes) does the same for one copy action, or one destination of it, or one delete that
has not started; everything else carries on.

How one copy moves (see DESIGN.md "Moving bytes"): a single reader thread streams the
source once, hashes it, tees it to the spool, and offers each chunk to one bounded queue
per destination; one uploader thread per destination drains its queue into Glance.
Memory is destinations × ``queue_depth`` × ``chunk_size``. The last chunk is held back
until the whole stream's hash matched the source's, so a corrupted source never becomes
an ``active`` image anywhere. A destination whose queue stays full for
``stall_timeout`` is dropped, never stalling the others. Failed destinations with a
transient error are retried (with backoff) from the spool, not from the source.

Why only one hash of our own: on a small machine glint's CPU competes with the Glance
workers it feeds, and hashing is most of it (md5 ≈ 1.4 s and sha512 ≈ 1.0 s per GiB
here). We hash the stream once, with the content key's algorithm (sha512, or md5 for a
source that has no os_hash_value), and check it against the source's value: that alone
catches a source whose bytes rotted in its store. Every destination Glance computes md5
*and* sha512 of what it received; we compare its sha512 with ours and its md5
(``checksum``) with the source's recorded md5, so both algorithms still vouch for every
copy without glint computing md5 a second time.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from glint_tui.core import journal as jn
from glint_tui.core import locks
from glint_tui.core.clouds.base import CloudSession, ImageSpec
from glint_tui.core.errors import (
    Conflict,
    DataMismatch,
    GlintError,
    ImageNotFound,
    ServerError,
    located,
)
from glint_tui.core.events import (
    ActionFinished,
    CellChanged,
    CopyProgress,
    Event,
    Notice,
    RunFinished,
    RunStarted,
)
from glint_tui.core.inventory import SessionSource, open_serialized
from glint_tui.core.journal import TRANSFER_PROPERTY, Journal
from glint_tui.core.model import CellState, ImageRecord, ProjectRef
from glint_tui.core.paths import Paths
from glint_tui.core.plan import CopyAction, CopyTarget, DeleteAction, Plan
from glint_tui.core.spool import DEFAULT_CAP, DEFAULT_MAX_AGE, Spool, SpoolWriter

MiB = 1 << 20

# properties never copied: the copy gets its own transfer id; the SDK's owner_specified.*
# describe the original upload, not ours
_SKIP_PREFIXES = ("owner_specified.openstack.",)
_SKIP_KEYS = frozenset({TRANSFER_PROPERTY})


@dataclass
class TransferOptions:
    """Knobs, with defaults that suit a 2-core machine and a few clouds.

    Memory per copy is about ``destinations × queue_depth × chunk_size``.
    """

    chunk_size: int = 1 * MiB
    queue_depth: int = 8
    max_images: int = 2  # copy actions running at once
    uploads_per_cloud: int = 2  # concurrent uploads into one repository
    use_spool: bool = True  # tee the stream to the local cache so retries skip the source
    spool_cap: int = DEFAULT_CAP  # bytes the spool may hold; larger images are not spooled
    spool_max_age: float = DEFAULT_MAX_AGE  # seconds a spool entry may go unused
    retries: int = 3  # attempts per destination after the first, transient errors only
    backoff: float = 2.0  # seconds before the first retry, doubled each time
    stall_timeout: float = 60.0  # a destination that takes no data this long is dropped
    active_timeout: float = 300.0  # wait for Glance to report active after an upload
    visibility: str | None = None  # override the plan's visibility (None: keep the plan's)
    reconcile_first: bool = True  # clean up after dead runs before starting
    reconcile_timeout: float = 30.0  # ... but wait for it at most this long
    max_rate: float | None = None  # bytes/s read per copy (bandwidth cap); None: unlimited
    command: str = ""  # what started the run, for the audit log


@dataclass(frozen=True)
class Outcome:
    """The result of one destination of a copy, or of one delete."""

    action_id: str
    kind: str  # "copy" | "delete"
    name: str
    ref: ProjectRef
    ok: bool
    image_id: str | None = None
    message: str = ""
    bytes: int = 0
    cancelled: bool = False  # stopped on request: not a failure, nothing left behind

    def to_dict(self) -> dict:
        return {
            "action_id": self.action_id,
            "kind": self.kind,
            "name": self.name,
            "ref": str(self.ref),
            "ok": self.ok,
            "image_id": self.image_id,
            "message": self.message,
            "bytes": self.bytes,
            "cancelled": self.cancelled,
        }


@dataclass
class RunResult:
    run_id: str
    outcomes: list[Outcome] = field(default_factory=list)
    cancelled: bool = False
    source_reads: int = 0  # streams opened on a source cloud (retries use the spool)
    spool_reads: int = 0  # streams served from the local spool

    @property
    def succeeded(self) -> int:
        return sum(1 for o in self.outcomes if o.ok)

    @property
    def failed(self) -> int:
        """Outcomes that went wrong; cancelled ones are counted in ``cancelled_count``."""
        return sum(1 for o in self.outcomes if not o.ok and not o.cancelled)

    @property
    def cancelled_count(self) -> int:
        return sum(1 for o in self.outcomes if o.cancelled)

    @property
    def exit_code(self) -> int:
        """0 all done, 3 some done and some failed or cancelled, 1 nothing done,
        130 the run (or every part of it) was cancelled."""
        if self.cancelled:
            return 130
        if self.failed:
            return 3 if self.succeeded else 1
        if self.cancelled_count:
            return 3 if self.succeeded else 130
        return 0

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "cancelled": self.cancelled,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "cancelled_count": self.cancelled_count,
            "source_reads": self.source_reads,
            "spool_reads": self.spool_reads,
            "outcomes": [o.to_dict() for o in self.outcomes],
        }


class Cancelled(GlintError):
    exit_code = 130

    def __init__(self) -> None:
        super().__init__("cancelled")


class _AllDropped(Exception):
    """Every destination failed mid-stream and there is no spool to finish."""


class SpoolDamaged(ServerError):
    """The spooled copy did not hash to its key: the local disk's fault, never the
    source's. The entry is gone by the time this is raised; the retry reads the source."""


class _Aborted(Exception):
    """Raised inside an upload's reader to make the HTTP upload fail on purpose."""


_END = object()
_ABORT = object()


class _Scope:
    """Several cancel events seen as one (run, action, destination): set if any is set."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)

    def wait(self, timeout: float) -> bool:
        """Like ``Event.wait``: True as soon as any event is set (polled, 0.1 s steps)."""
        deadline = time.monotonic() + max(0.0, timeout)
        while not self.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self.events:
                self.events[-1].wait(min(0.1, left))
            else:
                time.sleep(min(0.1, left))
        return True


@dataclass
class _Control:
    """Cancel requests for one action, shared by ``cancel_action`` and its worker.

    ``done`` holds the destinations that are over (verified, failed or cancelled): a
    request for one of those is refused, so a verified copy is never deleted by it.
    """

    kind: str  # "copy" | "delete"
    refs: tuple[ProjectRef, ...]
    cancel: threading.Event = field(default_factory=threading.Event)
    dest_cancel: dict[ProjectRef, threading.Event] = field(default_factory=dict)
    done: set[ProjectRef] = field(default_factory=set)
    started: bool = False  # a delete has begun (it can no longer be cancelled)
    finished: bool = False


# --- upload slots -------------------------------------------------------------------------


class _Slots:
    """At most N concurrent uploads per repository, taken all-or-nothing (no deadlock)."""

    def __init__(self, per_cloud: int) -> None:
        self.per_cloud = max(1, per_cloud)
        self.used: dict[str, int] = {}
        self.cond = threading.Condition()

    def _need(self, refs: Iterable[ProjectRef]) -> dict[str, int]:
        need: dict[str, int] = {}
        for r in refs:
            need[r.repository] = min(self.per_cloud, need.get(r.repository, 0) + 1)
        return need

    @contextlib.contextmanager
    def take(self, refs: Iterable[ProjectRef], cancel: _Scope) -> Iterator[None]:
        need = self._need(refs)
        with self.cond:
            while not all(self.used.get(k, 0) + n <= self.per_cloud for k, n in need.items()):
                if cancel.is_set():
                    raise Cancelled()
                self.cond.wait(0.2)
            for k, n in need.items():
                self.used[k] = self.used.get(k, 0) + n
        try:
            yield
        finally:
            with self.cond:
                for k, n in need.items():
                    self.used[k] -= n
                self.cond.notify_all()


# --- one destination attempt ---------------------------------------------------------------


@dataclass
class _Dest:
    """A copy target across attempts."""

    target: CopyTarget
    stop: threading.Event = field(default_factory=threading.Event)  # this destination only
    scope: _Scope = field(default_factory=_Scope)  # run | action | this destination
    attempts: int = 0
    ok: bool = False
    error: GlintError | None = None
    image_id: str | None = None
    note: str = ""  # "already present": another run made this copy, none was created
    leftovers: list[tuple[str, str]] = field(default_factory=list)  # (transfer id, image id)

    @property
    def ref(self) -> ProjectRef:
        return self.target.ref


class _Attempt:
    """One upload of one destination, fed by the reader through a bounded queue."""

    def __init__(self, dest: _Dest, depth: int) -> None:
        self.dest = dest
        self.q: queue.Queue = queue.Queue(maxsize=max(1, depth))
        self.dead = threading.Event()  # dropped by the reader or failed by the uploader
        self.done = threading.Event()
        self.sent = 0
        self.error: GlintError | None = None
        self.ok = False

    def fail(self, error: GlintError) -> None:
        if self.error is None:
            self.error = error
        self.dead.set()


class _QueueReader:
    """The file-like ``upload`` reads: chunks from the queue, abort on demand."""

    def __init__(self, attempt: _Attempt, cancel: _Scope) -> None:
        self.a = attempt
        self.cancel = cancel
        self.item = b""
        self.pos = 0

    def read(self, size: int = -1) -> bytes:
        while self.pos >= len(self.item):
            if self.a.dead.is_set() or self.cancel.is_set():
                raise _Aborted("upload aborted")
            try:
                item = self.a.q.get(timeout=0.2)
            except queue.Empty:
                continue
            if item is _END:
                return b""
            if item is _ABORT:
                raise _Aborted("upload aborted")
            self.item, self.pos = item, 0
        left = len(self.item) - self.pos
        if size is None or size < 0 or size >= left:
            out = self.item if self.pos == 0 else self.item[self.pos :]  # no copy when whole
        else:
            out = self.item[self.pos : self.pos + size]
        self.pos += len(out)
        self.a.sent += len(out)
        return out


def _transient(error: GlintError | None) -> bool:
    return bool(error is not None and error.transient)


def _as_glint_error(exc: BaseException, where: str) -> GlintError:
    if isinstance(exc, GlintError):
        return exc
    if isinstance(exc, _Aborted):
        return ServerError("upload aborted", where)
    return ServerError(f"{type(exc).__name__}: {exc}", where)


# --- the engine -----------------------------------------------------------------------------


class TransferEngine:
    """Executes plans. One engine may run several plans, one after another."""

    def __init__(
        self,
        sessions: SessionSource,
        paths: Paths,
        *,
        on_event: Callable[[Event], None] | None = None,
        options: TransferOptions | None = None,
    ) -> None:
        self.sessions = sessions
        self.paths = paths
        self._on_event = on_event
        self.options = options or TransferOptions()
        self._lock = threading.Lock()  # guards _controls and every _Control in it
        self._controls: dict[str, _Control] = {}  # actions of the run(s) going now

    def cancel_action(self, action_id: str, destination: ProjectRef | None = None) -> bool:
        """Cancel one action of a running plan, from any thread; the rest carries on.

        A copy: every destination of it that is not over yet (``destination=None``), or
        just that one. Uploads in flight are aborted and their half images deleted (and
        journalled as failed "cancelled", then cleaned); a copy still queued never starts.
        A delete: only if it has not started. The cancelled places get
        ``CellChanged(state=ERROR, message="cancelled", cancelled=True)``.

        Returns True if the request was taken, False if the action is not part of a
        running plan, is over, or that destination is not one of it / is already over.
        """
        with self._lock:
            c = self._controls.get(action_id)
            if c is None or c.finished:
                return False
            if destination is not None and destination not in c.refs:
                return False
            if c.kind == "delete":
                if c.started:
                    return False
                c.cancel.set()
                return True
            if destination is None:
                if all(r in c.done for r in c.refs):
                    return False
                c.cancel.set()
                return True
            if destination in c.done:
                return False
            c.dest_cancel[destination].set()
            return True

    def _settle(self, action_id: str, ref: ProjectRef, scope: _Scope | None = None) -> bool:
        """Mark one destination over; with ``scope``, only if it was not cancelled just now
        (so a cancel that returned True always wins over a finishing upload)."""
        with self._lock:
            c = self._controls.get(action_id)
            if scope is not None and scope.is_set():
                return False
            if c is not None:
                c.done.add(ref)
            return True

    def _register(self, plan: Plan) -> dict[str, _Control]:
        controls: dict[str, _Control] = {}
        for a in plan.copies:
            rs = tuple(t.ref for t in a.targets)
            controls[a.id] = _Control("copy", rs, dest_cancel={r: threading.Event() for r in rs})
        for d in plan.deletes:
            controls[d.id] = _Control("delete", (d.ref,))
        with self._lock:
            self._controls.update(controls)
        return controls

    def _unregister(self, controls: dict[str, _Control]) -> None:
        with self._lock:
            for k, c in controls.items():
                c.finished = True
                if self._controls.get(k) is c:
                    del self._controls[k]

    def emit(self, event: Event) -> None:
        if self._on_event is None:
            return
        with contextlib.suppress(Exception):  # a UI bug must not break a transfer
            self._on_event(event)

    def run(self, plan: Plan, cancel_event: threading.Event | None = None) -> RunResult:
        """Run every copy (fan-out, verified) then every delete; never raises for a
        per-image failure (it is an Outcome), only for programming errors."""
        cancel = cancel_event or threading.Event()
        opts = self.options
        self.paths.ensure()
        journal = Journal(self.paths, command=opts.command)
        result = RunResult(journal.run_id)
        lock = threading.Lock()
        controls = self._register(plan)
        self.emit(RunStarted(journal.run_id, len(plan.copies), len(plan.deletes), plan.copy_bytes))
        try:
            if opts.reconcile_first:
                self._reconcile_bounded()
            spool: Spool | None = Spool(self.paths.spool_dir, opts.spool_cap, opts.spool_max_age)
            with contextlib.suppress(OSError):
                spool.clean()  # partials of killed runs, entries past their age, the cap
            spool = spool if opts.use_spool else None
            slots = _Slots(opts.uploads_per_cloud)
            for c in plan.copies:
                for t in c.targets:
                    self.emit(CellChanged(c.id, t.ref, CellState.QUEUED))
            copy_ok: dict[str, bool] = {}
            copy_cancelled: dict[str, bool] = {}

            def one(action: CopyAction) -> None:
                job = _CopyJob(self, action, journal, spool, slots, cancel, controls[action.id])
                outs = job.run()
                with lock:
                    result.outcomes.extend(outs)
                    result.source_reads += job.source_reads
                    result.spool_reads += job.spool_reads
                    copy_ok[action.id] = any(o.ok for o in outs)
                    copy_cancelled[action.id] = any(o.cancelled for o in outs)

            if plan.copies:
                with ThreadPoolExecutor(max_workers=max(1, opts.max_images)) as pool:
                    for f in [pool.submit(one, a) for a in plan.copies]:
                        f.result()
            for d in plan.deletes:
                cancelled_first = any(copy_cancelled.get(a) for a in d.after)
                result.outcomes.append(
                    self._delete(d, journal, copy_ok, cancel, controls[d.id], cancelled_first)
                )
            # the run counts as cancelled if it was, or if every part of it was
            everything = bool(result.outcomes) and all(o.cancelled for o in result.outcomes)
            result.cancelled = cancel.is_set() or everything
        finally:
            self._unregister(controls)
            journal.close(succeeded=result.succeeded, failed=result.failed)
        self.emit(
            RunFinished(
                result.run_id,
                result.succeeded,
                result.failed,
                result.cancelled,
                result.exit_code,
                cancelled_count=result.cancelled_count,
            )
        )
        return result

    def _reconcile_bounded(self) -> None:
        """Clean up after dead runs first, but never let a hung cloud hold this run."""
        from glint_tui.core.reconcile import reconcile

        t = threading.Thread(
            target=reconcile,
            args=(self.sessions, self.paths),
            kwargs={"on_event": self.emit},
            name="glint-reconcile",
            daemon=True,
        )
        t.start()
        t.join(self.options.reconcile_timeout)
        if t.is_alive():
            self.emit(Notice("reconcile is still waiting for a cloud; continuing without it"))

    # --- deletes ----------------------------------------------------------------------------
    def _delete(
        self,
        d: DeleteAction,
        journal: Journal,
        copy_ok: dict[str, bool],
        cancel: threading.Event,
        control: _Control,
        after_cancelled: bool,
    ) -> Outcome:
        def outcome(ok: bool, message: str, cancelled: bool = False) -> Outcome:
            with self._lock:
                control.finished = True
            state = CellState.ABSENT if ok else CellState.ERROR
            self.emit(CellChanged(d.id, d.ref, state, message, d.image_id, cancelled=cancelled))
            self.emit(ActionFinished(d.id, "delete", d.name, ok, message, cancelled=cancelled))
            journal.record(
                jn.DELETED if ok else jn.DELETE_FAILED,
                action="delete",
                ref=str(d.ref),
                image_id=d.image_id,
                name=d.name,
                content_key=d.content_key,
                bytes=d.size,
                result="ok" if ok else message,
            )
            return Outcome(
                d.id, "delete", d.name, d.ref, ok, d.image_id, message, cancelled=cancelled
            )

        with self._lock:
            stop = cancel.is_set() or control.cancel.is_set()
            control.started = not stop
        if stop:
            return outcome(False, "cancelled", cancelled=True)
        if d.after and not any(copy_ok.get(a) for a in d.after):
            if after_cancelled:  # its copy was cancelled: so is the move
                return outcome(False, "cancelled", cancelled=True)
            return outcome(False, "not deleted: the copy it relied on did not complete")
        self.emit(CellChanged(d.id, d.ref, CellState.DELETING, image_id=d.image_id))
        try:
            session = open_serialized(self.sessions, d.ref)
        except GlintError as e:
            return outcome(False, str(e))
        try:
            # one glint run at a time checks the copies a delete of this content relies on
            with locks.hold(locks.lock_path(self.paths, "content", d.content_key), cancel.wait):
                why = _undeletable(session, d.image_id, d.content_key)
                if why is None and not d.after:
                    why = self._no_other_copy(d)
                if why:
                    return outcome(False, why)
                session.delete_image(d.image_id)
            return outcome(True, "")
        except locks.LockCancelled:
            return outcome(False, "cancelled", cancelled=True)
        except GlintError as e:
            return outcome(False, str(e))
        finally:
            session.close()

    def _no_other_copy(self, d: DeleteAction) -> str | None:
        """None when one of the copies the plan relied on (``keeps``) is still there and
        active with this content, now; else why the delete is refused."""
        if not d.content_key or d.content_key.startswith("none:"):
            return None  # no data: no last-copy rule
        if not d.keeps:
            return "refused: the plan names no other copy of this content; nothing deleted"
        problems = []
        for ref, image_id in d.keeps:
            try:
                s = open_serialized(self.sessions, ref)
                try:
                    rec = s.get_image(image_id)
                finally:
                    s.close()
            except GlintError as e:
                problems.append(located(ref, str(e)))
                continue
            if rec.status == "active" and rec.content_key == d.content_key:
                return None
            problems.append(f"{ref}: {image_id} is {rec.status}")
        return (
            "refused: the other copy this delete relied on is gone or cannot be checked "
            f"({'; '.join(problems)}); nothing deleted"
        )


def _undeletable(session: CloudSession, image_id: str, content_key: str | None) -> str | None:
    """Re-check the safety rules on the image as it is *now* (the plan may be stale)."""
    rec = session.get_image(image_id)
    if rec.owner != session.project_id:
        return f"refused: not owned: {image_id} is owned by another project ({rec.owner})"
    if rec.protected:
        return f"refused: {image_id} is protected"
    known = content_key and rec.content_key and not content_key.startswith("none:")
    if known and rec.content_key != content_key:
        return f"refused: {image_id} changed since the plan was made"
    return None


# --- one copy action ---------------------------------------------------------------------------


class _CopyJob:
    def __init__(
        self,
        engine: TransferEngine,
        action: CopyAction,
        journal: Journal,
        spool: Spool | None,
        slots: _Slots,
        cancel: threading.Event,
        control: _Control,
    ) -> None:
        self.e = engine
        self.a = action
        self.journal = journal
        self.spool = spool
        self.slots = slots
        self.control = control
        self.cancel = _Scope(cancel, control.cancel)  # the whole run, or this action
        self.opts = engine.options
        self.dests = []
        for t in action.targets:
            stop = control.dest_cancel[t.ref]
            self.dests.append(_Dest(t, stop, _Scope(cancel, control.cancel, stop)))
        self.source: ImageRecord | None = None
        self.algo = ""  # the hash we compute of the stream, and the source's value of it
        self.expected = ""
        self.digest: str | None = None  # ours, once the whole stream went by
        self.source_reads = 0
        self.spool_reads = 0
        self.from_spool = False  # the stream being read comes from the local spool
        self.refunded = False  # a damaged spool entry gave its attempts back once

    # -- events
    def cell(self, d: _Dest, state: CellState, message: str = "", image_id: str | None = None):
        self.e.emit(CellChanged(self.a.id, d.ref, state, message, image_id or d.image_id))

    def _live(self, dests: list[_Dest]) -> list[_Dest]:
        """The destinations not cancelled yet (the cancelled ones get their error)."""
        live = []
        for d in dests:
            if d.scope.is_set():
                d.error = Cancelled()
            else:
                live.append(d)
        return live

    def run(self) -> list[Outcome]:
        if not self._live(self.dests):  # cancelled while queued: never touch a cloud
            return self._finish()
        try:
            self.source = self._check_source()
        except GlintError as e:
            for d in self.dests:
                d.error = e
        pending = self._live([d for d in self.dests if d.error is None])
        backoff = self.opts.backoff
        while pending and not self.cancel.is_set():
            for d in pending:
                d.attempts += 1
                self._clean_leftovers(d)
            try:
                with self._locked(pending), self.slots.take([d.ref for d in pending], self.cancel):
                    self._fan_out(pending)
            except Cancelled:
                for d in pending:
                    d.error = d.error or Cancelled()
            if any(isinstance(d.error, SpoolDamaged) for d in pending) and not self.refunded:
                self.refunded = True  # the local disk's fault, once: it costs no retry
                for d in pending:
                    d.attempts -= isinstance(d.error, SpoolDamaged)
            retry = [
                d
                for d in self._live(pending)
                if not d.ok and _transient(d.error) and d.attempts <= self.opts.retries
            ]
            if not retry or self.cancel.is_set():
                break
            for d in retry:
                msg = f"retrying in {backoff:.0f} s: {d.error}"
                self.cell(d, CellState.QUEUED, msg)
                self.e.emit(Notice(f"{self.a.name} -> {d.ref}: {msg}", self.a.id))
            if self.cancel.wait(backoff):
                break
            backoff *= 2
            pending = self._live(retry)  # a destination may have been cancelled meanwhile
        return self._finish()

    def _finish(self) -> list[Outcome]:
        outs = []
        for d in self.dests:
            self._clean_leftovers(d)
            left = self._left_behind(d)
            if d.ok:
                sent = 0 if d.note else self.a.size
                if left:
                    self.e.emit(Notice(located(d.ref, left), self.a.id))
                outs.append(
                    Outcome(self.a.id, "copy", self.a.name, d.ref, True, d.image_id, d.note, sent)
                )
                continue
            # asked to stop (even if it also failed meanwhile): a cancel, not a failure
            cancelled = isinstance(d.error, Cancelled) or d.scope.is_set()
            if cancelled:
                d.error = Cancelled()
            msg = str(d.error or "not copied") + (f"; {left}" if left else "")
            self.e.emit(CellChanged(self.a.id, d.ref, CellState.ERROR, msg, cancelled=cancelled))
            outs.append(
                Outcome(self.a.id, "copy", self.a.name, d.ref, False, None, msg, 0, cancelled)
            )
        with self.e._lock:
            self.control.done.update(d.ref for d in self.dests)
            self.control.finished = True
        ok = all(o.ok for o in outs)
        failed = "; ".join(located(o.ref, o.message) for o in outs if not o.ok)
        only_cancelled = not ok and all(o.ok or o.cancelled for o in outs)
        self.e.emit(
            ActionFinished(self.a.id, "copy", self.a.name, ok, failed, cancelled=only_cancelled)
        )
        return outs

    @contextlib.contextmanager
    def _locked(self, dests: list[_Dest]) -> Iterator[None]:
        """Hold each destination's lock (cloud, project, content) against other glint
        runs, taken in one global order (no deadlock), until the copies verified or
        failed. No network: the keys come from the plan. The uploader then looks at the
        destination again before creating anything (``_already_there``)."""
        keys = sorted({(*d.target.lock_key, self.a.content_key): d for d in dests}.items())
        with contextlib.ExitStack() as held:
            for key, d in keys:
                wait = "waiting for another glint run copying the same image there"
                try:
                    held.enter_context(
                        locks.hold(
                            locks.lock_path(self.e.paths, *key),
                            self.cancel.wait,
                            lambda d=d, wait=wait: self._note(d, wait),
                        )
                    )
                except locks.LockCancelled:
                    raise Cancelled() from None
            yield

    def _note(self, d: _Dest, text: str) -> None:
        self.e.emit(Notice(f"{self.a.name} -> {d.ref}: {text}", self.a.id))

    def _already_there(self, s: CloudSession, d: _Dest) -> ImageRecord | None:
        """An active image of this name and content that the destination project owns
        (another glint run made it while this one waited for the lock)."""
        pid = s.project_id
        for rec in s.list_images(name=d.target.name):
            if (
                rec.status == "active"
                and rec.owner == pid
                and rec.content_key == self.a.content_key
            ):
                return rec
        return None

    @staticmethod
    def _left_behind(d: _Dest) -> str:
        """What a failed attempt left at *d* (its Glance could not be reached to delete it)
        and what cleans it: the journal has it, so reconcile (or the next run) will."""
        if not d.leftovers:
            return ""
        ids = ", ".join(image_id for _, image_id in d.leftovers)
        return (
            f"left behind: half-made image {ids} (its Glance did not answer the delete); "
            f"`glint reconcile` deletes it once {d.ref} answers again, and so does the "
            "next copy or apply"
        )

    def _check_source(self) -> ImageRecord:
        s = open_serialized(self.e.sessions, self.a.source)
        try:
            rec = s.get_image(self.a.source_image_id)
        finally:
            s.close()
        where = str(self.a.source)
        if rec.status != "active":
            raise Conflict(f"source image {rec.id} is {rec.status}, not active", where)
        if rec.content_key != self.a.content_key:
            raise DataMismatch(f"source image {rec.id} changed since the plan was made", where)
        return rec

    def _clean_leftovers(self, d: _Dest) -> None:
        """Delete half images of earlier attempts (Glance may be back by now)."""
        for tid, image_id in list(d.leftovers):
            try:
                s = open_serialized(self.e.sessions, d.ref)
                try:
                    s.delete_image(image_id)
                finally:
                    s.close()
            except ImageNotFound:
                pass
            except GlintError:
                continue  # still unreachable: next attempt, the end of the run, or reconcile
            d.leftovers.remove((tid, image_id))
            self.journal.record(jn.CLEANED, transfer_id=tid, ref=str(d.ref), image_id=image_id)

    # -- the stream
    def _open_stream(self) -> tuple[Iterable[bytes], Callable[[], None], SpoolWriter | None]:
        """Spool if it has the content, else the source (teed to the spool)."""
        size = self.a.size
        if self.spool is not None:
            path = self.spool.get(self.a.content_key, size)
            self.from_spool = path is not None
            if path is not None:
                self.spool_reads += 1
                f = open(path, "rb")  # noqa: SIM115 - closed by the returned closer
                chunk = self.opts.chunk_size
                return iter(lambda: f.read(chunk), b""), f.close, None
        s = open_serialized(self.e.sessions, self.a.source)
        try:
            try:
                dl = s.download(self.a.source_image_id, self.opts.chunk_size, verify=False)
            except TypeError:  # an adapter without the verify switch
                dl = s.download(self.a.source_image_id, self.opts.chunk_size)
        except BaseException:
            s.close()
            raise
        self.source_reads += 1
        writer = self.spool.writer(self.a.content_key, size) if self.spool else None

        def close() -> None:
            with contextlib.suppress(Exception):
                dl.close()
            s.close()

        return dl, close, writer

    def _fan_out(self, dests: list[_Dest]) -> None:
        for d in dests:
            d.error = None
        dests = self._live(dests)  # cancelled while waiting for an upload slot
        if not dests:
            return
        attempts = [_Attempt(d, self.opts.queue_depth) for d in dests]
        threads = [
            threading.Thread(target=self._upload, args=(a,), daemon=True, name=f"up-{a.dest.ref}")
            for a in attempts
        ]
        for t in threads:
            t.start()
        try:
            self._read(attempts)
        except BaseException as exc:  # the source failed: every destination fails with it
            err = _as_glint_error(exc, str(self.a.source))
            if isinstance(exc, _AllDropped):
                err = ServerError("every destination failed", str(self.a.source))
            for a in attempts:
                a.fail(err)  # the error first, so the uploader reports this, not "aborted"
                self._offer_control(a, _ABORT)
        # wait (bounded) for uploaders to verify or give up; a dead one gets a short grace
        # to delete its half image, a hung one (Glance frozen) is left behind
        deadline = time.monotonic() + self.opts.active_timeout + self.opts.stall_timeout
        for a in attempts:
            grace: float | None = None
            while not a.done.wait(0.2):
                now = time.monotonic()
                if a.dead.is_set():
                    grace = grace or now + min(15.0, self.opts.stall_timeout)
                if now > deadline or (grace is not None and now > grace):
                    break
            d = a.dest
            if a.ok:
                d.ok = True
                d.error = None
            else:
                d.error = a.error or ServerError("the upload did not finish", str(d.ref))

    def _stream_hash(self) -> hashlib._Hash:
        """A hasher for the content key's algorithm (md5 if Python lacks the source's)."""
        src = self.source
        assert src is not None
        if src.os_hash_algo and src.os_hash_value:
            with contextlib.suppress(ValueError):
                h = hashlib.new(src.os_hash_algo)
                self.algo, self.expected = src.os_hash_algo, src.os_hash_value
                return h
        if src.checksum:
            self.algo, self.expected = "md5", src.checksum
            return hashlib.md5(usedforsecurity=False)
        raise DataMismatch(
            f"source image {src.id} has no checksum to verify against", str(self.a.source)
        )

    def _read(self, attempts: list[_Attempt]) -> None:
        hasher = self._stream_hash()
        stream, close, writer = self._open_stream()
        total = 0
        held: bytes | None = None
        started = last_tick = time.monotonic()
        window: list[tuple[float, int]] = [(started, 0)]
        try:
            for chunk in stream:
                if self.cancel.is_set() or all(a.dest.stop.is_set() for a in attempts):
                    raise Cancelled()  # the action, or each of its destinations, cancelled
                hasher.update(chunk)
                if writer is not None:
                    writer.write(chunk)
                total += len(chunk)
                if held is not None:
                    self._offer(held, attempts)
                held = chunk
                if all(a.ok and a.dead.is_set() for a in attempts):
                    raise _AllDropped()  # every destination was already there: stop reading
                if writer is None and all(a.dead.is_set() for a in attempts):
                    raise _AllDropped()  # nobody to feed and nothing to spool
                now = time.monotonic()
                if self.opts.max_rate:
                    ahead = total / self.opts.max_rate - (now - started)
                    if ahead > 0 and self.cancel.wait(ahead):
                        raise Cancelled()
                if now - last_tick >= 0.25:
                    last_tick = now
                    window.append((now, total))
                    window = [w for w in window if now - w[0] <= 3.0] or window[-1:]
                    self._progress(total, window, attempts)
            self.digest = hasher.hexdigest()
            self._verify_stream(total)
        except BaseException:
            if writer is not None:
                writer.abort()
            raise
        finally:
            close()
        try:
            if held is not None:
                self._offer(held, attempts)
            for a in attempts:
                self._offer_control(a, _END)
        finally:  # after the destinations got the last chunk: they never wait for the disk
            if writer is not None:
                writer.commit(self.algo, self.digest)
        self._progress(total, window + [(time.monotonic(), total)], attempts)

    def _verify_stream(self, total: int) -> None:
        src = self.source
        assert src is not None
        where = str(self.a.source)
        if self.from_spool and (total != self.a.size or self.digest != self.expected):
            assert self.spool is not None
            self.spool.remove(self.a.content_key)
            raise SpoolDamaged(
                f"the local spool copy of {self.a.name} was damaged (deleted it); "
                "reading the source again",
                "spool",
            )
        if total != self.a.size:
            raise DataMismatch(f"source sent {total} of {self.a.size} bytes", where)
        if self.digest != self.expected:
            raise DataMismatch(
                f"source image {src.id}: bytes do not match its {self.algo} "
                "(corrupted in the store?)",
                where,
            )

    def _offer(self, chunk: bytes, attempts: list[_Attempt]) -> None:
        """Put the chunk in every live queue; drop a destination stuck past stall_timeout."""
        for a in attempts:
            if a.dest.stop.is_set():
                a.fail(Cancelled())  # this destination alone was cancelled: stop feeding it
            if a.dead.is_set():
                continue
            deadline = time.monotonic() + self.opts.stall_timeout
            while True:
                try:
                    a.q.put(chunk, timeout=0.2)
                    break
                except queue.Full:
                    if a.dest.stop.is_set():
                        a.fail(Cancelled())
                    if a.dead.is_set():
                        break
                    if self.cancel.is_set():
                        raise Cancelled() from None
                    if time.monotonic() > deadline:
                        a.fail(
                            ServerError(
                                f"accepted no data for {self.opts.stall_timeout:.0f} s; dropped",
                                str(a.dest.ref),
                            )
                        )
                        break

    def _offer_control(self, a: _Attempt, item: object) -> None:
        if item is _ABORT:
            a.dead.set()
        with contextlib.suppress(queue.Full):
            a.q.put(item, timeout=0.5 if item is _END else 0.01)

    def _progress(self, total: int, window: list[tuple[float, int]], attempts) -> None:
        (t0, b0), (t1, b1) = window[0], window[-1]
        rate = (b1 - b0) / (t1 - t0) if t1 > t0 else 0.0
        size = self.a.size or None
        eta = (size - total) / rate if size and rate > 0 else None
        self.e.emit(
            CopyProgress(
                self.a.id,
                self.a.name,
                total,
                size,
                rate,
                eta,
                {str(a.dest.ref): a.sent for a in attempts},
            )
        )

    # -- one destination
    def _spec(self, target: CopyTarget, transfer_id: str) -> ImageSpec:
        src = self.source
        assert src is not None
        props = {
            k: v
            for k, v in src.properties.items()
            if k not in _SKIP_KEYS and not k.startswith(_SKIP_PREFIXES)
        }
        props[TRANSFER_PROPERTY] = transfer_id
        return ImageSpec(
            name=target.name,
            disk_format=src.disk_format or self.a.disk_format or "raw",
            container_format=src.container_format or "bare",
            visibility=self.opts.visibility or self.a.visibility,
            min_disk=src.min_disk,
            min_ram=src.min_ram,
            tags=list(src.tags),
            properties=props,
        )

    def _upload(self, a: _Attempt) -> None:
        d = a.dest
        where = str(d.ref)
        image_id = None
        session = None
        tid = ""
        try:
            session = open_serialized(self.e.sessions, d.ref)
            found = self._already_there(session, d)
            if found is not None:  # made by another run meanwhile: nothing to create
                d.image_id, d.note, a.ok = found.id, "already present", True
                a.dead.set()  # the reader stops feeding this destination
                self.e._settle(self.a.id, d.ref)
                self.cell(d, CellState.PRESENT, "already present", found.id)
                self._note(d, f"already present (image {found.id}), not copied again")
                return
            tid = self.journal.transfer_id()
            self.journal.record(
                jn.CREATING,
                transfer_id=tid,
                action="copy",
                ref=where,
                name=d.target.name,
                content_key=self.a.content_key,
                source=str(self.a.source),
                source_image_id=self.a.source_image_id,
                bytes=self.a.size,
            )
            try:
                rec = session.create_image(self._spec(d.target, tid))
            except GlintError as e:
                if not isinstance(e, ServerError):  # refused or never connected: no image
                    self.journal.record(jn.CLEANED, transfer_id=tid, ref=where, result=str(e))
                raise
            image_id = rec.id
            self.journal.record(jn.CREATED, transfer_id=tid, ref=where, image_id=image_id)
            self.cell(d, CellState.TRANSFERRING, image_id=image_id)
            session.upload(image_id, _QueueReader(a, d.scope), self.a.size)
            self.cell(d, CellState.VERIFYING, image_id=image_id)
            final = self._wait_active(session, image_id, where, d.scope)
            self._verify_copy(final, where)
            if not self.e._settle(self.a.id, d.ref, d.scope):
                raise Cancelled()  # cancelled while verifying: the verified copy goes too
            if d.target.replaces:
                why = _undeletable(session, d.target.replaces, None)
                if why is None:
                    session.delete_image(d.target.replaces)
                self.journal.record(
                    jn.DELETED if why is None else jn.DELETE_FAILED,
                    action="replace",
                    ref=where,
                    image_id=d.target.replaces,
                    result=why or "ok",
                )
            self.journal.record(
                jn.VERIFIED,
                transfer_id=tid,
                action="copy",
                ref=where,
                image_id=image_id,
                source=str(self.a.source),
                bytes=self.a.size,
                result="ok",
            )
            d.image_id = image_id
            a.ok = True
            self.cell(d, CellState.PRESENT, image_id=image_id)
        except BaseException as exc:
            err = a.error if (a.dead.is_set() and a.error) else _as_glint_error(exc, where)
            if isinstance(exc, GlintError) and not isinstance(exc, ServerError):
                err = exc  # a permanent cloud error beats "aborted"
            if d.scope.is_set():
                err = Cancelled()
            a.fail(err)
            if image_id is not None:
                self._discard(session, d, tid, image_id, err)
        finally:
            if session is not None:
                with contextlib.suppress(Exception):
                    session.close()
            a.done.set()

    def _discard(self, session, d: _Dest, tid: str, image_id: str, err: GlintError) -> None:
        """Delete a failed attempt's image now, or remember it for later (and reconcile)."""
        self.journal.record(
            jn.FAILED,
            transfer_id=tid,
            action="copy",
            ref=str(d.ref),
            image_id=image_id,
            source=str(self.a.source),
            result=str(err),
        )
        try:
            session.delete_image(image_id)
        except ImageNotFound:
            pass
        except GlintError:
            d.leftovers.append((tid, image_id))
            return
        self.journal.record(jn.CLEANED, transfer_id=tid, ref=str(d.ref), image_id=image_id)

    def _wait_active(
        self, session: CloudSession, image_id: str, where: str, cancel: _Scope
    ) -> ImageRecord:
        deadline = time.monotonic() + self.opts.active_timeout
        while True:
            rec = session.get_image(image_id)
            if rec.status == "active":
                return rec
            if rec.status in ("killed", "deleted", "pending_delete"):
                raise ServerError(f"Glance marked the new image {rec.status}", where)
            if time.monotonic() > deadline:
                raise ServerError(
                    f"the new image is still {rec.status} after {self.opts.active_timeout:.0f} s",
                    where,
                )
            if cancel.wait(0.5):
                raise Cancelled()

    def _verify_copy(self, rec: ImageRecord, where: str) -> None:
        """The destination's own hashes of what it received against ours and the source's:
        its ``os_hash_value`` against the stream we hashed, its md5 ``checksum`` against the
        md5 the source recorded (metadata: glint does not compute md5 a second time)."""
        src = self.source
        assert src is not None
        problems = []
        checked = False
        if rec.size != self.a.size:
            problems.append(f"size {rec.size} != {self.a.size}")
        if rec.os_hash_algo == self.algo and rec.os_hash_value:
            checked = True
            if rec.os_hash_value != self.digest:
                problems.append(f"{self.algo} differs")
        if rec.checksum and self.algo == "md5":
            checked = True
            if rec.checksum != self.digest:
                problems.append("md5 differs")
        if rec.checksum and src.checksum:
            checked = True
            if rec.checksum != src.checksum:
                problems.append("md5 differs from the source's")
        key = rec.content_key or ""
        if (
            key.split(":", 1)[0] == self.a.content_key.split(":", 1)[0]
            and key != self.a.content_key
        ):
            problems.append("content key differs")
        if not checked:
            problems.append("the destination reports no checksum to compare")
        if problems:
            raise DataMismatch(
                f"the copy does not match the source ({', '.join(problems)}); deleted", where
            )


def spool_path(paths: Paths, content_key: str, cap: int | None = None) -> Path | None:
    """Where a content's spooled bytes are, if any (tests and diagnostics)."""
    return Spool(paths.spool_dir, cap or TransferOptions().spool_cap).get(content_key)
