"""Looking around without changing anything: project switch, filters, sort, read-only."""

from __future__ import annotations

import pytest

from glint_tui.core.model import CellState, ProjectRef
from glint_tui.ui.app import GlintApp
from glint_tui.ui.screens.pickers import ProjectPicker
from tests.helpers import random_bytes, unique, upload_image, wait_until
from tests.ui_helpers import cursor_to, filter_to, run_app, screen_text

pytestmark = pytest.mark.sandbox

C1A, C2B = ProjectRef("c1", "alpha"), ProjectRef("c2", "beta")


def _upload(sandbox, ref, name, data, **kw):
    with sandbox.session(ref) as session:
        return upload_image(session, name, data, **kw)


async def _loaded(pilot):
    app = pilot.app
    await wait_until(
        pilot,
        lambda: app.main and not app.main.refreshing and app.main.model.columns,
        60,
        "inventory",
    )
    return app.main


def test_project_switch_shows_that_projects_images(sandbox):
    tag = unique("ui-proj")
    _upload(sandbox, C1A, f"{tag}-only-c1", random_bytes(10_000))
    _upload(sandbox, C2B, f"{tag}-only-c2b", random_bytes(10_000))

    async def body():
        app = GlintApp(refresh_interval=None)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _loaded(pilot)
            await filter_to(pilot, tag)
            assert {r.name for r in screen.model.rows} == {f"{tag}-only-c1", f"{tag}-only-c2b"}
            await pilot.press("p")
            await wait_until(pilot, lambda: isinstance(app.screen, ProjectPicker), 5, "picker")
            # options: All projects, then one per column in order
            for _ in range(screen.model.columns.index(C2B) + 1):
                await pilot.press("down")
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.screen is screen, 5, "matrix again")
            assert screen.model.project == C2B
            assert [r.name for r in screen.model.rows] == [f"{tag}-only-c2b"]
            assert "c2 (beta)" in str(screen.query_one("#status").render())
            await pilot.press("p")
            await wait_until(pilot, lambda: isinstance(app.screen, ProjectPicker), 5, "picker")
            await pilot.press("home", "enter")
            await wait_until(pilot, lambda: app.screen is screen, 5, "matrix again")
            assert screen.model.project is None and len(screen.model.rows) == 2

    run_app(body)


def test_visibility_and_text_filters_and_sort(sandbox):
    tag = unique("ui-vis")
    _upload(sandbox, C1A, f"{tag}-private", random_bytes(30_000))
    _upload(sandbox, C1A, f"{tag}-community", random_bytes(10_000), visibility="community")
    _upload(sandbox, C1A, f"{tag}-shared", random_bytes(20_000), visibility="shared")

    async def body():
        app = GlintApp(refresh_interval=None)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _loaded(pilot)
            await filter_to(pilot, tag)

            def names():
                return [r.name.removeprefix(tag + "-") for r in screen.model.rows]

            assert names() == ["community", "private", "shared"]
            seen = {}
            for _ in range(4):
                await pilot.press("f")
                seen[screen.model.visibility] = names()
            assert seen["project"] == ["community", "private", "shared"]  # all owned by alice
            assert seen["shared"] == ["shared"]
            assert seen["public"] == ["community"]
            assert seen["all"] == ["community", "private", "shared"]
            await pilot.press("s")  # sort by size: biggest first
            assert screen.model.sort == "size" and names() == ["private", "shared", "community"]
            await filter_to(pilot, f"{tag}-sha")
            assert names() == ["shared"]
            details = str(screen.query_one("#details").render())
            assert f"{tag}-shared" in details and "19.5 KiB" in details

    run_app(body)


def test_read_only_hides_every_mutating_action(sandbox):
    name = unique("ui-ro")
    _upload(sandbox, C1A, name, random_bytes(10_000))

    async def body():
        app = GlintApp(read_only=True, refresh_interval=None)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = await _loaded(pilot)
            await filter_to(pilot, name)
            await cursor_to(pilot, ProjectRef("c2", "alpha"))
            await pilot.press("space", "v", "a", "e")
            assert screen.model.pending == 0 and app.screen is screen
            row = screen.model.rows[0]
            assert screen.model.state(row, ProjectRef("c2", "alpha"))[0] is CellState.ABSENT
            footer_keys = {b.binding.id for b in screen.active_bindings.values()}
            assert not footer_keys & {
                "matrix.toggle",
                "matrix.range",
                "matrix.apply",
                "matrix.cancel",
                "matrix.cancel_run",
                "matrix.retry",
                "matrix.clear",
                "matrix.repositories",
            }
            assert "READ-ONLY" in str(screen.query_one("#status").render())
            assert "Toggle" not in screen_text(app)

    run_app(body)
