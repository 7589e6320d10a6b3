"""A small copy's phases stay visible: the transfers panel repaints at most every 100 ms,
and a copy of a few hundred KB goes from sending through verifying to done inside one
repaint; the operator must still see each phase, in order, not a jump from queued to
"ok". The real engine on FAKE clouds (``tests/fakecloud.py`` says what that does not
prove); what is recorded is each text the panel paints for the action."""

from __future__ import annotations

import pytest

from glint_tui.core.events import CellChanged
from glint_tui.core.model import CellState, ProjectRef
from glint_tui.ui.app import GlintApp
from glint_tui.ui.sample_data import FIXED_NOW
from glint_tui.ui.state import MatrixModel
from glint_tui.ui.widgets.transfers import ActionLine
from tests.fakebed import FakeBed
from tests.helpers import random_bytes, wait_until
from tests.ui_helpers import FakeBedBackend, cursor_to, run_app, wait_for_review

C2 = ProjectRef("c2", "alpha")


@pytest.fixture(autouse=True)
def _unicode_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("GLINT_ASCII", raising=False)


def _painted(monkeypatch) -> list[str]:
    """Every distinct text an ActionLine paints, in order (the operator's view)."""
    painted: list[str] = []
    original = ActionLine.update_from

    def recording(self, action, over=False):
        original(self, action, over)
        if not painted or painted[-1] != self._last:
            painted.append(self._last)

    monkeypatch.setattr(ActionLine, "update_from", recording)
    return painted


def _phases(painted: list[str]) -> list[str]:
    """The destination's phase words, in the order painted, repeats folded."""
    words: list[str] = []
    for text in painted:
        for word in ("queued", "sending", "verifying", "done", "ok"):
            shows = text.endswith(f"c2:alpha: {word}") or (word == "ok" and text.endswith("  ok"))
            if shows and (not words or words[-1] != word):
                words.append(word)
    return words


def test_a_small_copy_shows_sending_then_verifying_then_done_in_the_panel(tmp_path, monkeypatch):
    bed = FakeBed(tmp_path)
    bed.put("c1:alpha", "tiny", random_bytes(200_000))
    painted = _painted(monkeypatch)

    async def body():
        app = GlintApp(FakeBedBackend(bed), now=lambda: FIXED_NOW, refresh_interval=None)
        async with app.run_test(size=(120, 30)) as pilot:
            screen = app.main
            await wait_until(pilot, lambda: screen.model.rows, 10, "rows")
            await cursor_to(pilot, C2)
            await pilot.press("space", "a")
            await wait_for_review(pilot)
            await pilot.press("y")
            await wait_until(pilot, lambda: screen.model.run is not None, 5, "the run")
            await wait_until(pilot, lambda: screen.model.run.finished, 30, "the run ends")
            await wait_until(pilot, lambda: "ok" in _phases(painted), 10, "the panel says ok")

    run_app(body)
    phases = _phases(painted)
    assert phases[phases.index("sending") :] == ["sending", "verifying", "done", "ok"], painted
    [copy] = bed.at("c2:alpha", "tiny")
    assert copy.status == "active"


def _one_copy_running(tmp_path):
    """The UI model of a run copying a 4000-byte image to c2:alpha, and that copy."""
    bed = FakeBed(tmp_path)
    image = bed.put("c1:alpha", "img", random_bytes(4000))
    plan = bed.plan(image, ["c2:alpha"])
    model = MatrixModel(bed.matrix())
    model.start_run(plan)
    [action] = plan.copies
    return model, action


def test_each_phase_a_destination_passed_is_held_until_shown_then_it_moves_on(tmp_path):
    """The model side: events that arrive between two repaints are not lost; each
    phase is shown for a moment, then the next, and the last one stays."""
    model, action = _one_copy_running(tmp_path)
    for state in (CellState.TRANSFERRING, CellState.VERIFYING, CellState.PRESENT):
        model.apply(CellChanged(action.id, C2, state))
    prog = model.run.actions[action.id]
    assert prog.destinations[C2] is CellState.PRESENT, "the model knows the truth at once"
    shown = [prog.phases.shown(C2, now) for now in (0.0, 0.1, 0.35, 0.4, 0.7, 0.8)]
    assert shown == [
        CellState.TRANSFERRING,  # queued is waiting, not a phase: it is not held
        CellState.TRANSFERRING,
        CellState.VERIFYING,
        CellState.VERIFYING,
        CellState.PRESENT,
        CellState.PRESENT,
    ]
    assert prog.phases.holding(0.8), "done is shown a moment before the line says ok"
    assert prog.phases.shown(C2, 9.0) is CellState.PRESENT and not prog.phases.holding(9.0)


def test_x_shows_cancelling_even_when_the_cancel_is_over_before_the_next_repaint(tmp_path):
    """A destination whose cancel takes less than a repaint still says cancelling first,
    for a moment, then cancelled (the model's truth is cancelled at once)."""
    from glint_tui.ui.widgets.transfers import destinations_text

    model, action = _one_copy_running(tmp_path)
    model.apply(CellChanged(action.id, C2, CellState.TRANSFERRING))
    prog = model.run.actions[action.id]
    assert destinations_text(prog, 0.0) == "c2:alpha: sending"
    model.cancelling(action.id, C2)
    model.apply(CellChanged(action.id, C2, CellState.ERROR, "cancelled", cancelled=True))
    assert C2 in prog.cancelled
    shown = [destinations_text(prog, now) for now in (5.0, 5.2, 5.4)]
    assert shown == ["c2:alpha: cancelling…", "c2:alpha: cancelling…", "c2:alpha: cancelled"]
    assert not prog.phases.holding(5.4)
