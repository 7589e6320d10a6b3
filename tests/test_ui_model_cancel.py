"""The UI model answers what ``x`` cancels and what ``R`` retries, so the matrix screen
never scans a plan itself (built on FAKE clouds: no server, no Textual)."""

from __future__ import annotations

from pathlib import Path

from glint_tui.core.events import CellChanged
from glint_tui.core.model import CellState, ProjectRef
from glint_tui.ui.state import MatrixModel
from tests.fakebed import FakeBed


def test_x_cancels_the_copy_into_the_cell_under_the_cursor_and_nothing_else(tmp_path: Path):
    bed = FakeBed(tmp_path)
    image = bed.put("c1:alpha", "moving", b"m" * 1000)
    bed.put("c1:alpha", "still", b"s" * 1000)
    plan = bed.plan(image, ["c2:alpha", "c3:alpha"])
    model = MatrixModel(bed.matrix())
    moving = next(r for r in model.rows if r.name == "moving")
    still = next(r for r in model.rows if r.name == "still")
    c2, c1 = ProjectRef.parse("c2:alpha"), ProjectRef.parse("c1:alpha")
    assert model.copy_into(moving, c2) is None  # no run yet
    model.start_run(plan)
    assert model.copy_into(moving, c2) == plan.copies[0].id
    assert model.copy_into(moving, c1) is None  # the source column: no copy goes there
    assert model.copy_into(still, c2) is None  # another row
    model.finish_run(0, False)
    assert model.copy_into(moving, c2) is None  # the run is over


def test_r_retries_the_failed_cell_under_the_cursor_or_else_every_failed_cell(tmp_path: Path):
    bed = FakeBed(tmp_path)
    image = bed.put("c1:alpha", "fails", b"f" * 1000)
    plan = bed.plan(image, ["c2:alpha", "c3:alpha"])
    model = MatrixModel(bed.matrix())
    (row,) = [r for r in model.rows if r.name == "fails"]
    c2, c3 = ProjectRef.parse("c2:alpha"), ProjectRef.parse("c3:alpha")
    for ref in (c2, c3):
        model.desired.want(row.key, ref, True)
    model.start_run(plan)
    for ref in (c2, c3):
        model.apply(CellChanged(plan.copies[0].id, ref, CellState.ERROR, "server error 503"))
    model.finish_run(1, False)
    keys, desired = model.take_retry(row, c2)
    assert keys == [(row.key, c2)] and desired.wanted(row.key, c2) is True
    assert desired.wanted(row.key, c3) is None  # only the cell under the cursor
    assert model.errors() == [(row.key, c3)]
    keys, desired = model.take_retry(row, ProjectRef.parse("c1:alpha"))  # not a failed cell
    assert keys == [(row.key, c3)] and model.errors() == []
    assert model.failed_actions == 0  # no ActionFinished came: nothing counted as failed
