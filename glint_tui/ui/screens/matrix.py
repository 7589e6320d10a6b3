"""The matrix screen: what ``glint`` opens. Turns keys into intents on ``MatrixModel``
and runs every blocking call (inventory, plan, transfer) in a thread worker that talks
back only through messages.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from glint_tui.core import exitcodes
from glint_tui.core.desired import Desired
from glint_tui.core.errors import GlintError
from glint_tui.core.events import Event
from glint_tui.core.inventory import VISIBILITY_FILTERS
from glint_tui.core.model import CellState
from glint_tui.core.plan import Plan
from glint_tui.core.safetext import escape
from glint_tui.ui.backend import Backend
from glint_tui.ui.glyphs import dot, ellipsis
from glint_tui.ui.precheck import Prechecker
from glint_tui.ui.screens.matrix_messages import (
    EngineEvent,
    LoadFailed,
    MatrixLoaded,
    NoRepositories,
    PlanReady,
    RunDone,
)
from glint_tui.ui.screens.pickers import ALL, ProjectPicker, TextFilterModal
from glint_tui.ui.screens.plan_review import PlanReviewModal, Replan
from glint_tui.ui.screens.upload import ask_upload
from glint_tui.ui.state import SORTS, CellKey, MatrixModel
from glint_tui.ui.status_line import columns_text, status_text
from glint_tui.ui.widgets.details import DetailsPane
from glint_tui.ui.widgets.footer import GlintFooter
from glint_tui.ui.widgets.matrix_view import MatrixView, column_label
from glint_tui.ui.widgets.transfers import TransfersPanel

MUTATING = frozenset(
    {"toggle", "range", "apply", "cancel_transfer", "cancel_run", "retry", "clear_cell", "upload"}
)


class MatrixScreen(Screen):
    """Rows are images, columns are repository (project); see the help screen for keys."""

    BINDINGS = [
        Binding("space", "toggle", "Toggle", id="matrix.toggle"),
        Binding("v", "range", "Range", id="matrix.range"),
        Binding("a", "apply", "Apply", id="matrix.apply"),
        Binding("u", "upload", "Upload", show=False, id="matrix.upload"),
        Binding("slash", "text_filter", "Filter", id="matrix.filter"),
        Binding("f", "visibility", "Visibility", id="matrix.visibility"),
        Binding("p", "project", "Project", id="matrix.project"),
        Binding("s", "sort", "Sort", show=False, id="matrix.sort"),
        Binding("r", "refresh", "Refresh", id="matrix.refresh"),
        Binding("x", "cancel_transfer", "Cancel transfer", id="matrix.cancel"),
        Binding("X", "cancel_run", "Cancel run", show=False, id="matrix.cancel_run"),
        Binding("t", "transfers", "Transfers", show=False, id="matrix.transfers"),
        Binding("R", "retry", "Retry", show=False, id="matrix.retry"),
        Binding("c", "clear_cell", "Clear", show=False, id="matrix.clear"),
        Binding("escape", "unselect", "Unselect", show=False, id="matrix.unselect"),
        Binding("e", "repositories", "Repos", show=False, id="matrix.repositories"),
    ]

    run_failed_title = "Transfer engine failed"  # a run that raised: the toast's title

    def __init__(
        self,
        backend: Backend,
        model: MatrixModel,
        *,
        read_only: bool = False,
        refresh_interval: float | None = 120.0,
    ) -> None:
        super().__init__(id="matrix-screen")
        self.backend = backend
        self.model = model
        self.read_only = read_only
        self.refresh_interval = refresh_interval
        # Not Widget.loading: that would cover the whole screen with a loading indicator
        # on every refresh; the matrix stays visible and the status line says it instead.
        self._refreshing = False
        self.cancel_event: threading.Event | None = None
        self.quit_after_run = False
        self._panel_dirty = False
        self._dirty_cells: set[CellKey] = set()
        self._status_text = Content()
        self._status_right = ""
        self.precheck = Prechecker(self, backend, model, self._refusals_known)

    # --- layout --------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="status-bar"):
            yield Static("", id="status")
            yield Static("", id="status-right")
        yield MatrixView(self.model, id="matrix")
        yield DetailsPane(self.model, id="details")
        panel = TransfersPanel(id="transfers")
        panel.display = False
        yield panel
        yield GlintFooter()

    @property
    def refreshing(self) -> bool:
        """An inventory refresh is under way (the status line says so)."""
        return self._refreshing

    @refreshing.setter
    def refreshing(self, value: bool) -> None:
        self._refreshing = value
        if self.is_mounted:
            self.query_one(DetailsPane).busy = value

    @property
    def view(self) -> MatrixView:
        return self.query_one(MatrixView)

    def on_mount(self) -> None:
        self.view.focus()
        self.update_status()
        self.query_one(DetailsPane).show(self.view.row, self.view.ref)
        self.set_interval(0.1, self._flush)
        if self.refresh_interval:
            self.set_interval(self.refresh_interval, self._auto_refresh)
        self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MUTATING and self.read_only:
            return False
        if action == "repositories" and self.read_only:
            return False
        if action in ("cancel_run", "cancel_transfer"):
            return self.model.running
        if action in ("toggle", "range", "apply", "upload") and self.model.running:
            return None
        return True

    def tell(self, text: str, **kwargs: object) -> None:
        """A notification whose *text* holds names or errors from a cloud: escaped, and
        not read as markup (``[/]`` in an image name must not break the toast)."""
        self.notify(escape(text), markup=False, **kwargs)  # type: ignore[arg-type]

    # --- status line ---------------------------------------------------------------------
    def update_status(self) -> None:
        """The status line (``ui.status_line``: Content, never markup) and its right side."""
        ranging = bool(self.query(MatrixView)) and self.view.anchor is not None
        text = status_text(self.model, read_only=self.read_only, ranging=ranging)
        if text != self._status_text:
            self._status_text = text
            self.query_one("#status", Static).update(text, layout=False)
        shown = self.view.columns_shown() if self.query(MatrixView) else None
        right = [columns_text(len(self.model.columns), shown)]
        if self.refreshing:
            right.append(f"[i]refreshing{ellipsis()}[/i]")
        right_text = dot().join(p for p in right if p)
        if right_text != self._status_right:
            self._status_right = right_text
            self.query_one("#status-right", Static).update(right_text)

    def on_matrix_view_scrolled(self, event: MatrixView.Scrolled) -> None:
        self.update_status()

    def on_matrix_view_cursor_moved(self, event: MatrixView.CursorMoved) -> None:
        self.query_one(DetailsPane).show(event.row, event.ref)
        self.update_status()

    def _after_view_change(self) -> None:
        self.view.refresh()
        self.query_one(DetailsPane).show(self.view.row, self.view.ref)
        self.update_status()

    # --- loading -------------------------------------------------------------------------
    def action_refresh(self) -> None:
        self.load()

    def _auto_refresh(self) -> None:
        if self.app.screen is self and not self.refreshing and not self.model.running:
            self.load()

    def load(self) -> None:
        self.refreshing = True
        self.update_status()
        if not self.model.matrix.rows:
            self.query_one(DetailsPane).show(self.view.row, self.view.ref)
        self._load_worker()

    @work(thread=True, exclusive=True, group="load")
    def _load_worker(self) -> None:
        try:
            if not self.backend.has_repositories():
                self.post_message(NoRepositories())
                return
            self.post_message(MatrixLoaded(self.backend.load_matrix()))
        except GlintError as e:
            self.post_message(LoadFailed(str(e)))

    def on_matrix_loaded(self, message: MatrixLoaded) -> None:
        view = self.view
        row, ref = view.row, view.ref
        self.refreshing = False
        self.model.set_matrix(message.matrix)
        # An inventory is tens of thousands of long-lived records; without this, each
        # full garbage-collector pass rescans them all and stalls frames by ~70 ms.
        # (Frozen objects are still freed by reference counting when a refresh drops them.)
        gc.freeze()
        self._restore_cursor(row.key if row else None, ref)
        self._after_view_change()
        if self.model.pending:
            self.precheck.request()

    def _restore_cursor(self, key, ref) -> None:  # type: ignore[no-untyped-def]
        view = self.view
        view.reload()
        rows = [r.key for r in self.model.rows]
        r = rows.index(key) if key in rows else view.cursor_row
        c = self.model.columns.index(ref) if ref in self.model.columns else view.cursor_col
        view.cursor_row, view.cursor_col = -1, -1
        view.set_cursor(r, c)

    def on_load_failed(self, message: LoadFailed) -> None:
        self.refreshing = False
        self.update_status()
        self.tell(message.error, title="Refresh failed", severity="error", timeout=10)

    def on_no_repositories(self, message: NoRepositories) -> None:
        self.refreshing = False
        self.update_status()
        self.app.show_welcome()  # type: ignore[attr-defined]

    # --- view settings -------------------------------------------------------------------
    def action_visibility(self) -> None:
        filters = list(VISIBILITY_FILTERS)
        nxt = filters[(filters.index(self.model.visibility) + 1) % len(filters)]
        self._change_view(visibility=nxt)

    def action_sort(self) -> None:
        nxt = SORTS[(SORTS.index(self.model.sort) + 1) % len(SORTS)]
        self._change_view(sort=nxt)

    def action_project(self) -> None:
        def chosen(result: object) -> None:
            if result is None:
                return
            self._change_view(project=None if result == ALL else result)

        self.app.push_screen(ProjectPicker(self.model.columns, self.model.project), chosen)

    def action_text_filter(self) -> None:
        def chosen(text: str | None) -> None:
            if text is not None:
                self._change_view(text=text)

        self.app.push_screen(TextFilterModal(self.model.text), chosen)

    def _change_view(self, **kwargs: object) -> None:
        row, ref = self.view.row, self.view.ref
        self.view.anchor = None
        self.model.set_view(**kwargs)  # type: ignore[arg-type]
        self._restore_cursor(row.key if row else None, ref)
        self._after_view_change()

    # --- toggles -------------------------------------------------------------------------
    def action_toggle(self) -> None:
        view = self.view
        row, ref = view.row, view.ref
        if row is None or ref is None:
            return
        if view.anchor is not None:
            rows, refs = view.selection()
            target = not self.model.presence(row, ref)
            self.model.toggle_range(rows, refs, target)
            view.anchor = None
            view.refresh()
            self.update_status()
            self.precheck.request()
        else:
            state, _ = self.model.state(row, ref)
            if state is CellState.ERROR:
                self.notify("This cell failed: R retries it, c clears it.", timeout=4)
                return
            if not self.model.toggle(row, ref):
                self.notify(
                    "Owned by another project: glint will not delete it.",
                    title=f"{column_label(ref)} is locked",
                    severity="warning",
                    timeout=5,
                )
                return
            view.refresh_cursor_line()
            self.precheck.request((row.key, ref))
        self.query_one(DetailsPane).show(view.row, view.ref)
        self.update_status()

    def _refusals_known(self, changed: set[CellKey], why: str | None) -> None:
        """The plan's answer on the marks (``ui.precheck``): redraw, and say it at once
        when the cell just marked will be refused."""
        self.view.refresh_cells(changed)
        self.query_one(DetailsPane).show(self.view.row, self.view.ref)
        if why:
            self.tell(why, title="The plan will refuse this", severity="warning", timeout=6)

    def action_range(self) -> None:
        view = self.view
        view.anchor = None if view.anchor else (view.cursor_row, view.cursor_col)
        view.refresh()
        self.update_status()

    def action_unselect(self) -> None:
        if self.view.anchor is not None:
            self.view.anchor = None
            self.view.refresh()
            self.update_status()

    def action_clear_cell(self) -> None:
        row, ref = self.view.row, self.view.ref
        if row is None or ref is None:
            return
        self.model.clear(row, ref)
        self.view.refresh_cursor_line()
        self._after_view_change()
        self.precheck.request()

    # --- plan and run --------------------------------------------------------------------
    def action_apply(self) -> None:
        if not self.model.pending:
            self.notify("Nothing toggled yet: space marks cells to copy or delete.", timeout=4)
            return
        self._plan_worker(self.model.desired)

    def action_retry(self) -> None:
        row, ref = self.view.row, self.view.ref
        if row is None or ref is None:
            return
        keys, desired = self.model.take_retry(row, ref)
        if not keys:
            self.notify("No failed cell to retry.", timeout=3)
            return
        self.view.refresh()
        if not desired:
            self.notify("Nothing to retry: those cells match the clouds now.", timeout=4)
            return
        self._plan_worker(desired)

    @work(thread=True, exclusive=True, group="plan")
    def _plan_worker(self, desired: Desired) -> None:
        try:
            plan = self.backend.make_plan(self.model.matrix, desired)
            self.post_message(PlanReady(plan, desired))
        except GlintError as e:
            self.post_message(LoadFailed(str(e)))

    def on_plan_ready(self, message: PlanReady) -> None:
        desired, matrix = message.desired, self.model.matrix
        replan = desired and (lambda how: self.backend.make_plan(matrix, desired, how))
        self.review(message.plan, replan or None)

    def review(self, plan: Plan, replan: Replan | None = None) -> None:
        """The plan review (conflicts answered there, with *replan*); the run starts only
        when the operator confirms the plan the review ends with."""
        modal = PlanReviewModal(plan, replan)
        self.app.push_screen(modal, lambda ok: self.start_run(modal.plan) if ok else None)

    def action_upload(self) -> None:
        """u: a new image from a file (``ui.screens.upload``), then the usual review."""
        ask_upload(self, self.backend, self.model.columns, self.view.ref, self.review)

    def start_run(self, plan: Plan) -> None:
        self.model.start_run(plan)
        self._run_worker(plan, self.show_run())

    def show_run(self) -> threading.Event:
        """The run the model just started: the transfers panel, keys, a cancel event."""
        panel = self.query_one(TransfersPanel)
        assert self.model.run is not None
        panel.start(self.model.run)
        self.view.refresh()
        self.refresh_bindings()
        self.update_status()
        self.cancel_event = threading.Event()
        return self.cancel_event

    @work(thread=True, exclusive=True, group="run")
    def _run_worker(self, plan: Plan, cancel: threading.Event) -> None:
        self.report_run(lambda on_event: self.backend.run_plan(plan, cancel, on_event), cancel)

    def report_run(
        self, run: Callable[[Callable[[Event], None]], int], cancel: threading.Event
    ) -> None:
        """In a run worker: *run* with engine events as messages, then ``RunDone``."""
        try:
            code = run(lambda e: self.post_message(EngineEvent(e)))
            self.post_message(RunDone(code, cancel.is_set() or code == 130))  # 130: all cancelled
        except GlintError as e:
            self.post_message(RunDone(e.exit_code, cancel.is_set(), str(e)))
        except Exception as e:  # the UI must survive an engine bug and say what happened
            self.post_message(RunDone(1, cancel.is_set(), f"{type(e).__name__}: {e}"))

    def on_engine_event(self, message: EngineEvent) -> None:
        """Fold the event into the model now; repaint at most every 100 ms (_flush)."""
        self._dirty_cells |= self.model.apply(message.event)
        self._panel_dirty = True

    def _flush(self) -> None:
        if self._dirty_cells:
            cells, self._dirty_cells = self._dirty_cells, set()
            self.view.refresh_cells(cells)
        if self._panel_dirty:
            self._panel_dirty = False
            self.query_one(TransfersPanel).update_all()

    def on_run_done(self, message: RunDone) -> None:
        self.model.finish_run(message.exit_code, message.cancelled)
        self._flush()
        self.query_one(TransfersPanel).update_all()
        failed = self.model.failed_actions
        if message.error:
            self.tell(message.error, title=self.run_failed_title, severity="error")
        elif message.cancelled:
            self.notify("Run cancelled.", severity="warning")
        elif failed:
            self.notify(
                f"{failed} action{'s' if failed != 1 else ''} failed: the red ! cells say why"
                " (R retry, c clear).",
                severity="error",
                timeout=8,
            )
        else:
            self.notify("Run finished: every cell verified.")
            # a run that went well needs no more room: the panel folds away (t shows it)
            self.set_timer(3, lambda: self.action_transfers(shown=False))
        self.cancel_event = None
        self.refresh_bindings()
        if self.quit_after_run:  # q, ctrl+c or SIGTERM during the run: interrupted
            self.app.exit(exitcodes.INTERRUPTED if message.cancelled else message.exit_code)
            return
        self.view.refresh()
        self.load()

    def action_cancel_transfer(self) -> None:
        """x: cancel only the copy into the cell under the cursor (others continue)."""
        row, ref = self.view.row, self.view.ref
        if row is None or ref is None:
            return
        action_id = self.model.copy_into(row, ref)
        if action_id is None:
            self.notify("No transfer in this cell (X cancels the whole run).", timeout=4)
        elif self.backend.cancel_action(action_id, ref):
            self.model.cancelling(action_id, ref)  # the panel says it now, not when it is over
            self._panel_dirty = True
            self.tell(f"Cancelling the copy of {row.name} to {ref}…", timeout=4)
        else:
            self.notify("That copy has already finished.", timeout=3)

    def action_transfers(self, shown: bool | None = None) -> None:
        """t: hide or show the transfers panel (there is one once a plan has run)."""
        panel = self.query_one(TransfersPanel)
        if self.model.run is None:
            self.notify("No run yet: the transfers panel opens when a plan runs.", timeout=3)
        elif not (shown is False and self.model.running):  # a new run keeps it open
            panel.display = not panel.display if shown is None else shown

    def action_cancel_run(self) -> None:
        if self.cancel_event is not None and not self.cancel_event.is_set():
            self.cancel_event.set()
            self.notify("Cancelling: half-made images are being cleaned up…", timeout=4)

    def action_repositories(self) -> None:
        self.app.show_repositories()  # type: ignore[attr-defined]
