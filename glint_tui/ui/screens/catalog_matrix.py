"""The matrix with a catalog file open (``glint --catalog FILE``): every refresh also
plans the catalog against the inventory just listed, so rows of catalog images show their
version and cells show what the catalog wants there; ``C`` plans it afresh, shows it in
the plan review and, once confirmed, runs it with live progress in the matrix and the
transfers panel — what ``glint catalog apply FILE`` does after its review.

Planning (the columns listed, the mirrors' checksum files read, the in-use checks) and
the run are blocking calls: thread workers, which talk back only through messages.
"""

from __future__ import annotations

import threading

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message

from glint_tui.core.catalog.steps import CatalogPlan
from glint_tui.core.errors import GlintError
from glint_tui.core.inventory import Matrix
from glint_tui.core.plan import Plan
from glint_tui.ui.backend import CatalogBackend
from glint_tui.ui.catalog_view import MEANINGS, CatalogOverlay, start_catalog_run, word_style
from glint_tui.ui.screens.catalog_review import CatalogReviewModal
from glint_tui.ui.screens.matrix import MatrixScreen
from glint_tui.ui.screens.matrix_messages import MatrixLoaded, RunDone
from glint_tui.ui.state import MatrixModel
from glint_tui.ui.widgets.catalog_bar import CatalogBar
from glint_tui.ui.widgets.footer import GlintFooter
from glint_tui.ui.widgets.matrix_view import MatrixView


class CatalogPlanned(Message):
    """A catalog plan made against *matrix*; *review*: the operator asked for it (C)."""

    def __init__(self, matrix: Matrix, plan: CatalogPlan, review: bool) -> None:
        super().__init__()
        self.matrix, self.plan, self.review = matrix, plan, review


class CatalogFailed(Message):
    def __init__(self, error: str, review: bool) -> None:
        super().__init__()
        self.error, self.review = error, review


class CatalogMatrixScreen(MatrixScreen):
    """The matrix screen plus one catalog file: its marks, its bar, and ``C``."""

    BINDINGS = [
        Binding("C", "catalog_review", "Catalog", id="matrix.catalog"),
    ]

    def __init__(
        self,
        backend: CatalogBackend,
        model: MatrixModel,
        catalog: str,
        *,
        read_only: bool = False,
        refresh_interval: float | None = 120.0,
    ) -> None:
        super().__init__(backend, model, read_only=read_only, refresh_interval=refresh_interval)
        self.catalog_backend = backend
        self.catalog_path = catalog

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, GlintFooter):
                yield CatalogBar(self.catalog_path, id="catalog-bar")
            yield widget

    def legend_rows(self) -> list[tuple[Text, str]]:
        """The help screen's legend: the words an open catalog puts in cells."""
        rows = [(Text(w, style=word_style(w)), m) for w, m in MEANINGS.items()]
        rows.append((Text("hide+", style=word_style("hide")), "catalog: that and more here"))
        return rows + [(Text("20261101", style="cyan"), "catalog: the row's version")]

    @property
    def bar(self) -> CatalogBar:
        return self.query_one(CatalogBar)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "catalog_review":
            if self.read_only:
                return False
            return None if self.model.running else True
        return super().check_action(action, parameters)

    # --- planning ------------------------------------------------------------------------
    def on_matrix_loaded(self, message: MatrixLoaded) -> None:
        """Every inventory is planned against (MatrixScreen's own handler runs too)."""
        self.bar.planning()
        self._catalog_worker(message.matrix, False)

    def action_catalog_review(self) -> None:
        """C: list the columns afresh, plan the catalog, review it, run it."""
        self.bar.planning()
        self.notify("Planning the catalog: listing every column, reading the mirrors…")
        self._catalog_worker(None, True)

    @work(thread=True, exclusive=True, group="catalog")
    def _catalog_worker(self, matrix: Matrix | None, review: bool) -> None:
        try:
            fresh, plan = self.catalog_backend.catalog_plan(self.catalog_path, matrix)
            self.post_message(CatalogPlanned(fresh, plan, review))
        except GlintError as e:
            self.post_message(CatalogFailed(str(e), review))

    def on_catalog_failed(self, message: CatalogFailed) -> None:
        self.bar.failed(message.error)
        self._set_overlay(None)
        if message.review:
            self.tell(message.error, title="Catalog plan failed", severity="error", timeout=10)

    def on_catalog_planned(self, message: CatalogPlanned) -> None:
        if message.matrix is not self.model.matrix:
            if not message.review or self.model.running:
                return  # planned against an inventory already replaced
            MatrixScreen.on_matrix_loaded(self, MatrixLoaded(message.matrix))
        self._set_overlay(CatalogOverlay.build(self.catalog_path, message.plan, message.matrix))
        if not message.review:
            return
        plan = message.plan

        def decided(ok: bool | None) -> None:
            if ok and not self.model.running:
                self.start_catalog(plan)

        self.app.push_screen(CatalogReviewModal(plan, self.catalog_path), decided)

    def _set_overlay(self, overlay: CatalogOverlay | None) -> None:
        view = self.view
        row, ref = view.row, view.ref
        self.model.catalog = overlay
        self.model.recompute()
        self._restore_cursor(row.key if row else None, ref)
        self._after_view_change()
        if overlay is not None:
            self.bar.planned(overlay)
        self.bar.show(self.view.row, self.view.ref)

    def on_matrix_view_cursor_moved(self, event: MatrixView.CursorMoved) -> None:
        self.bar.show(event.row, event.ref)

    # --- the run -------------------------------------------------------------------------
    def start_run(self, plan: Plan) -> None:
        self.run_failed_title = MatrixScreen.run_failed_title  # a toggled plan's run
        super().start_run(plan)

    def start_catalog(self, plan: CatalogPlan) -> None:
        overlay = self.model.catalog
        assert overlay is not None and overlay.plan is plan
        self.run_failed_title = "Catalog run failed"
        start_catalog_run(self.model, overlay)
        self._catalog_run_worker(plan, self.show_run())

    @work(thread=True, exclusive=True, group="run")
    def _catalog_run_worker(self, plan: CatalogPlan, cancel: threading.Event) -> None:
        path = self.catalog_path
        self.report_run(
            lambda on_event: self.catalog_backend.run_catalog(path, plan, cancel, on_event),
            cancel,
        )

    def on_run_done(self, message: RunDone) -> None:
        """The plan ran: its marks are history until the refresh after it is planned
        (MatrixScreen's own handler, which refreshes, runs too)."""
        self.model.catalog = None
        self.model.recompute()
        self.view.reload()
        self.bar.planning()
