"""Upload a new image from a file, without leaving the UI (``u``): the same use case as
``glint upload`` (``core.uploads`` through the backend). The form asks for the file, the
name and the columns; the backend hashes the file and lists those columns in a worker,
and the plan comes back to the matrix screen, which shows the usual review before
anything is created. Problems (no such file, a same-name image with other bytes at every
place) stay on the form, as one line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Label, Select, Static

from glint_tui.core.errors import GlintError
from glint_tui.core.model import ProjectRef
from glint_tui.core.plan import Plan
from glint_tui.ui.backend import DISK_FORMATS, Backend
from glint_tui.ui.glyphs import dot
from glint_tui.ui.safe import plain
from glint_tui.ui.widgets.matrix_view import column_label
from glint_tui.ui.widgets.ticks import TickList

AUTO = "auto"


class Planned(Message):
    def __init__(self, plan: Plan | None, line: str) -> None:
        super().__init__()
        self.plan, self.line = plan, line


class UploadModal(ModalScreen["Plan | None"]):
    """Dismisses with the upload's plan (for the review), or None."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="upload.cancel"),
        Binding("ctrl+s", "plan", "Review", id="upload.plan"),
    ]

    def __init__(self, backend: Backend, columns: list[ProjectRef], here: ProjectRef | None):
        super().__init__(classes="dialog-screen")
        self.backend, self.columns, self.here = backend, columns, here
        self._suggested = ""  # the name taken from the file, until the operator types one

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog form", id="upload-form"):
            yield Static("Upload a new image from a file", classes="dialog-title")
            file = Input(id="file", placeholder="/path/to/disk.qcow2", compact=True)
            yield Horizontal(Label("File"), file, classes="form-row")
            name = Input(id="name", placeholder="image name", compact=True)
            yield Horizontal(Label("Name"), name, classes="form-row")
            formats = [("as the file says", AUTO), *((f, f) for f in DISK_FORMATS)]
            fmt = Select(formats, value=AUTO, allow_blank=False, id="disk_format", compact=True)
            yield Horizontal(Label("Disk format"), fmt, classes="form-row")
            yield Label("To (space ticks a column):")
            yield TickList(
                *((Text(column_label(c)), str(c), c == self.here) for c in self.columns),
                id="targets",
            )
            yield Label("", id="form-error", classes="error-text")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel", compact=True)
                yield Button("Review (ctrl+s)", id="plan", variant="primary", compact=True)
            yield Label(f"Tab moves{dot()}Esc cancels", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#file", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        """The name follows the file's name until the operator types one."""
        name = self.query_one("#name", Input)
        if event.input.id == "file" and (not name.value or name.value == self._suggested):
            name.value = self._suggested = Path(event.value.strip()).stem

    def on_input_submitted(self) -> None:
        self.action_plan()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "plan":
            self.action_plan()
        else:
            self.action_cancel()

    def say(self, text: str) -> None:
        self.query_one("#form-error", Label).update(plain(text))

    def action_plan(self) -> None:
        path = self.query_one("#file", Input).value.strip()
        name = self.query_one("#name", Input).value.strip()
        targets = [ProjectRef.parse(t) for t in self.query_one(TickList).selected]
        fmt = str(self.query_one("#disk_format", Select).value)
        if not path or not name:
            self.say("Name the file and the image.")
            return
        if not targets:
            self.say("Tick at least one column to upload to.")
            return
        self.say("Reading the file (sha512) and listing those columns…")
        self.query_one("#plan", Button).disabled = True
        self._plan_worker(path, name, targets, None if fmt == AUTO else fmt)

    @work(thread=True, exclusive=True, group="upload")
    def _plan_worker(
        self, path: str, name: str, targets: list[ProjectRef], disk_format: str | None
    ) -> None:
        try:
            plan, already = self.backend.plan_upload(path, name, targets, disk_format)
        except GlintError as e:
            self.post_message(Planned(None, str(e)))
            return
        have = [f"{ref} already has it" for ref, _ in already]
        if plan.copies:
            self.post_message(Planned(plan, "; ".join(have)))
            return
        refused = [f"{r.ref}: {r.reason}" for r in plan.refusals]
        self.post_message(Planned(None, "; ".join(have + refused) or "nothing to upload"))

    def on_planned(self, message: Planned) -> None:
        self.query_one("#plan", Button).disabled = False
        if message.plan is None:
            self.say(message.line)
            return
        if message.line:
            self.app.notify(plain(message.line).plain, markup=False)
        self.dismiss(message.plan)

    def action_cancel(self) -> None:
        self.dismiss(None)


def ask_upload(
    screen: Screen,
    backend: Backend,
    columns: list[ProjectRef],
    here: ProjectRef | None,
    review: Callable[[Plan], None],
) -> None:
    """Open the form over *screen* (once there are columns to upload to); *review* gets
    the plan it returns."""
    if not columns:
        screen.notify("No columns yet: wait for the matrix to be listed.", timeout=3)
        return
    screen.app.push_screen(UploadModal(backend, columns, here), lambda p: p and review(p))
