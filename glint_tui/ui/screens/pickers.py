"""Small choosers: which project's images are the rows, and the text filter."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from glint_tui.core.model import ProjectRef
from glint_tui.ui.widgets.matrix_view import column_label

ALL = "__all__"


class ProjectPicker(ModalScreen["ProjectRef | str | None"]):
    """Dismisses with a ProjectRef, ``ALL`` (every project's images), or None (cancel)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="project.cancel")]

    def __init__(self, columns: list[ProjectRef], current: ProjectRef | None) -> None:
        super().__init__(classes="dialog-screen")
        self.columns, self.current = columns, current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Show the images of which project?", classes="dialog-title")
            options = [Option("All projects", id=ALL)]
            options += [Option(Text(column_label(c)), id=str(c)) for c in self.columns]
            yield OptionList(*options, id="projects")
            yield Label("Enter selects · Esc cancels", classes="hint")

    def on_mount(self) -> None:
        opts = self.query_one(OptionList)
        index = 0 if self.current is None else 1 + self.columns.index(self.current)
        opts.highlighted = index
        opts.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        oid = event.option.id
        self.dismiss(ALL if oid == ALL else ProjectRef.parse(oid or ""))

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextFilterModal(ModalScreen["str | None"]):
    """Dismisses with the new filter text ("" clears it) or None (cancel)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="filter.cancel")]

    def __init__(self, current: str) -> None:
        super().__init__(classes="dialog-screen")
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Show images whose name or content key contains:", classes="dialog-title")
            yield Input(self.current, id="filter-text", placeholder="text (empty: all)")
            yield Label("Enter applies · Esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
