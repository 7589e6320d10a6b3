"""Help: every key of the screen below, each with a sentence, in groups, and the cell
legend, in a scrolling body that has focus (so Down/PageDown/End scroll it). Two columns
when the terminal is wide enough; binding ids (``matrix.toggle``…, what keymap.json
names) in a dim last column only when very wide.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.events import Resize
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from glint_tui.core.glyphs import CONFLICT
from glint_tui.ui.glyphs import conflict_mark, dot, looks
from glint_tui.ui.keyhelp import GROUP_ORDER, explain, order

TWO_COLUMNS_FROM = 60  # body cells: below this, the legend is one column
IDS_FROM = 100  # body cells: from here, a dim column of binding ids (keys stay one column:
# each has a sentence)
CHROME_ROWS = 5  # dialog border (2), title and its gap (2), hint (1)


def key_rows(screen: Screen) -> list[tuple[str, str, str, str]]:
    """(group, keys, sentence, binding id) of every Glint key enabled on *screen*, by
    group: the screen's own keys, the focused widget's (moving around), the app's.
    Textual's generic keys (Tab focus, ctrl+c copy …) have no id and are left out. Keys
    are the operator's (keymap.json), as the footer shows them."""
    groups: dict[str, tuple[list[str], Binding, int]] = {}
    for active in screen.active_bindings.values():
        b = active.binding
        if not active.enabled or b.system or not b.id:
            continue
        level = 0 if active.node is screen else 2 if active.node is screen.app else 1
        keys, first, _ = groups.setdefault(b.action, ([], b, level))
        if b.show and not first.show:  # name the group after its footer key (q, not ^q)
            keys.insert(0, screen.app.get_key_display(b))
            groups[b.action] = (keys, b, level)
        else:
            keys.append(screen.app.get_key_display(b))
    rows = []
    for keys, b, level in groups.values():
        group, sentence = explain(b.id or "", b.description or b.action)
        rows.append((group, level, ", ".join(dict.fromkeys(keys)), sentence, b.id or ""))
    rows.sort(key=lambda r: (GROUP_ORDER.index(r[0]), r[1], order(r[4])))
    return [(group, keys, sentence, ident) for group, _, keys, sentence, ident in rows]


def _halves(rows: list, columns: int) -> list[tuple]:
    """Rows laid out in *columns* side-by-side halves, read top to bottom."""
    if columns == 1:
        return [(r,) for r in rows]
    half = (len(rows) + 1) // 2
    return [(rows[i], rows[i + half]) if i + half < len(rows) else (rows[i],) for i in range(half)]


def bindings_table(screen: Screen, ids: bool = True) -> Group:
    """Keys active on *screen* (and its focused widget), each with its sentence, under
    group headings; optionally with binding ids (for keymap.json), dim, last."""
    rows = key_rows(screen)
    key_width = max((cell_len(keys) for _, keys, _, _ in rows), default=1)
    parts: list[Text | Table] = []
    for group in dict.fromkeys(group for group, _, _, _ in rows):
        table = Table.grid(padding=(0, 2))
        table.add_column(no_wrap=True, min_width=key_width, style="bold")
        table.add_column()
        if ids:
            table.add_column(no_wrap=True, style="dim")
        for row_group, keys, sentence, ident in rows:
            if row_group == group:
                table.add_row(keys, sentence, *([ident] if ids else []))
        heading = Text(group, style="bold underline")
        parts += [Text(""), heading, table] if parts else [heading, table]
    return Group(*parts)


def legend(columns: int = 1, dark: bool = True, extra: Iterable[tuple[Text, str]] = ()) -> Table:
    """Every cell glyph with its meaning, in the glyph set of this terminal and the
    colours of the theme's kind (dark or light); then the screen's own marks (an open
    catalog's words)."""
    shown = looks(dark=dark).values()
    rows = [(Text(look.glyph, style=look.style), look.meaning) for look in shown]
    rows += list(extra)
    rows.append((Text(conflict_mark(), style="yellow bold"), CONFLICT.explain))
    rows.append((Text("[x]", style="bold"), "cell inside the range selection (v)"))
    table = Table.grid(padding=(0, 2))
    for _ in range(columns):
        table.add_column(no_wrap=True)
        table.add_column()
    for line in _halves(rows, columns):
        table.add_row(*[cell for pair in line for cell in pair])
    return table


class HelpScreen(ModalScreen[None]):
    """Shows the keys of the screen it was opened from."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close", id="help.close")]

    def __init__(self, under: Screen) -> None:
        super().__init__(classes="dialog-screen")
        self.under = under
        self._layout: tuple[int, bool] | None = None

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help-dialog"):
            yield Static(
                "Glint keys  (ctrl+p: command palette; your own keys: keymap.json)",
                classes="dialog-title",
            )
            with VerticalScroll(id="help-body"):
                yield Static(id="help-keys")
                yield Static("\nCells", classes="dialog-title")
                yield Static(id="help-legend")
            yield Static(f"Up/Down, PgUp/PgDn, Home/End scroll{dot()}Esc closes", classes="hint")

    def on_mount(self) -> None:
        self._fit()
        self.query_one("#help-body", VerticalScroll).focus()

    def on_resize(self, event: Resize) -> None:
        self._fit()

    def _fit(self) -> None:
        """Lay the tables out for this width; never taller than the terminal."""
        body = self.query_one("#help-body", VerticalScroll)
        body.styles.max_height = max(3, self.app.size.height * 9 // 10 - CHROME_ROWS)
        width = min(110, self.app.size.width * 9 // 10) - 4
        columns = 2 if width >= TWO_COLUMNS_FROM else 1
        layout = (columns, width >= IDS_FROM)
        if layout != self._layout:
            self._layout = layout
            self.query_one("#help-keys", Static).update(bindings_table(self.under, ids=layout[1]))
            dark = self.app.current_theme.dark
            extra = getattr(self.under, "legend_rows", list)()
            self.query_one("#help-legend", Static).update(legend(columns, dark, extra))

    def action_close(self) -> None:
        self.dismiss(None)
