"""Every key has an id and is reachable from the help screen and the command palette;
read-only mode offers nothing that changes anything (fixed data, no network)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from textual.binding import Binding

import glint_tui.ui
from glint_tui.core.model import CellState
from glint_tui.ui.app import GlintApp
from glint_tui.ui.backend import StaticBackend
from glint_tui.ui.sample_data import FIXED_NOW, sample_matrix
from glint_tui.ui.screens.help import HelpScreen
from tests.helpers import wait_until
from tests.ui_helpers import run_app, screen_text


def _our_classes_with_bindings() -> list[type]:
    """Every class in glint_tui.ui that declares its own BINDINGS (found, not listed)."""
    found = []
    for info in pkgutil.walk_packages(glint_tui.ui.__path__, "glint_tui.ui."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and "BINDINGS" in vars(cls):
                found.append(cls)
    return found


def test_every_binding_of_every_screen_and_widget_has_a_unique_id():
    classes = _our_classes_with_bindings()
    assert {"GlintApp", "MatrixScreen", "MatrixView", "CredentialForm"} <= {
        c.__name__ for c in classes
    }
    for cls in classes:
        bindings = vars(cls)["BINDINGS"]
        assert all(isinstance(b, Binding) and b.id for b in bindings), cls
        ids = [b.id for b in bindings]
        assert len(ids) == len(set(ids)), cls


QUITS = ("app.quit", "app.interrupt")


class RecordingBackend(StaticBackend):
    """The fixed inventory, noting every plan asked for and every run started."""

    def __init__(self) -> None:
        super().__init__(sample_matrix())
        self.calls: list[str] = []

    def make_plan(self, matrix, desired, choices=None):
        self.calls.append("make_plan")
        return super().make_plan(matrix, desired, choices)

    def run_plan(self, plan, cancel, on_event):
        self.calls.append("run_plan")
        return super().run_plan(plan, cancel, on_event)


def _app(backend, read_only: bool) -> GlintApp:
    return GlintApp(backend, now=lambda: FIXED_NOW, refresh_interval=None, read_only=read_only)


async def _on_an_absent_cell(pilot) -> None:
    """Put the cursor where a toggle would plan a copy (so a toggle would show)."""
    screen = pilot.app.main
    await wait_until(pilot, lambda: screen.model.rows, 10, "rows")
    model, view = screen.model, screen.view
    r, c = next(
        (r, c)
        for r, row in enumerate(model.rows)
        for c, ref in enumerate(model.columns)
        if model.state(row, ref)[0] is CellState.ABSENT
    )
    await pilot.press("home", *["l"] * c, *["j"] * r)
    assert (view.cursor_row, view.cursor_col) == (r, c)


def test_every_enabled_key_is_in_the_help_with_its_id_and_in_the_palette():
    async def body():
        app = _app(StaticBackend(sample_matrix()), read_only=False)
        async with app.run_test(size=(140, 70)) as pilot:
            await _on_an_absent_cell(pilot)
            screen = app.main
            enabled: dict[str, list[Binding]] = {}  # action -> its bindings (q and ctrl+q)
            for active in screen.active_bindings.values():
                if active.enabled and active.binding.id:
                    enabled.setdefault(active.binding.action, []).append(active.binding)
            titles = {c.title.split(" (")[0] for c in app.get_system_commands(screen)}
            await pilot.press("f1")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), 5, "help")
            await pilot.pause()
            return enabled, titles, screen_text(app)

    enabled, titles, help_text = run_app(body)
    assert len(enabled) > 10
    missing_help = sorted(a for a, bs in enabled.items() if not any(b.id in help_text for b in bs))
    assert missing_help == []
    missing_palette = sorted(a for a, bs in enabled.items() if bs[0].description not in titles)
    assert missing_palette == []


def test_read_only_offers_no_action_that_changes_anything():
    """Every palette command of the read-only matrix is run: none plans, runs, toggles
    or opens the repository editor."""
    from glint_tui.ui.screens.repositories import RepositoriesScreen

    backend = RecordingBackend()

    async def body():
        app = _app(backend, read_only=True)
        async with app.run_test(size=(120, 50)) as pilot:
            await _on_an_absent_cell(pilot)
            screen = app.main
            commands = [
                c
                for c in app.get_system_commands(screen)
                # quitting keys leave the app: nothing after them would run
                if c.help.startswith("key ") and not any(q in c.help for q in QUITS)
            ]
            assert len(commands) > 5
            ran = []
            for command in commands:
                done = command.callback()
                if inspect.isawaitable(done):
                    await done
                await pilot.pause()
                ran.append(command.help)
                assert screen.model.pending == 0, command.help
                assert not isinstance(app.screen, RepositoriesScreen), command.help
                while app.screen is not screen:
                    await pilot.press("escape")
                    await pilot.pause()
            return ran

    ran = run_app(body)
    assert backend.calls == [], ran
