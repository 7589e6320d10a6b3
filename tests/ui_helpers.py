"""Shared helpers for the UI tests: typing, filtering, moving the cursor, reading the
screen (waiting on screen state is ``tests.helpers.wait_until``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from glint_tui.core.model import ProjectRef
from tests.helpers import wait_until


async def type_text(pilot: Pilot, text: str) -> None:
    """Type *text* key by key into whatever has focus."""
    from textual.keys import _character_to_key

    await pilot.press(*[_character_to_key(ch) for ch in text])


async def filter_to(pilot: Pilot, text: str) -> None:
    """Type a text filter the way an operator does (/ text Enter)."""
    from glint_tui.ui.screens.pickers import TextFilterModal

    await pilot.press("slash")
    await wait_until(
        pilot,
        lambda: (
            isinstance(pilot.app.screen, TextFilterModal)
            and getattr(pilot.app.focused, "id", None) == "filter-text"
        ),
        5,
        "the filter prompt",
    )
    await pilot.press("ctrl+u")
    await type_text(pilot, text)
    await pilot.press("enter")
    await pilot.pause()


async def cursor_to(pilot: Pilot, ref: ProjectRef) -> None:
    """Move the cursor to column *ref* with h/l keys."""
    screen = pilot.app.main
    target = screen.model.columns.index(ref)
    while screen.view.cursor_col != target:
        await pilot.press("l" if screen.view.cursor_col < target else "h")


def run_app(coro_fn: Callable[[], Any]) -> Any:
    """Run an async test body (no async pytest plugin is installed)."""
    import asyncio

    return asyncio.run(coro_fn())


async def wait_for_review(pilot: Pilot, timeout: float = 30):
    """The plan review, mounted and ready for keys (focus on its Cancel button)."""
    from glint_tui.ui.screens.plan_review import PlanReviewModal

    app = pilot.app

    def ready():
        screen = app.screen
        focused = app.focused
        ok = isinstance(screen, PlanReviewModal) and focused is not None
        return ok and focused.id == "cancel" and screen

    return await wait_until(pilot, ready, timeout, "the plan review")


def screen_text(app: Any) -> str:
    """The visible text of the app's screen (from its SVG screenshot)."""
    import html
    import re

    svg = app.export_screenshot()
    lines = re.findall(r"<text[^>]*>(.*?)</text>", svg)
    return html.unescape("".join(lines)).replace("\xa0", " ")


class FakeBedBackend:
    """The UI's backend over the fast lane's FAKE clouds (``tests/fakebed.py``): the real
    inventory, planner and engine, with clouds in memory whose faults (a stall until
    released, a drop at byte N) a real Glance cannot produce on cue. What that does not
    prove is in ``tests/fakecloud.py``'s docstring; the sandbox tests prove the rest."""

    def __init__(self, bed: Any, **engine_options: Any) -> None:
        self.bed, self.options = bed, engine_options
        self.engine: Any = None
        self.theme: str | None = None

    def has_repositories(self) -> bool:
        return True

    def load_matrix(self, on_column: Any = None) -> Any:
        return self.bed.matrix()

    def make_plan(self, matrix: Any, desired: Any, choices: Any = None) -> Any:
        from glint_tui.core.plan import build_plan

        return build_plan(matrix, desired, choices=choices)

    def precheck(self, matrix: Any, desired: Any) -> Any:
        from glint_tui.ui.backend import narrowed

        return self.make_plan(narrowed(matrix, desired), desired).refusals

    def run_plan(self, plan: Any, cancel: Any, on_event: Any) -> int:
        from glint_tui.core.transfer import TransferEngine, TransferOptions
        from tests.fakebed import FAST

        options = TransferOptions(**{**FAST, **self.options})
        self.engine = TransferEngine(
            self.bed.source, self.bed.paths, on_event=on_event, options=options
        )
        return self.engine.run(plan, cancel).exit_code

    def cancel_action(self, action_id: str, ref: Any = None) -> bool:
        return self.engine is not None and self.engine.cancel_action(action_id, ref)

    def remember_theme(self, name: str) -> None:
        self.theme = name

    def plan_upload(self, path: str, name: str, targets: Any, disk_format: Any) -> Any:
        from glint_tui.ui.backend import upload_plan_over

        return upload_plan_over(self.bed.matrix(), path, name, targets, disk_format)
