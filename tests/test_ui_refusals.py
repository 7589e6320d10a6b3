"""Marks the plan will refuse are shown at once — in the cell and a notice — not only in
the review, and the answer is the core plan's own (fixed data, no network)."""

from __future__ import annotations

import random

import pytest

from glint_tui.core.desired import Desired
from glint_tui.core.glyphs import REFUSED
from glint_tui.core.model import CellState, ProjectRef
from glint_tui.core.plan import build_plan
from glint_tui.ui.app import GlintApp
from glint_tui.ui.backend import StaticBackend, narrowed
from glint_tui.ui.sample_data import FIXED_NOW, big_matrix, sample_matrix
from tests.helpers import wait_until
from tests.ui_helpers import run_app, screen_text


@pytest.fixture(autouse=True)
def _unicode_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("GLINT_ASCII", raising=False)


async def _mark(pilot, name: str, ref: ProjectRef):
    """Move to (image *name*, column *ref*) and press space, as an operator would."""
    screen = pilot.app.main
    view, model = screen.view, screen.model
    row = next(r for r, x in enumerate(model.rows) if x.name == name)
    col = model.columns.index(ref)
    await pilot.press("home", *["h"] * view.cursor_col, *["l"] * col, *["j"] * row)
    assert (view.cursor_row, view.cursor_col) == (row, col)
    await pilot.press("space")
    return model.rows[row]


@pytest.mark.parametrize(
    ("name", "ref", "why"),
    [
        ("debian-20.01", ProjectRef("c1", "beta"), "last"),  # its only verified copy
        ("cirros-20.01", ProjectRef("c1", "beta"), "protected"),
    ],
    ids=["only-copy", "protected"],
)
def test_a_delete_the_plan_refuses_shows_in_the_cell_and_a_notice_at_once(name, ref, why):
    async def body():
        app = GlintApp(StaticBackend(sample_matrix()), now=lambda: FIXED_NOW, refresh_interval=None)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.main
            await wait_until(pilot, lambda: screen.model.rows, 10, "rows")
            row = await _mark(pilot, name, ref)
            model = screen.model
            assert model.state(row, ref)[0] is CellState.UNWANTED
            reason = await wait_until(
                pilot, lambda: model.refusal(row, ref), 10, "the plan's answer"
            )
            await pilot.pause()
            notes = [n.message for n in app._notifications]
            text = screen_text(app)
            # the cell shows the refused mark, the details and a notice say why
            assert REFUSED.unicode in text and "will be refused" in text
            assert any(why in n for n in notes), notes
            assert why in reason
            await pilot.press("space")  # unmarked: nothing left to refuse
            await pilot.pause()
            assert model.refusal(row, ref) is None and "will be refused" not in screen_text(app)

    run_app(body)


def test_a_delete_the_plan_allows_shows_no_refusal():
    async def body():
        app = GlintApp(StaticBackend(sample_matrix()), now=lambda: FIXED_NOW, refresh_interval=None)
        async with app.run_test(size=(120, 36)) as pilot:
            screen = app.main
            await wait_until(pilot, lambda: screen.model.rows, 10, "rows")
            ref = ProjectRef("c1", "alpha")
            row = await _mark(pilot, "arch-20.03", ref)  # five copies: fine
            await wait_until(pilot, lambda: not any(w.is_running for w in app.workers), 10, "idle")
            assert screen.model.refusal(row, ref) is None
            assert not any("refuse" in n.message for n in app._notifications)

    run_app(body)


def _actions(actions) -> list[dict]:
    """Actions without their ids (new ones each plan) and the ids they wait for."""
    return [{k: v for k, v in a.to_dict().items() if k not in ("id", "after")} for a in actions]


def test_the_narrowed_plan_refuses_exactly_what_the_whole_plan_refuses():
    """The UI plans only the rows the marks touch; over many random mark sets, that
    gives the whole plan's refusals, copies and deletes."""
    matrix = big_matrix(images=300, repositories=4, projects=2)
    rng = random.Random(3)
    for _ in range(40):
        desired = Desired()
        for row in rng.sample(matrix.rows, 6):
            for ref in rng.sample(matrix.columns, 3):
                desired.want(row.key, ref, not row.cell(ref).present)
        # plus deleting every copy of one image: the last one must be refused
        owned = [r for r in matrix.rows if all(c.owned for c in r.holders(verified=True))]
        row = rng.choice([r for r in owned if len(r.holders(verified=True)) > 1])
        for cell in row.holders(verified=True):
            desired.want(row.key, cell.ref, False)
        whole = build_plan(matrix, desired)
        part = build_plan(narrowed(matrix, desired), desired)
        assert part.refusals == whole.refusals
        assert _actions(part.copies) == _actions(whole.copies)
        assert _actions(part.deletes) == _actions(whole.deletes)
        assert any("last" in r.reason for r in whole.refusals)
