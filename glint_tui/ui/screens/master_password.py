"""Asks the master password of glint's encrypted keyring file (masked, never shown)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from glint_tui.ui.safe import plain


class MasterPasswordModal(ModalScreen["str | None"]):
    """Dismisses with the typed password, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="master.cancel")]

    def __init__(self, prompt: str) -> None:
        super().__init__(classes="dialog-screen")
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="master-dialog"):
            yield Static("Keyring locked", classes="dialog-title")
            yield Static(plain(self.prompt.rstrip(": ")), classes="dialog-text")
            yield Input(password=True, id="master-password", placeholder="master password")
            yield Label("Enter unlocks · Esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
