"""Leaving glint: ctrl+c asks like q, a second ctrl+c quits once the run is cleaned up,
never nothing (fixed data, and the real engine on FAKE clouds for a run in flight)."""

from __future__ import annotations

import pytest

from glint_tui.core import exitcodes
from glint_tui.core.model import ProjectRef
from glint_tui.ui.app import GlintApp
from glint_tui.ui.backend import StaticBackend
from glint_tui.ui.sample_data import FIXED_NOW, sample_matrix
from glint_tui.ui.screens.plan_review import PlanReviewModal
from glint_tui.ui.screens.quitting import QuitQuestion
from tests.fakebed import FakeBed, MiB
from tests.helpers import random_bytes, wait_until
from tests.ui_helpers import FakeBedBackend, cursor_to, run_app, wait_for_review


@pytest.fixture(autouse=True)
def _unicode_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("GLINT_ASCII", raising=False)


def _app(backend=None) -> GlintApp:
    backend = backend or StaticBackend(sample_matrix())
    return GlintApp(backend, now=lambda: FIXED_NOW, refresh_interval=None)


def test_ctrl_c_with_nothing_to_lose_quits_at_once():
    async def body():
        app = _app()
        async with app.run_test() as pilot:
            await wait_until(pilot, lambda: app.main and app.main.model.rows, 10, "rows")
            await pilot.press("ctrl+c")
            await wait_until(pilot, lambda: app.return_code is not None, 5, "glint quits")
        return app.return_value

    assert run_app(body) == exitcodes.OK


def test_ctrl_c_with_pending_marks_asks_and_a_second_ctrl_c_quits():
    async def body():
        app = _app()
        async with app.run_test() as pilot:
            await wait_until(pilot, lambda: app.main and app.main.model.rows, 10, "rows")
            await pilot.press("space")
            await pilot.press("ctrl+c")
            await wait_until(pilot, lambda: isinstance(app.screen, QuitQuestion), 5, "question")
            assert app.return_code is None, "the first ctrl+c only asks"
            await pilot.press("n")  # Stay: the marks are kept, and ctrl+c asks again
            await wait_until(pilot, lambda: app.screen is app.main, 5, "back")
            assert app.main.model.pending == 1
            await pilot.press("ctrl+c")
            await wait_until(pilot, lambda: isinstance(app.screen, QuitQuestion), 5, "asked again")
            await pilot.press("ctrl+c")
            await wait_until(pilot, lambda: app.return_code is not None, 5, "glint quits")
        return app.return_value

    assert run_app(body) == exitcodes.OK


def test_a_second_ctrl_c_during_a_run_cancels_it_cleans_up_and_quits(tmp_path):
    bed = FakeBed(tmp_path)
    image = bed.put("c1:alpha", "big-image", random_bytes(16 * MiB))
    bed.cloud("c1").slow("download", rate=1 * MiB)  # a copy that takes 16 s
    backend = FakeBedBackend(bed)

    async def body():
        app = _app(backend)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.main
            await wait_until(pilot, lambda: screen.model.rows, 10, "rows")
            row = next(r for r, x in enumerate(screen.model.rows) if x.name == "big-image")
            await pilot.press(*["j"] * row)
            await cursor_to(pilot, ProjectRef("c2", "alpha"))
            await pilot.press("space", "a")
            await wait_for_review(pilot)
            await pilot.press("y")
            await wait_until(pilot, lambda: not isinstance(app.screen, PlanReviewModal), 5, "run")
            moved = lambda: screen.model.run and screen.model.run.done_bytes > 0  # noqa: E731
            await wait_until(pilot, moved, 10, "bytes moving")
            assert screen.model.running
            await pilot.press("ctrl+c")
            await wait_until(pilot, lambda: isinstance(app.screen, QuitQuestion), 5, "question")
            assert screen.model.running, "asking cancels nothing"
            await pilot.press("ctrl+c")
            await wait_until(pilot, lambda: app.return_code is not None, 30, "quit after cleanup")
        return app.return_value

    code = run_app(body)
    assert code == exitcodes.INTERRUPTED
    assert [i for i in bed.at("c2:alpha", "big-image")] == [], "the half-made copy is removed"
    assert image.status == "active"
