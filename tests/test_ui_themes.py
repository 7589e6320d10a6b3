"""Themes: every cell state keeps its own glyph, and that glyph stays visible, under every
Textual theme and in 16 colours; the operator's choice is remembered (fixed data).

Visible means: the colour the matrix draws a state's glyph in stands out from the
background it draws it on (WCAG contrast >= 3, the absent dot >= 2.5), read from the
matrix widget's own rendered lines; in 16 colours the two never fall on the same palette
entry. Themes whose background is the terminal's own (``ansi-*``) are checked for
distinct glyphs only: their background is whatever the terminal has.
"""

from __future__ import annotations

import pytest
from rich.color import Color, ColorSystem
from rich.style import Style

from glint_tui.core.config import THEME, ConfigStore
from glint_tui.core.model import CellState
from glint_tui.core.paths import paths_for
from glint_tui.ui.app import GlintApp
from glint_tui.ui.backend import LiveBackend, StaticBackend, saved_theme
from glint_tui.ui.sample_data import FIXED_NOW, sample_matrix
from glint_tui.ui.state import Live
from tests.helpers import wait_until
from tests.ui_helpers import run_app, screen_text

LIVE_STATES = (  # set as live states: drawing depends on the state alone
    CellState.INCOMPLETE,  # (the sample inventory has no half-made image)
    CellState.QUEUED,
    CellState.TRANSFERRING,
    CellState.VERIFYING,
    CellState.DELETING,
    CellState.ERROR,
)


@pytest.fixture(autouse=True)
def _unicode_terminal(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("GLINT_ASCII", raising=False)


def _luminance(color: Color) -> float:
    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    t = color.get_truecolor()
    return 0.2126 * channel(t.red) + 0.7152 * channel(t.green) + 0.0722 * channel(t.blue)


def _contrast(a: Color, b: Color) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _every_state_on_screen(screen) -> dict[CellState | str, tuple[int, int]]:
    """Put every cell state somewhere on the first rows: toggles and live states."""
    model = screen.model
    rows, refs = model.rows, [r for r in model.columns if model.matrix.status[r].ok]
    seen: dict[CellState | str, tuple[int, int]] = {}
    for r, row in enumerate(rows[:12]):
        for ref in refs:
            state = model.state(row, ref)[0]
            seen.setdefault(state, (r, model.columns.index(ref)))
    absent = [
        (r, c)
        for r, row in enumerate(rows[:12])
        for c, ref in enumerate(model.columns)
        if model.state(row, ref)[0] is CellState.ABSENT and model.matrix.status[ref].ok
    ]
    present = [(r, c) for r, row in enumerate(rows[:12]) for c, ref in enumerate(model.columns)
               if model.state(row, ref)[0] is CellState.PRESENT]  # fmt: skip
    r, c = absent.pop()
    model.toggle(rows[r], model.columns[c])
    seen[CellState.WANTED] = (r, c)
    r, c = present.pop()
    model.toggle(rows[r], model.columns[c])
    seen[CellState.UNWANTED] = (r, c)
    for state in LIVE_STATES:
        r, c = absent.pop()
        model.live[(rows[r].key, model.columns[c])] = Live(state, percent=42)
        seen[state] = (r, c)
    r, c = absent.pop()  # a mark the plan refuses has a glyph of its own too
    model.toggle(rows[r], model.columns[c])
    model.set_refusals({(rows[r].key, model.columns[c]): "no verified copy to copy from"})
    seen["refused"] = (r, c)
    return seen


def _drawn(view, row: int, col: int) -> tuple[str, Style]:
    """The glyph text and style the matrix draws for (row, col), from its own lines."""
    view.cursor_row, view.cursor_col = len(view.model.rows) - 1, len(view.model.columns) - 1
    cells = view._row_cells(row, view.rich_style)
    segments = [s for s in cells if s.text.strip()]
    visible = list(view._visible_columns())
    text_segment = segments[visible.index(col)]
    return text_segment.text.strip(), view.rich_style + text_segment.style


def test_every_state_keeps_a_visible_glyph_of_its_own_in_every_theme_and_in_16_colours():
    async def body():
        app = GlintApp(
            StaticBackend(sample_matrix(images=30)), now=lambda: FIXED_NOW, refresh_interval=None
        )
        problems: list[str] = []
        async with app.run_test(size=(200, 40)) as pilot:
            screen = app.main
            await wait_until(pilot, lambda: screen.model.rows, 10, "rows")
            where = _every_state_on_screen(screen)
            assert set(where) == {*CellState, "refused"}, set(CellState) - set(where)
            for name in sorted(app.available_themes):
                app.theme = name
                await pilot.pause()
                drawn = {s: _drawn(screen.view, r, c) for s, (r, c) in where.items()}
                glyphs = [text.rstrip("%0123456789") for text, _ in drawn.values()]
                if len(set(glyphs)) != len(glyphs):
                    problems.append(f"{name}: two states share a glyph: {glyphs}")
                if (app.current_theme.background or "").startswith("ansi"):
                    continue
                for state, (_text, style) in drawn.items():
                    fg, bg = style.color, style.bgcolor
                    if state is CellState.ERROR:
                        continue  # its own background (white on red)
                    need = 2.5 if state is CellState.ABSENT else 3.0
                    if _contrast(fg, bg) < need:
                        problems.append(f"{name}: {state} {fg.name} on {bg.name}")
                    low = (c.downgrade(ColorSystem.STANDARD).number for c in (fg, bg))
                    if len(set(low)) == 1:
                        problems.append(f"{name}: {state} invisible in 16 colours")
        return problems

    assert run_app(body) == []


def test_the_chosen_theme_is_remembered_and_used_at_the_next_start():
    backend = StaticBackend(sample_matrix())

    async def choose():
        app = GlintApp(backend, now=lambda: FIXED_NOW, refresh_interval=None)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: app.main and app.main.model.rows, 10, "rows")
            app.theme = "nord"
            await wait_until(pilot, lambda: backend.theme == "nord", 5, "the theme saved")

    async def restart(theme: str):
        app = GlintApp(backend, now=lambda: FIXED_NOW, refresh_interval=None, theme=theme)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: app.main and app.main.model.rows, 10, "rows")
            await pilot.pause()
            return app.theme, [n.message for n in app._notifications]

    run_app(choose)
    assert run_app(lambda: restart("nord"))[0] == "nord"
    theme, notes = run_app(lambda: restart("no-such-theme"))
    assert theme == "textual-dark" and any("no-such-theme" in n for n in notes)


def test_the_theme_lives_in_the_profiles_settings_file(tmp_path, monkeypatch):
    monkeypatch.setenv("GLINT_HOME", str(tmp_path))
    paths = paths_for()
    assert saved_theme(paths) is None
    LiveBackend(paths).remember_theme("gruvbox")
    assert saved_theme(paths) == "gruvbox"
    assert ConfigStore(paths).get_setting(THEME) == "gruvbox"
    assert '"theme": "gruvbox"' in paths.settings_file.read_text()


def test_checkboxes_read_without_colour_ticked_x_and_unticked_empty():
    """The insecure-TLS box of the repository form and the upload's column list: an
    unticked box draws no X (Textual's default draws X in both states, in two colours)."""
    from textual.app import App
    from textual.widgets import Checkbox

    from glint_tui.ui.widgets.ticks import TickBox, TickList

    class Boxes(App):
        def compose(self):
            yield TickBox("skip verification (insecure)", False, id="insecure")
            yield TickList(("c1 (alpha)", "c1:alpha", True), ("c2 (alpha)", "c2:alpha"))

    async def body():
        app = Boxes()
        async with app.run_test(size=(60, 8)) as pilot:
            box = app.query_one(Checkbox)
            before = screen_text(app)
            box.value = True
            await pilot.pause()
            return before, screen_text(app)

    before, after = (t.replace(" ", "") for t in run_app(body))  # the SVG drops blanks
    assert "▐▌skipverification" in before and "▐X▌skipverification" in after
    assert "▐X▌c1(alpha)" in before and "▐▌c2(alpha)" in before
