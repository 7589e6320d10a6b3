"""Every key has an id and is reachable from the help screen and the command palette;
read-only mode removes the mutating ones from all three (fixed data, no network)."""

from __future__ import annotations

from textual.binding import Binding

from glint_tui.ui.app import GlintApp
from glint_tui.ui.backend import StaticBackend
from glint_tui.ui.sample_data import FIXED_NOW, sample_matrix
from glint_tui.ui.screens import confirm, forms, master_password, pickers, plan_review
from glint_tui.ui.screens.help import HelpScreen
from glint_tui.ui.screens.matrix import MatrixScreen
from glint_tui.ui.screens.repositories import ImportPathModal, RepositoriesScreen
from glint_tui.ui.screens.welcome import WelcomeScreen
from glint_tui.ui.widgets.matrix_view import MatrixView
from tests.ui_helpers import run_app, screen_text, wait_until

OUR_SCREENS = [
    GlintApp,
    MatrixScreen,
    MatrixView,
    RepositoriesScreen,
    ImportPathModal,
    WelcomeScreen,
    HelpScreen,
    confirm.ConfirmModal,
    confirm.TypedConfirmModal,
    forms.RepositoryForm,
    forms.CredentialForm,
    master_password.MasterPasswordModal,
    pickers.ProjectPicker,
    pickers.TextFilterModal,
    plan_review.PlanReviewModal,
]
MUTATING = {"Toggle", "Range", "Apply", "Retry", "Clear", "Repos"}


def _commands(read_only: bool) -> tuple[set[str], str, set[str | None]]:
    async def body():
        app = GlintApp(
            StaticBackend(sample_matrix()),
            now=lambda: FIXED_NOW,
            refresh_interval=None,
            read_only=read_only,
        )
        async with app.run_test(size=(120, 50)) as pilot:
            await wait_until(pilot, lambda: app.main and app.main.model.rows, 10, "rows")
            screen = app.main
            titles = {c.title.split(" (")[0] for c in app.get_system_commands(screen)}
            ids = {b.binding.id for b in screen.active_bindings.values()}
            await pilot.press("f1")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), 5, "help")
            await pilot.pause()
            return titles, screen_text(app), ids

    return run_app(body)


def test_every_binding_has_an_id_in_help_and_palette():
    titles, help_text, ids = _commands(read_only=False)
    ours = [b for cls in OUR_SCREENS for b in cls.BINDINGS]
    assert ours and all(isinstance(b, Binding) and b.id for b in ours)
    runs_only = {"matrix.cancel", "matrix.cancel_run"}  # x, X: only while a run goes
    assert {b.id for b in MatrixScreen.BINDINGS} <= ids | runs_only
    assert titles >= MUTATING
    for ident in ("matrix.toggle", "matrix.apply", "matrix.filter", "matrix.project", "app.help"):
        assert ident in help_text


def test_read_only_palette_and_help_have_no_mutating_action():
    titles, help_text, _ = _commands(read_only=True)
    assert not MUTATING & titles
    assert "matrix.toggle" not in help_text and "matrix.filter" in help_text
