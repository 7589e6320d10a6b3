"""One catalog run: a reviewed ``CatalogPlan`` carried out, bytes first, then metadata.

1. ``staging``: every new version fetched once and checked against the checksum file,
   converted once per format a cloud wants — nothing exists in any cloud yet, so a file
   that fails its checksum (or a conversion that fails) creates nothing;
2. the engine (``run_engine``: ``Services.run_plan``, so cancelling and the UI's live
   cells work as for any copy): reconcile first, journal, fan-out of each staged file to
   its targets, each copy verified against the file's sha512;
3. ``metadata.StepRunner``: shares, renames, retirements, restores and updates, in
   dependency order, each re-checked just before it acts, with its own journal.

The result is one ``RunResult`` (engine outcomes, failed fetches as failed uploads, and one
outcome per metadata step), so the exit code is ``glint apply``'s: 0 all done, 3 partly,
1 nothing done, 130 interrupted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from glint_tui.core.actions import Plan
from glint_tui.core.catalog.metadata import StepRunner
from glint_tui.core.catalog.staging import Stager, copies_for
from glint_tui.core.catalog.steps import CatalogPlan, Upload, line_of
from glint_tui.core.events import CellChanged, Event, RunFinished, RunStarted
from glint_tui.core.journal import Journal
from glint_tui.core.model import CellState, ProjectRef
from glint_tui.core.paths import Paths
from glint_tui.core.sessions import SessionSource, open_serialized
from glint_tui.core.timeouts import Timeouts
from glint_tui.core.transfer.result import Outcome, RunResult

RunEngine = Callable[[Plan, threading.Event, Callable[[Event], None]], RunResult]


def run_catalog(
    plan: CatalogPlan,
    *,
    sessions: SessionSource,
    paths: Paths,
    run_engine: RunEngine,
    on_event: Callable[[Event], None],
    cancel: threading.Event | None = None,
    timeouts: Timeouts | None = None,
    command: str = "catalog apply",
) -> RunResult:
    """Carry out *plan* (reviewed and confirmed by the caller); never raises for a failed
    fetch, copy or step — each is an outcome."""
    cancel = cancel or threading.Event()
    steps = len(plan.steps) - len(plan.uploads)
    on_event(RunStarted("catalog", len(plan.uploads), steps, 0))

    def engine_events(event: Event) -> None:
        if not isinstance(event, RunFinished):  # the catalog run is not over yet
            on_event(event)

    stager = Stager(paths.spool_dir, timeouts=timeouts, emit=on_event, cancel=cancel)
    staged, failed = stager.stage(plan.uploads)
    outcomes: list[Outcome] = []
    for upload in plan.uploads:
        error = failed.get(upload.id)
        if error is None and upload.id not in staged:
            error = "cancelled"
        if error is None:
            continue
        message = f"not uploaded: {error}"
        for target in upload.targets:
            on_event(CellChanged(upload.id, target.ref, CellState.ERROR, message))
            outcomes.append(_failed(upload, target.ref, message, cancel.is_set()))
    engine = run_engine(copies_for(plan.uploads, staged), cancel, engine_events)
    outcomes += engine.outcomes
    placed = {(o.action_id, o.ref): o.image_id for o in engine.outcomes if o.ok and o.image_id}
    journal = Journal(paths, command=f"{command} (metadata)")
    try:
        runner = StepRunner(
            plan,
            placed,
            open_session=lambda ref: open_serialized(sessions, ref),
            paths=paths,
            journal=journal,
            emit=on_event,
            cancel=cancel,
        )
        outcomes += runner.run()
    finally:
        done = [o for o in outcomes if o.ok]
        journal.close(succeeded=len(done), failed=len(outcomes) - len(done))
    result = RunResult(engine.run_id, outcomes, cancel.is_set() or engine.cancelled)
    result.source_reads, result.spool_reads = engine.source_reads, engine.spool_reads
    on_event(result.finished())
    return result


def _failed(upload: Upload, ref: ProjectRef, message: str, cancelled: bool) -> Outcome:
    """A target of an upload that never reached the engine (its fetch or conversion)."""
    return Outcome(
        upload.id, "copy", line_of(upload), ref, ok=False, message=message, cancelled=cancelled
    )
