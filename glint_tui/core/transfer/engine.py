"""The engine: runs a Plan — every copy (fan-out, verified) then every delete.

It owns what lives as long as a run: the journal, the spool, the upload slots and the
cancel controls, handed to the jobs as a ``RunContext``; it runs up to ``max_images``
copy jobs at once, then the deletes one by one (a delete may rely on a copy of the same
plan having verified).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from glint_tui.core.actions import CopyAction, Plan
from glint_tui.core.events import CellChanged, Event, Notice, RunStarted
from glint_tui.core.journal import Journal
from glint_tui.core.model import CellState, ProjectRef
from glint_tui.core.paths import Paths
from glint_tui.core.sessions import SessionSource
from glint_tui.core.spool import Spool
from glint_tui.core.transfer.context import RunContext
from glint_tui.core.transfer.control import ActionControl, Controls
from glint_tui.core.transfer.conversion import converting
from glint_tui.core.transfer.copy_job import CopyJob
from glint_tui.core.transfer.delete_job import DeleteJob
from glint_tui.core.transfer.options import TransferOptions
from glint_tui.core.transfer.result import RunResult
from glint_tui.core.transfer.slots import UploadSlots


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
        self._controls = Controls()

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
        return self._controls.cancel(action_id, destination)

    def emit(self, event: Event) -> None:
        if self._on_event is None:
            return
        with contextlib.suppress(Exception):  # a UI bug must not break a transfer
            self._on_event(event)

    def run(self, plan: Plan, cancel_event: threading.Event | None = None) -> RunResult:
        """Run every copy (fan-out, verified) then every delete; never raises for a
        per-image failure (it is an Outcome), only for programming errors."""
        cancel = cancel_event or threading.Event()
        options = self.options
        self.paths.ensure()
        journal = Journal(self.paths, command=options.command)
        result = RunResult(journal.run_id)
        controls = self._controls.register(plan, cancel)
        self.emit(RunStarted(journal.run_id, len(plan.copies), len(plan.deletes), plan.copy_bytes))
        try:
            if options.reconcile_first:
                self._reconcile_bounded()
            ctx = RunContext(
                sessions=self.sessions,
                paths=self.paths,
                options=options,
                journal=journal,
                spool=self._spool(),
                slots=UploadSlots(options.uploads_per_cloud),
                controls=self._controls,
                emit=self.emit,
                cancel=cancel,
            )
            copies_ok, copies_cancelled = self._run_copies(ctx, plan, controls, result)
            for delete in plan.deletes:
                job = DeleteJob(
                    ctx,
                    delete,
                    controls[delete.id],
                    copies_ok=copies_ok,
                    after_cancelled=any(copies_cancelled.get(copy_id) for copy_id in delete.after),
                )
                result.outcomes.append(job.run())
            # the run counts as cancelled if it was, or if every part of it was
            everything = bool(result.outcomes) and all(
                outcome.cancelled for outcome in result.outcomes
            )
            result.cancelled = cancel.is_set() or everything
        finally:
            self._controls.unregister(controls)
            journal.close(succeeded=result.succeeded, failed=result.failed)
        self.emit(result.finished())
        return result

    def _spool(self) -> Spool | None:
        """The spool, cleaned at the start of every run (partials of killed runs, entries
        past their age, the cap), or None when the run does not use one."""
        spool = Spool(self.paths.spool_dir, self.options.spool_cap, self.options.spool_max_age)
        with contextlib.suppress(OSError):
            spool.clean()
        return spool if self.options.use_spool else None

    def _run_copies(
        self,
        ctx: RunContext,
        plan: Plan,
        controls: dict[str, ActionControl],
        result: RunResult,
    ) -> tuple[dict[str, bool], dict[str, bool]]:
        """Every copy job, ``max_images`` at once; (action id -> any destination verified,
        action id -> any destination cancelled), for the deletes that wait on them."""
        for copy in plan.copies:
            for target in copy.targets:
                self.emit(CellChanged(copy.id, target.ref, CellState.QUEUED))
        lock = threading.Lock()
        copies_ok: dict[str, bool] = {}
        copies_cancelled: dict[str, bool] = {}

        def one(action: CopyAction) -> None:
            job = CopyJob(ctx, action, controls[action.id])
            outcomes = job.run()
            with lock:
                result.outcomes.extend(outcomes)
                result.source_reads += job.source_reads
                result.spool_reads += job.spool_reads
                copies_ok[action.id] = any(outcome.ok for outcome in outcomes)
                copies_cancelled[action.id] = any(outcome.cancelled for outcome in outcomes)

        # copies converted on this host go last: the same image's original-format copy
        # has then left its bytes in the spool, and the source is read once
        first = [action for action in plan.copies if converting(action) is None]
        last = [action for action in plan.copies if converting(action) is not None]
        for batch in (first, last):
            if not batch:
                continue
            with ThreadPoolExecutor(max_workers=max(1, self.options.max_images)) as pool:
                for future in [pool.submit(one, action) for action in batch]:
                    future.result()
        return copies_ok, copies_cancelled

    def _reconcile_bounded(self) -> None:
        """Clean up after dead runs first, but never let a hung cloud hold this run."""
        from glint_tui.core.reconcile import reconcile

        thread = threading.Thread(
            target=reconcile,
            args=(self.sessions, self.paths),
            kwargs={"on_event": self.emit},
            name="glint-reconcile",
            daemon=True,
        )
        thread.start()
        thread.join(self.options.reconcile_timeout)
        if thread.is_alive():
            self.emit(Notice("reconcile is still waiting for a cloud; continuing without it"))
