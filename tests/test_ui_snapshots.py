"""Screenshots of the main screens at 80×24 and 160×48, from a fixed inventory built of
model objects (no network) and a fixed "now", so they only change when the UI does.

Update after a deliberate UI change: ``pytest tests/test_ui_snapshots.py --snapshot-update``
and look at the SVGs in tests/__snapshots__/.
"""

from __future__ import annotations

import pytest

from glint_tui.core.events import ActionFinished, CellChanged, CopyProgress
from glint_tui.core.model import CellState
from glint_tui.ui.app import GlintApp
from glint_tui.ui.backend import StaticBackend
from glint_tui.ui.sample_data import FIXED_NOW, sample_matrix
from tests.helpers import wait_until

SIZES = [(80, 24), (160, 48)]


def _app(matrix=None, **kw) -> GlintApp:
    backend = StaticBackend(matrix if matrix is not None else sample_matrix(failed_column=True))
    return GlintApp(backend, now=lambda: FIXED_NOW, refresh_interval=None, **kw)


async def _loaded(pilot) -> None:
    app = pilot.app
    await wait_until(pilot, lambda: app.main and app.main.model.rows, 10, "sample inventory")
    await pilot.pause()


async def _run_started(pilot):
    """Three cells marked in the sample and their plan started in the UI model (the
    engine's events are then made up by each test)."""
    await _loaded(pilot)
    screen = pilot.app.main
    model = screen.model
    await pilot.press("l", "l", "l", "space", "j", "space", "j", "space")
    plan = screen.backend.make_plan(model.matrix, model.desired)
    model.start_run(plan)
    screen.query_one("#transfers").start(model.run)
    return screen, model, plan


@pytest.fixture(autouse=True)
def _unicode_glyphs(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("GLINT_ASCII", raising=False)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_matrix(snap_compare, size):
    assert snap_compare(_app(), terminal_size=size, run_before=_loaded)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_matrix_with_toggles_and_range(snap_compare, size):
    async def before(pilot):
        await _loaded(pilot)
        await pilot.press("j", "l", "space", "j", "space", "j", "j", "v", "l", "j")

    assert snap_compare(_app(), terminal_size=size, run_before=before)


def test_matrix_ascii_glyphs_for_the_linux_console(snap_compare, monkeypatch):
    monkeypatch.setenv("TERM", "linux")

    async def before(pilot):
        await _loaded(pilot)
        await pilot.press("l", "space", "j", "space")

    assert snap_compare(_app(), terminal_size=(80, 24), run_before=before)


def test_transfers_ascii_for_the_linux_console(snap_compare, monkeypatch):
    monkeypatch.setenv("TERM", "linux")

    async def before(pilot):
        await _loaded(pilot)
        screen = pilot.app.main
        model = screen.model
        await pilot.press("l", "l", "l", "space", "j", "space")
        plan = screen.backend.make_plan(model.matrix, model.desired)
        model.start_run(plan)
        screen.query_one("#transfers").start(model.run)
        copy = plan.copies[0]
        for t in copy.targets:
            model.apply(CellChanged(copy.id, t.ref, CellState.TRANSFERRING, at=FIXED_NOW))
        done = copy.size // 3
        model.apply(
            CopyProgress(
                copy.id,
                copy.name,
                done,
                copy.size,
                rate=12 << 20,
                eta=42.0,
                per_destination={str(t.ref): done for t in copy.targets},
                at=FIXED_NOW,
            )
        )
        screen.view.refresh()
        screen.query_one("#transfers").update_all()
        await pilot.pause(0.3)

    assert snap_compare(_app(), terminal_size=(80, 24), run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_plan_review(snap_compare, size):
    async def before(pilot):
        await _loaded(pilot)
        # a copy (absent cell) and a deletion (owned present cell) and a refusal (locked)
        await pilot.press("l", "l", "l", "space", "j", "h", "h", "h", "space", "j", "l", "space")
        await pilot.press("a")
        await pilot.pause(0.3)

    assert snap_compare(_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_transfers_running(snap_compare, size):
    async def before(pilot):
        screen, model, plan = await _run_started(pilot)
        for i, copy in enumerate(plan.copies):
            for t in copy.targets:
                state = CellState.TRANSFERRING if i < 2 else CellState.QUEUED
                model.apply(CellChanged(copy.id, t.ref, state, at=FIXED_NOW))
            done = copy.size * (i + 1) // 4 if i < 2 else 0
            model.apply(
                CopyProgress(
                    copy.id,
                    copy.name,
                    done,
                    copy.size,
                    rate=(12 << 20) if i < 2 else 0,
                    eta=42.0 if i < 2 else None,
                    per_destination={str(t.ref): done for t in copy.targets},
                    at=FIXED_NOW,
                )
            )
        screen.view.refresh()
        screen.query_one("#transfers").update_all()
        await pilot.pause(0.3)

    assert snap_compare(_app(), terminal_size=size, run_before=before)


@pytest.mark.parametrize("size", [(80, 24), (100, 48)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare, size):
    async def before(pilot):
        await _loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.2)

    assert snap_compare(_app(), terminal_size=size, run_before=before)


def test_help_scrolled_to_the_legend_80x24(snap_compare):
    async def before(pilot):
        await _loaded(pilot)
        await pilot.press("question_mark")
        await pilot.pause(0.2)
        await pilot.press("end")
        await pilot.pause(0.2)

    assert snap_compare(_app(), terminal_size=(80, 24), run_before=before)


def test_matrix_scrolled_to_the_last_column_80x24(snap_compare):
    async def before(pilot):
        await _loaded(pilot)
        await pilot.press(*["l"] * 5)
        await pilot.pause(0.1)

    assert snap_compare(_app(), terminal_size=(80, 24), run_before=before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_welcome_on_first_run(snap_compare, size):
    from glint_tui.core.inventory import build_matrix

    async def before(pilot):
        await wait_until(pilot, lambda: pilot.app.screen.id == "welcome", 10, "welcome")
        await pilot.pause(0.2)

    assert snap_compare(_app(build_matrix([])), terminal_size=size, run_before=before)


def test_read_only(snap_compare):
    assert snap_compare(_app(read_only=True), terminal_size=(80, 24), run_before=_loaded)


def test_failed_cell_details(snap_compare):
    async def before(pilot):
        await _loaded(pilot)
        screen = pilot.app.main
        model = screen.model
        row = model.rows[0]
        col = next(i for i, ref in enumerate(model.columns) if not row.cell(ref).present)
        await pilot.press(*["l"] * col, "space")
        plan = screen.backend.make_plan(model.matrix, model.desired)
        model.start_run(plan)
        copy = plan.copies[0]
        model.apply(
            CellChanged(
                copy.id,
                copy.targets[0].ref,
                CellState.ERROR,
                f"{copy.targets[0].ref}: HTTP 413: storage quota exceeded",
                at=FIXED_NOW,
            )
        )
        model.finish_run(1, False)
        screen.view.refresh()
        screen.query_one("#details").show(screen.view.row, screen.view.ref)
        await pilot.pause(0.2)

    assert snap_compare(_app(), terminal_size=(80, 24), run_before=before)


def test_upload_form_80x24(snap_compare):
    from tests.ui_helpers import type_text

    async def before(pilot):
        await _loaded(pilot)
        await pilot.press("u")
        await pilot.pause(0.2)
        await type_text(pilot, "disk-20261201.qcow2")  # the name follows the file's
        await pilot.pause(0.2)

    assert snap_compare(_app(), terminal_size=(80, 24), run_before=before)


def test_transfers_ended_failed_and_cancelled_80x24(snap_compare):
    """The overall line says how the run ended, with counts; the bar is not full."""

    async def before(pilot):
        screen, model, plan = await _run_started(pilot)
        first, second = plan.copies[:2]
        for t in first.targets:
            model.apply(CellChanged(first.id, t.ref, CellState.PRESENT, at=FIXED_NOW))
        model.apply(CellChanged(second.id, second.targets[0].ref, CellState.ERROR,
                                "server error 503 (fake)", at=FIXED_NOW))  # fmt: skip
        model.apply(ActionFinished(first.id, "copy", first.name, True, at=FIXED_NOW))
        model.apply(ActionFinished(second.id, "copy", second.name, False, "503", at=FIXED_NOW))
        model.finish_run(1, False)
        screen.view.refresh()
        screen.query_one("#transfers").update_all()
        await pilot.pause(0.3)

    assert snap_compare(_app(), terminal_size=(80, 24), run_before=before)


def test_plan_review_with_a_name_conflict_80x24(snap_compare):
    async def before(pilot):
        await _loaded(pilot)
        # ubuntu-20.00 (2.3G) into c2 (alpha), where the other ubuntu-20.00 is
        await pilot.press(*["j"] * 11, "l", "l", "space")
        model = pilot.app.main.model
        await wait_until(pilot, lambda: model.refused, 5, "the early refusal")
        pilot.app.clear_notifications()  # its toast: the snapshot is of the review
        await wait_until(pilot, lambda: not pilot.app.query("Toast"), 5, "no toast")
        await pilot.press("a")
        await pilot.pause(0.5)

    assert snap_compare(_app(), terminal_size=(80, 24), run_before=before)
