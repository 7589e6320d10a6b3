"""Honest progress in the transfers panel: ``x`` shows that destination cancelling at once
and then cancelled while the other goes on; the overall bar says how the run ended (with
counts) and is not full when something failed or was cancelled; rate and ETA wait for
bytes; each destination of a fan-out has its own state and bytes; a notice goes once it
is no longer true; t hides the panel and a run that went well folds it away. The real
engine on FAKE clouds: a slow link and a 503 on cue (``tests/fakecloud.py`` says what
that does not prove)."""

from __future__ import annotations

import pytest
from textual.widgets import Label, ProgressBar

from glint_tui.core.errors import ServerError
from glint_tui.core.events import CopyProgress, Notice
from glint_tui.core.model import ProjectRef
from glint_tui.ui.app import GlintApp
from glint_tui.ui.sample_data import FIXED_NOW
from glint_tui.ui.state import MatrixModel
from glint_tui.ui.widgets.transfers import ActionLine, TransfersPanel
from tests.fakebed import FakeBed, MiB
from tests.helpers import random_bytes, wait_until
from tests.ui_helpers import FakeBedBackend, cursor_to, run_app, wait_for_review

C2, C3 = ProjectRef("c2", "alpha"), ProjectRef("c3", "alpha")


@pytest.fixture(autouse=True)
def _unicode_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("GLINT_ASCII", raising=False)


async def _copy_to_c2_and_c3(pilot, app) -> None:
    """Mark the only image for c2:alpha and c3:alpha, review, confirm."""
    await wait_until(pilot, lambda: app.main and app.main.model.rows, 10, "rows")
    await cursor_to(pilot, C2)
    await pilot.press("space")
    await cursor_to(pilot, C3)
    await pilot.press("space", "a")
    await wait_for_review(pilot)
    await pilot.press("y")
    await wait_until(pilot, lambda: app.main.model.run is not None, 5, "the run")


def _texts(app) -> tuple[str, str]:
    panel = app.main.query_one(TransfersPanel)
    line = panel.query_one(ActionLine).query_one(".action-info", Label)
    return str(line.render()), str(panel.query_one("#overall-info", Label).render())


def test_x_shows_that_destination_cancelling_then_cancelled_and_the_other_goes_on(tmp_path):
    bed = FakeBed(tmp_path)
    bed.put("c1:alpha", "big-image", random_bytes(6 * MiB))
    bed.cloud("c2").slow("upload", rate=1 * MiB)
    bed.cloud("c3").slow("upload", rate=2 * MiB)

    async def body():
        app = GlintApp(FakeBedBackend(bed), now=lambda: FIXED_NOW, refresh_interval=None)
        async with app.run_test(size=(120, 30)) as pilot:
            await _copy_to_c2_and_c3(pilot, app)
            screen = app.main
            shown = lambda: "/s" in _texts(app)[1] and "eta" in _texts(app)[1]  # noqa: E731
            await wait_until(pilot, shown, 10, "rate and ETA once bytes move")
            assert screen.model.run.done_bytes > 0
            await cursor_to(pilot, C2)
            await pilot.press("x")
            await pilot.pause(0.2)
            info, _ = _texts(app)
            assert "c2:alpha: cancelling" in info or "c2:alpha: cancelled" in info, info
            cancelled = lambda: "c2:alpha: cancelled" in _texts(app)[0]  # noqa: E731
            await wait_until(pilot, cancelled, 15, "c2 cancelled")
            assert "c3:alpha: cancel" not in _texts(app)[0], "the other goes on"
            await wait_until(pilot, lambda: screen.model.run.finished, 30, "the run ends")
            await pilot.pause(0.2)
            _, overall = _texts(app)
            bar = screen.query_one("#overall", ProgressBar)
            return overall, bar.percentage, screen.query_one(TransfersPanel).display

    overall, percentage, shown = run_app(body)
    assert overall == "1 CANCELLED · 1 done"
    assert percentage is not None and percentage < 1, "the bar does not fill on a cancel"
    assert shown, "a run that did not go well keeps its panel open"
    assert bed.at("c2:alpha", "big-image") == []
    [copy] = bed.at("c3:alpha", "big-image")
    assert copy.status == "active"


def test_a_failed_destination_ends_the_bar_as_failed_with_counts(tmp_path):
    bed = FakeBed(tmp_path)
    bed.put("c1:alpha", "img", random_bytes(1 * MiB))
    bed.cloud("c2").fail("create", ServerError("server error 503 (fake)", "c2:alpha", 503),
                         times=None)  # fmt: skip

    async def body():
        app = GlintApp(FakeBedBackend(bed), now=lambda: FIXED_NOW, refresh_interval=None)
        async with app.run_test(size=(80, 24)) as pilot:
            await _copy_to_c2_and_c3(pilot, app)
            screen = app.main
            await wait_until(pilot, lambda: screen.model.run.finished, 30, "the run ends")
            await pilot.pause(0.2)
            return _texts(app)[1], screen.query_one("#overall", ProgressBar).percentage

    overall, percentage = run_app(body)
    assert overall == "1 FAILED · 1 done"
    assert percentage is not None and percentage < 1


def test_a_run_that_went_well_folds_its_panel_and_t_shows_and_hides_it(tmp_path):
    bed = FakeBed(tmp_path)
    bed.put("c1:alpha", "img", random_bytes(300_000))

    async def body():
        app = GlintApp(FakeBedBackend(bed), now=lambda: FIXED_NOW, refresh_interval=None)
        async with app.run_test(size=(80, 24)) as pilot:
            screen = app.main
            await wait_until(pilot, lambda: screen.model.rows, 10, "rows")
            await pilot.press("t")
            assert not screen.query_one(TransfersPanel).display, "no run yet: nothing to show"
            await _copy_to_c2_and_c3(pilot, app)
            panel = screen.query_one(TransfersPanel)
            assert panel.display
            await wait_until(pilot, lambda: screen.model.run.finished, 30, "the run ends")
            await pilot.pause(0.1)
            assert _texts(app)[1] == "done: 2 verified"
            await wait_until(pilot, lambda: not panel.display, 10, "the panel folds away")
            await pilot.press("t")
            assert panel.display and _texts(app)[1] == "done: 2 verified"
            await pilot.press("t")
            assert not panel.display

    run_app(body)


def _fan_out_running(tmp_path):
    """The UI model of a run copying a 4000-byte image to c2:alpha and c3:alpha."""
    bed = FakeBed(tmp_path)
    image = bed.put("c1:alpha", "img", random_bytes(4000))
    plan = bed.plan(image, ["c2:alpha", "c3:alpha"])
    model = MatrixModel(bed.matrix())
    model.start_run(plan)
    return model, plan.copies[0]


def test_a_retry_notice_goes_once_bytes_move_again_and_each_destination_has_its_bytes(
    tmp_path,
):
    model, action = _fan_out_running(tmp_path)
    model.apply(CopyProgress(action.id, "img", 1000, 4000, 100.0, 30.0,
                             {"c2:alpha": 1000, "c3:alpha": 1000}))  # fmt: skip
    model.apply(Notice("c3:alpha: retrying in 8 s"))
    assert model.run.notice == "c3:alpha: retrying in 8 s"
    model.apply(CopyProgress(action.id, "img", 1000, 4000, 100.0, 30.0,
                             {"c2:alpha": 1000, "c3:alpha": 1000}))  # fmt: skip
    assert model.run.notice, "nothing moved yet: still true"
    model.apply(CopyProgress(action.id, "img", 3000, 4000, 100.0, 10.0,
                             {"c2:alpha": 3000, "c3:alpha": 2000}))  # fmt: skip
    assert model.run.notice == ""
    prog = model.run.actions[action.id]
    assert prog.sent == {C2: 3000, C3: 2000}


def test_rate_and_eta_wait_for_bytes_and_a_fan_out_shows_each_destination(tmp_path):
    """No rate before a byte moves; during a fan-out each destination has its own state
    and bytes."""
    from glint_tui.core.events import CellChanged
    from glint_tui.core.model import CellState
    from glint_tui.ui.widgets.transfers import destinations_text

    model, action = _fan_out_running(tmp_path)
    prog = model.run.actions[action.id]
    assert prog.done == 0 and model.run.rate == 0
    model.apply(CellChanged(action.id, C2, CellState.TRANSFERRING))
    model.apply(CellChanged(action.id, C3, CellState.VERIFYING))
    model.apply(CopyProgress(action.id, "img", 3000, 4000, 100.0, 10.0,
                             {"c2:alpha": 3000, "c3:alpha": 4000}))  # fmt: skip
    text = destinations_text(prog)
    assert "c2:alpha: sending 2.9K" in text and "c3:alpha: verifying" in text
