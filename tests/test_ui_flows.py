"""The TUI against the real sandbox clouds: what an operator does, and what they see."""

from __future__ import annotations

import pytest
from textual.widgets import LoadingIndicator, ProgressBar

from glint_tui.core.model import CellState, ProjectRef
from glint_tui.ui.app import GlintApp
from glint_tui.ui.screens.confirm import TypedConfirmModal
from tests.helpers import (
    frozen,
    images_named,
    random_bytes,
    sha512,
    unique,
    upload_image,
    wait_until,
)
from tests.ui_helpers import cursor_to, filter_to, run_app, screen_text, wait_for_review

pytestmark = pytest.mark.sandbox

C1A, C2A, C3A = ProjectRef("c1", "alpha"), ProjectRef("c2", "alpha"), ProjectRef("c3", "alpha")


def _images_named(sandbox, ref: ProjectRef, name: str):
    with sandbox.session(ref) as session:
        return images_named(session, name)


async def _open_on(pilot, name: str) -> None:
    app = pilot.app
    await wait_until(pilot, lambda: app.main and app.main.model.matrix.columns, 60, "inventory")
    await filter_to(pilot, name)
    await wait_until(pilot, lambda: len(app.main.model.rows) == 1, 10, f"row {name}")


def test_toggle_review_confirm_copies_and_verifies(sandbox):
    run_app(lambda: _copy_flow(sandbox))


async def _copy_flow(sandbox):
    name = unique("ui-copy")
    data = random_bytes(300_000)
    with sandbox.session(C1A) as src:
        upload_image(src, name, data)
    app = GlintApp(refresh_interval=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_on(pilot, name)
        screen = app.main
        row = screen.model.rows[0]
        await cursor_to(pilot, C2A)
        await pilot.press("space")
        await cursor_to(pilot, C3A)
        await pilot.press("space")
        assert screen.model.state(row, C2A)[0] is CellState.WANTED
        await pilot.press("a")
        review = await wait_for_review(pilot)
        assert app.focused is not None and app.focused.id == "cancel"
        text = str(review.query_one("#plan-text").render())
        assert name in text and "c2:alpha" in text and "c3:alpha" in text
        await pilot.press("y")

        def settled():
            r = screen.model.matrix.row(row.key)
            return (
                not screen.model.running
                and not screen.refreshing
                and r is not None
                and r.cell(C2A).present
                and r.cell(C3A).present
            )

        await wait_until(pilot, settled, 120, "both copies present after refresh")
        row = screen.model.rows[0]
        assert screen.model.state(row, C2A)[0] is CellState.PRESENT
        assert screen.model.pending == 0
    for ref in (C2A, C3A):
        copies = _images_named(sandbox, ref, name)
        assert len(copies) == 1
        assert copies[0].status == "active" and copies[0].os_hash_value == sha512(data)


def _upload(sandbox, ref: ProjectRef, name: str, data: bytes, **kw):
    with sandbox.session(ref) as session:
        return upload_image(session, name, data, **kw)


def test_deletion_needs_the_typed_count(sandbox):
    name = unique("ui-del")
    data = random_bytes(200_000)
    _upload(sandbox, C1A, name, data)
    _upload(sandbox, C2A, name, data)  # same bytes: one row, present twice

    async def body():
        app = GlintApp(refresh_interval=None)
        async with app.run_test(size=(100, 30)) as pilot:
            await _open_on(pilot, name)
            screen = app.main
            await cursor_to(pilot, C2A)
            await pilot.press("space")
            assert screen.model.state(screen.model.rows[0], C2A)[0] is CellState.UNWANTED
            await pilot.press("a")
            review = await wait_for_review(pilot)
            assert "Deletions (1)" in str(review.query_one("#plan-text").render())
            await pilot.press("y")
            typed = await wait_until(
                pilot,
                lambda: (
                    isinstance(app.screen, TypedConfirmModal)
                    and getattr(app.focused, "id", None) == "typed"
                    and app.screen
                ),
                5,
                "typed confirmation",
            )
            # repeating the same key, or a wrong number, deletes nothing
            await pilot.press("y", "enter")
            await pilot.press("2", "enter")
            assert app.screen is typed
            assert "not 1" in str(typed.query_one("#typed-error").render())
            assert not screen.model.running
            assert len(_images_named(sandbox, C2A, name)) == 1
            await pilot.press("1", "enter")

            def gone():
                r = screen.model.matrix.row(screen.model.rows[0].key) if screen.model.rows else None
                return (
                    not screen.model.running
                    and not screen.refreshing
                    and r
                    and not r.cell(C2A).present
                )

            await wait_until(pilot, gone, 60, "the c2:alpha copy gone after refresh")
            # a delete-only run has no bytes to count: its overall bar still ends full
            bar = screen.query_one("#overall", ProgressBar)
            assert bar.total is not None and bar.percentage == 1.0
            assert "done" in str(screen.query_one("#overall-info").render())
        assert _images_named(sandbox, C2A, name) == []
        assert len(_images_named(sandbox, C1A, name)) == 1  # the other copy is untouched

    run_app(body)


def test_cancel_in_review_changes_nothing(sandbox):
    name = unique("ui-cancel")
    _upload(sandbox, C1A, name, random_bytes(50_000))

    async def body():
        app = GlintApp(refresh_interval=None)
        async with app.run_test(size=(100, 30)) as pilot:
            await _open_on(pilot, name)
            screen = app.main
            await cursor_to(pilot, C2A)
            await pilot.press("space", "a")
            await wait_for_review(pilot)
            await pilot.press("enter")  # focus starts on Cancel: Enter cancels
            await wait_until(pilot, lambda: app.screen is screen, 5, "back on the matrix")
            await pilot.press("a")
            await wait_for_review(pilot)
            await pilot.press("escape")
            await wait_until(pilot, lambda: app.screen is screen, 5, "back on the matrix")
            assert screen.model.run is None
            assert screen.model.state(screen.model.rows[0], C2A)[0] is CellState.WANTED
        assert _images_named(sandbox, C2A, name) == []

    run_app(body)


def test_failed_copy_shows_why_then_retry(sandbox):
    """Glance of c3 down: the cell turns into an error saying why; quitting asks first;
    after Glance is back, R retries and the copy verifies."""
    name = unique("ui-retry")
    data = random_bytes(120_000)
    _upload(sandbox, C1A, name, data)
    c3 = sandbox.cloud("c3")

    async def body():
        app = GlintApp(refresh_interval=None)
        async with app.run_test(size=(120, 40)) as pilot:
            await _open_on(pilot, name)
            screen = app.main
            row = screen.model.rows[0]
            c3.stop(("glance",))
            await cursor_to(pilot, C3A)
            await pilot.press("space", "a")
            await wait_for_review(pilot)
            await pilot.press("y")
            await wait_until(pilot, lambda: screen.model.running, 5, "run started")
            # q while running asks; n keeps the run going
            await pilot.press("q")
            await wait_until(pilot, lambda: app.screen is not screen, 5, "quit question")
            await pilot.press("n")
            assert screen.model.running
            await wait_until(
                pilot,
                lambda: not screen.model.running and not screen.refreshing,
                180,
                "the run to give up on c3",
            )
            state, live = screen.model.state(screen.model.rows[0], C3A)
            assert state is CellState.ERROR and live.message
            details = str(screen.query_one("#details").render())
            assert "error:" in details
            c3.start("glance")
            c3.wait_ready("glance")
            await pilot.press("r")
            await wait_until(
                pilot,
                lambda: not screen.refreshing and screen.model.matrix.status[C3A].ok,
                60,
                "c3 listed again",
            )
            assert screen.model.state(screen.model.rows[0], C3A)[0] is CellState.ERROR
            await pilot.press("R")
            await wait_for_review(pilot)
            await pilot.press("y")

            def verified():
                r = screen.model.matrix.row(row.key)
                return not screen.model.running and not screen.refreshing and r.cell(C3A).present

            await wait_until(pilot, verified, 120, "retry to copy to c3")
            assert screen.model.state(screen.model.rows[0], C3A)[0] is CellState.PRESENT

    try:
        run_app(body)
    finally:
        sandbox.ensure_running()
    copies = _images_named(sandbox, C3A, name)
    assert len(copies) == 1 and copies[0].os_hash_value == sha512(data)


def test_cancel_a_running_transfer(sandbox):
    """c3's Glance hangs (SIGSTOP: a real hung server), so the copy stays in flight until
    x (on that cell) cancels just that transfer; the toggle survives and nothing
    half-made is left at c3."""
    name = unique("ui-hang")
    _upload(sandbox, C1A, name, random_bytes(2_000_000))
    c3 = sandbox.cloud("c3")

    async def body():
        app = GlintApp(refresh_interval=None)
        async with app.run_test(size=(120, 40)) as pilot:
            await _open_on(pilot, name)
            screen = app.main
            with frozen(c3):
                await cursor_to(pilot, C3A)
                await pilot.press("space", "a")
                await wait_for_review(pilot)
                await pilot.press("y")
                await wait_until(pilot, lambda: screen.model.running, 5, "run started")
                panel = screen.query_one("#transfers")
                assert panel.display and name in str(
                    panel.query_one(".action-line .action-name").render()
                )
                await pilot.press("x")
            await wait_until(pilot, lambda: not screen.model.running, 90, "cancelled run")
            assert screen.model.run.cancelled
            await wait_until(pilot, lambda: not screen.refreshing, 60, "refresh after the run")
            state, live = screen.model.state(screen.model.rows[0], C3A)
            assert state is CellState.WANTED, live

    try:
        run_app(body)
    finally:
        sandbox.ensure_running()
    assert _images_named(sandbox, C3A, name) == []


def test_refresh_keeps_the_matrix_on_screen(sandbox):
    """c3's Glance hangs (SIGSTOP), so a refresh stays under way: the rows stay visible
    and the status line says so; nothing covers the screen."""
    name = unique("ui-refresh")
    _upload(sandbox, C1A, name, random_bytes(10_000))
    c3 = sandbox.cloud("c3")

    async def body():
        app = GlintApp(refresh_interval=None)
        async with app.run_test(size=(100, 30)) as pilot:
            await _open_on(pilot, name)
            screen = app.main
            with frozen(c3):
                await pilot.press("r")
                await wait_until(pilot, lambda: screen.refreshing, 5, "the refresh to start")
                await pilot.pause(0.3)
                assert screen.refreshing, "refresh ended although c3 cannot answer"
                assert not screen.query(LoadingIndicator)
                text = screen_text(app)
                assert name in text and "refreshing" in text
            await wait_until(pilot, lambda: not screen.refreshing, 120, "the refresh to end")
            assert "refreshing" not in screen_text(app)

    try:
        run_app(body)
    finally:
        sandbox.ensure_running()
