"""Yes/no questions: a generic confirmation, and the typed confirmation for deletions.

The typed one cannot be answered by repeating a key: the operator types the number of
images that will be deleted, so a stray ``y`` (or a held Enter) never deletes anything.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from glint_tui.ui.safe import plain


class ConfirmModal(ModalScreen[bool]):
    """A question with No (focused first) and Yes."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__(classes="dialog-screen")
        self.question, self.yes, self.no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(plain(self.question), classes="dialog-text")
            with Horizontal(classes="buttons"):
                yield Button(f"{self.no} (n)", id="no", variant="primary")
                yield Button(f"{self.yes} (y)", id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class TypedConfirmModal(ModalScreen[bool]):
    """Confirm by typing an exact answer (the number of deletions)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="typed.cancel")]

    def __init__(self, question: str, expected: str) -> None:
        super().__init__(classes="dialog-screen")
        self.question, self.expected = question, expected

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(plain(self.question), classes="dialog-text")
            yield Label(f"Type {self.expected} and press Enter to delete; Esc cancels.")
            yield Input(placeholder="number of deletions", id="typed", max_length=12)
            yield Label("", id="typed-error", classes="error-text")

    def on_mount(self) -> None:
        self.query_one("#typed", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value.strip() == self.expected:
            self.dismiss(True)
        else:
            self.query_one("#typed-error", Label).update(
                f"That is not {self.expected}; nothing will be deleted until it is."
            )
            event.input.value = ""

    def action_cancel(self) -> None:
        self.dismiss(False)
