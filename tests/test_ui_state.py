"""The UI's model of a run (no Textual, no network): how engine events change cells."""

from __future__ import annotations

from glint_tui.core.events import CellChanged
from glint_tui.core.model import CellState
from glint_tui.core.plan import build_plan
from glint_tui.ui.sample_data import sample_matrix
from glint_tui.ui.state import MatrixModel


def _running_copy() -> tuple[MatrixModel, object, object, str]:
    model = MatrixModel(sample_matrix())
    row, ref = next(
        (row, ref)
        for row in model.rows
        for ref in model.columns
        if model.state(row, ref)[0] is CellState.ABSENT and row.holders()
    )
    assert model.toggle(row, ref)
    plan = build_plan(model.matrix, model.desired)
    [copy] = plan.copies
    model.start_run(plan)
    return model, row, ref, copy.id


def test_a_cancelled_destination_shows_its_toggle_again_whatever_the_message_says():
    model, row, ref, action = _running_copy()
    model.apply(
        CellChanged(action, ref, CellState.ERROR, "stopped by the operator", cancelled=True)
    )
    assert model.state(row, ref)[0] is CellState.WANTED


def test_a_failure_whose_message_is_the_word_cancelled_is_still_a_failure():
    model, row, ref, action = _running_copy()
    model.apply(CellChanged(action, ref, CellState.ERROR, "cancelled"))
    state, live = model.state(row, ref)
    assert state is CellState.ERROR and live is not None and live.message == "cancelled"
