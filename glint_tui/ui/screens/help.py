"""Help: every key of the screen below (with its binding id) and the cell legend."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from glint_tui.ui.glyphs import conflict_mark, looks


def bindings_table(screen: Screen) -> Table:
    """Keys active on *screen* (and its focused widget), grouped by binding id."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_column(style="dim")
    groups: dict[str, tuple[list[str], Binding]] = {}
    for active in screen.active_bindings.values():
        b = active.binding
        if not active.enabled or b.system:
            continue
        keys, _ = groups.setdefault(b.id or b.action, ([], b))
        keys.append(screen.app.get_key_display(b))
    for ident, (keys, b) in groups.items():
        table.add_row(", ".join(dict.fromkeys(keys)), b.description or b.action, ident)
    return table


def legend() -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column()
    table.add_column()
    for look in looks().values():
        table.add_row(Text(look.glyph, style=look.style), look.meaning)
    table.add_row(
        Text(conflict_mark(), style="yellow bold"), "after a name: same name, other bytes"
    )
    table.add_row(Text("[x]", style="bold"), "cell inside the range selection (v)")
    return table


class HelpScreen(ModalScreen[None]):
    """Shows the keys of the screen it was opened from."""

    BINDINGS = [Binding("escape,q,question_mark,f1", "close", "Close", id="help.close")]

    def __init__(self, under: Screen) -> None:
        super().__init__(classes="dialog-screen")
        self.under = under

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="help-dialog"):
            yield Static("Glint keys  (ctrl+p: command palette)", classes="dialog-title")
            with VerticalScroll():
                yield Static(bindings_table(self.under))
                yield Static("\nCells", classes="dialog-title")
                yield Static(legend())

    def action_close(self) -> None:
        self.dismiss(None)
