"""The UI's view of the world: the engine's Matrix, the operator's pending toggles, and
the live states the transfer engine reports — combined into what each cell shows.

Kept free of Textual so it can be reasoned about (and benchmarked) on its own:

* ``matrix``  — what the clouds hold (``core.inventory.refresh``), replaced on refresh;
* ``desired`` — the operator's toggles (``core.desired.Desired``), which survive refreshes
  until the clouds match them; ``core.plan.build_plan`` consumes exactly this object;
* ``live``    — per-cell states from engine events (queued, transferring %, error …),
  which win over both while a run is going and, for errors, until cleared or retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from glint_tui.core.desired import Desired
from glint_tui.core.events import (
    ActionFinished,
    CellChanged,
    CopyProgress,
    Event,
    Notice,
    RunFinished,
    RunStarted,
)
from glint_tui.core.inventory import VISIBILITY_FILTERS, Matrix, Row, RowKey
from glint_tui.core.model import CellState, ProjectRef
from glint_tui.core.plan import CopyAction, DeleteAction, Plan
from glint_tui.ui.catalog_view import CatalogOverlay
from glint_tui.ui.phases import Phases

CellKey = tuple[RowKey, ProjectRef]
SORTS = ("name", "size", "age")
RUNNING_STATES = frozenset(
    {CellState.QUEUED, CellState.TRANSFERRING, CellState.VERIFYING, CellState.DELETING}
)


@dataclass
class Live:
    """What the engine last said about one cell during (or after) a run."""

    state: CellState
    message: str = ""
    percent: int | None = None
    action_id: str | None = None


@dataclass
class ActionProgress:
    """One plan action as the transfers panel shows it."""

    action_id: str
    kind: str  # copy | delete
    name: str
    total: int
    done: int = 0
    rate: float = 0.0
    eta: float | None = None
    destinations: dict[ProjectRef, CellState] = field(default_factory=dict)
    sent: dict[ProjectRef, int] = field(default_factory=dict)  # bytes per destination
    cancelling: set[ProjectRef] = field(default_factory=set)  # x pressed, not yet over
    cancelled: set[ProjectRef] = field(default_factory=set)
    phases: Phases = field(default_factory=Phases)  # what the panel still has to show
    finished: bool = False
    ok: bool | None = None
    message: str = ""


@dataclass
class RunProgress:
    """Everything the transfers panel needs about the run in progress (or the last one)."""

    plan: Plan
    actions: dict[str, ActionProgress] = field(default_factory=dict)
    total_bytes: int = 0
    finished: bool = False
    cancelled: bool = False
    exit_code: int | None = None
    notices: list[str] = field(default_factory=list)
    notice: str = ""  # the last notice while it is still true (bytes moving again end it)

    def outcome(self) -> dict[str, int]:
        """Destinations by how they ended (or stand): done, failed, cancelled, left."""
        counts = {"done": 0, "failed": 0, "cancelled": 0, "left": 0}
        for a in self.actions.values():
            for ref, state in a.destinations.items():
                if ref in a.cancelled:
                    counts["cancelled"] += 1
                elif state in (CellState.PRESENT, CellState.ABSENT):
                    counts["done"] += 1
                elif state is CellState.ERROR:
                    counts["failed"] += 1
                else:
                    counts["left"] += 1
        return counts

    @property
    def done_bytes(self) -> int:
        return sum(
            min(a.done, a.total) if not (a.finished and a.ok) else a.total
            for a in self.actions.values()
            if a.kind == "copy"
        )

    @property
    def rate(self) -> float:
        return sum(a.rate for a in self.actions.values() if not a.finished)

    @property
    def eta(self) -> float | None:
        left = self.total_bytes - self.done_bytes
        rate = self.rate
        return left / rate if rate > 0 and left > 0 else None


def parse_time(text: str | None) -> float | None:
    """Glance's ISO-8601 timestamps as epoch seconds (None when missing or odd)."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def row_created(row: Row) -> float | None:
    """The oldest creation time of the row's images anywhere: the image's age."""
    times = [parse_time(i.created_at) for c in row.cells.values() for i in c.images]
    known = [t for t in times if t is not None]
    return min(known) if known else None


class MatrixModel:
    """Matrix + desired toggles + live states, and the view settings (project, filters, sort)."""

    def __init__(self, matrix: Matrix, now: Callable[[], float] = time.time) -> None:
        self.now = now
        self.desired = Desired()
        self.live: dict[CellKey, Live] = {}
        self.project: ProjectRef | None = None
        self.visibility = "all"
        self.text = ""
        self.sort = "name"
        self.run: RunProgress | None = None
        self.catalog: CatalogOverlay | None = None  # an open catalog's plan (catalog_view)
        self.refused: dict[CellKey, str] = {}  # marks the plan would refuse, and why
        self.matrix = matrix
        self.rows: list[Row] = []
        self._created: dict[RowKey, float | None] = {}
        self.set_matrix(matrix)

    # --- data ----------------------------------------------------------------------------
    @property
    def columns(self) -> list[ProjectRef]:
        return self.matrix.columns

    @property
    def running(self) -> bool:
        return self.run is not None and not self.run.finished

    def set_matrix(self, matrix: Matrix) -> None:
        """Take a fresh inventory. Toggles the clouds now satisfy are dropped, the others
        kept; live states are dropped unless a run is going or they are errors."""
        self.matrix = matrix
        self._created = {r.key: row_created(r) for r in matrix.rows}
        if self.project is not None and self.project not in matrix.columns:
            self.project = None
        for key, per in list(self.desired.cells.items()):
            row = matrix.row(key)
            for ref, want in list(per.items()):
                present = row.cell(ref).present if row else False
                if row is None or present == want or ref not in matrix.columns:
                    self.desired.clear(key, ref)
        if not self.running:
            self.live = {k: v for k, v in self.live.items() if v.state is CellState.ERROR}
        self.recompute()

    def created(self, row: Row) -> float | None:
        return self._created.get(row.key)

    def recompute(self) -> None:
        """Apply the project, visibility and text filters and the sort order."""
        rows = self.matrix.filtered(self.project, self.visibility)
        if self.text:
            needle = self.text.lower()
            rows = [r for r in rows if needle in r.name.lower() or needle in r.content_key]
        if self.catalog is not None and self.visibility == "all":
            rows += self.catalog.rows_for(self.project, self.text)  # versions not made yet
            rows.sort(key=lambda r: (r.name.lower(), r.name, r.content_key))
        if self.sort == "size":
            rows.sort(key=lambda r: (-(r.size or 0), r.name.lower()))
        elif self.sort == "age":
            rows.sort(key=lambda r: (-(self._created.get(r.key) or 0), r.name.lower()))
        self.rows = rows

    def set_view(
        self,
        *,
        project: ProjectRef | None | str = "keep",
        visibility: str | None = None,
        text: str | None = None,
        sort: str | None = None,
    ) -> None:
        if project != "keep":
            self.project = project  # type: ignore[assignment]
        if visibility is not None:
            if visibility not in VISIBILITY_FILTERS:
                raise ValueError(visibility)
            self.visibility = visibility
        if text is not None:
            self.text = text.strip()
        if sort is not None:
            if sort not in SORTS:
                raise ValueError(sort)
            self.sort = sort
        self.recompute()

    # --- what a cell shows ---------------------------------------------------------------
    def state(self, row: Row, ref: ProjectRef) -> tuple[CellState, Live | None]:
        live = self.live.get((row.key, ref))
        if live is not None:
            return live.state, live
        cell = row.cell(ref)
        want = self.desired.wanted(row.key, ref)
        if want is True and not cell.present:
            return CellState.WANTED, None
        if want is False and cell.present:
            return CellState.UNWANTED, None
        return cell.state, None

    @property
    def pending(self) -> int:
        return sum(len(v) for v in self.desired.cells.values())

    @property
    def unapplied(self) -> int:
        """Toggles no run has carried out yet: what quitting now would lose. (A finished
        copy keeps its toggle until the refresh after the run confirms it.)"""
        count = 0
        for key, per in self.desired.cells.items():
            for ref, want in per.items():
                live = self.live.get((key, ref))
                done = CellState.PRESENT if want else CellState.ABSENT
                count += live is None or live.state is not done
        return count

    def refusal(self, row: Row, ref: ProjectRef) -> str | None:
        """Why the plan would refuse this cell's mark (None: no mark, or not refused)."""
        if self.desired.wanted(row.key, ref) is None:
            return None
        return self.refused.get((row.key, ref))

    def set_refusals(self, refused: dict[CellKey, str]) -> set[CellKey]:
        """The plan's latest word on the marks; returns the cells whose look changed."""
        changed = set(refused.items()) ^ set(self.refused.items())
        self.refused = refused
        return {key for key, _ in changed}

    # --- intents -------------------------------------------------------------------------
    def presence(self, row: Row, ref: ProjectRef) -> bool:
        """Whether the operator wants the image here (their toggle, else the truth)."""
        want = self.desired.wanted(row.key, ref)
        return row.cell(ref).present if want is None else want

    def _set(self, row: Row, ref: ProjectRef, present: bool) -> None:
        live = self.live.get((row.key, ref))
        if live is not None and live.state in RUNNING_STATES:
            return  # the engine owns this cell right now
        if live is not None and live.state is not CellState.ERROR:
            del self.live[(row.key, ref)]  # a finished state: the operator moves on
        if row.cell(ref).present == present:
            self.desired.clear(row.key, ref)
        else:
            self.desired.want(row.key, ref, present)

    def toggle(self, row: Row, ref: ProjectRef) -> bool:
        """Flip one cell between its current and the opposite wanted state.

        Returns False, changing nothing, for a locked cell (present, owned by another
        project): the plan would refuse to delete it, so it cannot be marked for deletion.
        """
        if row.cell(ref).state is CellState.LOCKED and self.presence(row, ref):
            return False
        self._set(row, ref, not self.presence(row, ref))
        return True

    def toggle_range(self, rows: Iterable[Row], refs: Iterable[ProjectRef], target: bool) -> None:
        """Set every cell of a block to ``target`` presence (locked cells are skipped when
        removing: they belong to another project and could never be deleted)."""
        refs = list(refs)
        for row in rows:
            for ref in refs:
                if not target and row.cell(ref).state is CellState.LOCKED:
                    continue
                self._set(row, ref, target)

    def clear(self, row: Row, ref: ProjectRef) -> None:
        """Forget an error and the toggle behind it: the cell shows the cloud's truth."""
        self.live.pop((row.key, ref), None)
        self.desired.clear(row.key, ref)

    def errors(self) -> list[CellKey]:
        return [k for k, v in self.live.items() if v.state is CellState.ERROR]

    def retry_desired(self, keys: Iterable[CellKey]) -> Desired:
        """The toggles behind failed cells, as a Desired of their own (for a retry plan)."""
        out = Desired()
        for key, ref in keys:
            want = self.desired.wanted(key, ref)
            if want is not None:
                out.want(key, ref, want)
        return out

    def take_retry(self, row: Row, ref: ProjectRef) -> tuple[list[CellKey], Desired]:
        """What ``R`` on (row, ref) retries: that cell if it failed, else every failed
        cell. Their errors are forgotten; returns the cells and the toggles behind them
        (empty when the clouds match them now)."""
        errors = self.errors()
        keys = [(row.key, ref)] if (row.key, ref) in errors else errors
        desired = self.retry_desired(keys)
        for key in keys:
            self.live.pop(key, None)
        return keys, desired

    def copy_into(self, row: Row, ref: ProjectRef) -> str | None:
        """The id of the copy action of the run going now that fills this cell: what
        ``x`` cancels. None when no copy of this row goes to *ref*."""
        run = self.run
        if run is None or run.finished:
            return None
        for action in run.plan.copies:
            if self._row_key(action) == row.key and ref in action.destinations:
                return action.id
        return None

    # --- engine events -------------------------------------------------------------------
    def cancelling(self, action_id: str, ref: ProjectRef) -> None:
        """``x`` was pressed on this destination: the panel says so before the engine does."""
        prog = self.run.actions.get(action_id) if self.run else None
        if prog is not None and ref in prog.destinations and ref not in prog.cancelled:
            prog.cancelling.add(ref)
            prog.phases.cancel_asked(ref)

    def start_run(self, plan: Plan) -> None:
        run = RunProgress(plan, total_bytes=plan.copy_bytes)
        for c in plan.copies:
            run.actions[c.id] = ActionProgress(
                c.id,
                "copy",
                c.name,
                c.bytes_out,
                destinations={t.ref: CellState.QUEUED for t in c.targets},
            )
            for t in c.targets:
                self.live[((c.name, c.content_key), t.ref)] = Live(CellState.QUEUED, action_id=c.id)
        for d in plan.deletes:
            run.actions[d.id] = ActionProgress(
                d.id, "delete", d.name, 0, destinations={d.ref: CellState.QUEUED}
            )
            self.live[((d.name, d.content_key), d.ref)] = Live(CellState.QUEUED, action_id=d.id)
        self.run = run

    def _row_key(self, action: CopyAction | DeleteAction) -> RowKey:
        return (action.name, action.content_key)

    def apply(self, event: Event) -> set[CellKey]:
        """Fold one engine event into the live states; returns the cells that changed."""
        run = self.run
        if run is None:
            return set()
        changed: set[CellKey] = set()
        if isinstance(event, RunStarted):
            run.total_bytes = event.total_bytes or run.total_bytes
        elif isinstance(event, CellChanged):
            action = run.plan.action(event.action_id)
            if action is None:
                return changed
            key = (self._row_key(action), event.ref)
            if event.state is CellState.ERROR and event.cancelled:
                # a cancelled destination is not a failure: show the toggle again
                self.live.pop(key, None)
                prog = run.actions.get(event.action_id)
                if prog is not None:
                    prog.destinations[event.ref] = CellState.WANTED
                    prog.cancelling.discard(event.ref)
                    prog.cancelled.add(event.ref)
                return {key}
            old = self.live.get(key)
            pct = old.percent if old and event.state is CellState.TRANSFERRING else None
            self.live[key] = Live(event.state, event.message, pct, event.action_id)
            prog = run.actions.get(event.action_id)
            if prog is not None:
                prog.destinations[event.ref] = event.state
                prog.phases.reach(event.ref, event.state)
                if event.state is CellState.ERROR and event.message:
                    prog.message = event.message
            changed.add(key)
        elif isinstance(event, CopyProgress):
            prog = run.actions.get(event.action_id)
            action = run.plan.action(event.action_id)
            if prog is None or action is None:
                return changed
            per = event.per_destination
            if not prog.total and event.total:  # a size learnt while fetching (catalog)
                prog.total = event.total * max(1, len(prog.destinations))
            before = prog.done
            prog.done = sum(per.values()) if per else event.bytes_read * len(prog.destinations)
            for ref in prog.destinations:
                prog.sent[ref] = per.get(str(ref), event.bytes_read)
            if prog.done > before:
                run.notice = ""  # "retrying in 8 s" is over once bytes move again
            prog.rate = event.rate * max(1, len(prog.destinations))
            prog.eta = event.eta
            total = event.total or getattr(action, "size", 0)
            for ref in prog.destinations:
                key = (self._row_key(action), ref)
                live = self.live.get(key)
                if live is None or live.state is not CellState.TRANSFERRING or not total:
                    continue
                pct = int(100 * min(per.get(str(ref), event.bytes_read), total) / total)
                if pct != live.percent:
                    live.percent = pct
                    changed.add(key)
        elif isinstance(event, ActionFinished):
            prog = run.actions.get(event.action_id)
            if prog is not None:
                prog.finished, prog.ok = True, event.ok
                prog.message = event.message or prog.message
                prog.rate = 0.0
        elif isinstance(event, Notice):
            run.notices.append(event.message)
            run.notice = event.message
        elif isinstance(event, RunFinished):
            run.finished, run.cancelled, run.exit_code = True, event.cancelled, event.exit_code
            run.notice = ""
            for prog in run.actions.values():
                prog.cancelled |= prog.cancelling if event.cancelled else set()
                prog.cancelling.clear()
            for key, live in list(self.live.items()):
                if live.state in RUNNING_STATES:
                    del self.live[key]  # never started, or cancelled: the refresh tells
                    changed.add(key)
        return changed

    @property
    def failed_actions(self) -> int:
        """Actions of the current (or last) run that ended in failure."""
        run = self.run
        return sum(1 for a in run.actions.values() if a.ok is False) if run else 0

    def finish_run(self, exit_code: int, cancelled: bool) -> None:
        """The engine returned (also covers an engine that raised before RunFinished)."""
        if self.run is not None and not self.run.finished:
            self.apply(RunFinished("", 0, 0, cancelled, exit_code))
