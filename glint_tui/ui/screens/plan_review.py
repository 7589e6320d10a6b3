"""Plan review: what ``a`` shows before anything moves.

Each copy (image, source → destinations, bytes), each deletion, the totals, and what
the safety rules refused and why. Focus starts on Cancel; ``y`` confirms, ``n``/Esc
cancels. A plan with deletions then needs the typed confirmation (``TypedConfirmModal``).
"""

from __future__ import annotations

from collections.abc import Callable

import humanize
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select, Static

from glint_tui.core.errors import GlintError
from glint_tui.core.glyphs import glyph
from glint_tui.core.model import CellState
from glint_tui.core.plan import CONFLICT_HINT, Choices, Plan, Refusal
from glint_tui.core.safetext import escape
from glint_tui.ui.glyphs import arrows
from glint_tui.ui.screens.confirm import TypedConfirmModal

Replan = Callable[[Choices], Plan]  # the same marks planned again with conflict answers
ANSWERS = [
    ("skip this copy", "refuse"),
    ("rename (name-<hash>)", "rename"),
    ("keep both (same name)", "keep-both"),
    ("replace the other", "replace"),
]


class Replanned(Message):
    def __init__(self, plan: Plan | None, error: str = "") -> None:
        super().__init__()
        self.plan, self.error = plan, error


def conflicts(plan: Plan) -> list[Refusal]:
    """The copies refused because the destination has another image of that name."""
    return [r for r in plan.refusals if r.kind == "copy" and r.reason.endswith(CONFLICT_HINT)]


def _size(n: int) -> str:
    return humanize.naturalsize(n, binary=True)


def _short(content_key: str) -> str:
    return escape(content_key.split(":", 1)[-1][:8])


def plan_text(plan: Plan, answerable: bool = False) -> Text:
    """The plan as the operator reads it (one line per copy/deletion/refusal).

    Names, ids and reasons come from clouds: escaped, in a Text (no markup).
    """
    t = Text()
    if plan.copies:
        t.append(f"Copies ({plan.copy_count})\n", style="bold green")
        for c in plan.copies:
            dests = escape(
                ", ".join(
                    str(tg.ref) + (f" as {tg.name}" if tg.name != c.name else "")
                    for tg in c.targets
                )
            )
            t.append(f"  {glyph(CellState.WANTED)} {escape(c.name)} ", style="bold")
            t.append(f"{_short(c.content_key)}  ", style="dim")
            t.append(f"{escape(c.origin)} {arrows()[1]} {dests}  {_size(c.size)}")
            if len(c.targets) > 1:
                t.append(f" × {len(c.targets)} = {_size(c.bytes_out)}")
            t.append("\n")
            for tg in c.targets:
                if tg.cloud_side:  # the destination pulls it: say how, and that none cross here
                    how = f"{tg.ref} by {tg.method}, {_size(0)} through this host"
                    t.append(f"    {escape(how)}\n", "dim")
                if tg.convert_to:  # qemu-img here first (EC2 takes raw only)
                    t.append(f"    {escape(f'{tg.ref}: {tg.method_note}')}\n", "dim")
                if tg.replaces:
                    what = f"then deletes the other {c.name} at {tg.ref} ({tg.replaces})"
                    t.append(f"    {escape(what)}\n", "red")
    if plan.deletes:
        t.append(f"Deletions ({len(plan.deletes)})\n", style="bold red")
        for d in plan.deletes:
            t.append(f"  {glyph(CellState.UNWANTED)} {escape(d.name)} ", style="bold")
            t.append(f"{_short(d.content_key)}  ", style="dim")
            t.append(escape(f"at {d.ref}  id {d.image_id}  {_size(d.size)}"))
            if d.after:
                t.append("  (after its copy verifies)", style="dim")
            t.append("\n")
    if plan.refusals:
        t.append(f"Refused ({len(plan.refusals)})\n", style="bold yellow")
        for r in plan.refusals:
            t.append(f"  ! {escape(f'{r.kind} {r.name} at {r.ref}')}: ", style="yellow")
            reason = r.reason.replace(CONFLICT_HINT, "answer below") if answerable else r.reason
            t.append(f"{escape(reason)}\n")
    if plan.is_empty and not plan.refusals:
        t.append("Nothing to do: no cell is toggled.\n", style="dim")
    t.append("\nTotal: ", style="bold")
    t.append(plan.summary())
    return t


class PlanReviewModal(ModalScreen[bool]):
    """Dismisses True only when confirmed (and, with deletions, the count was typed)."""

    BINDINGS = [
        Binding("y", "confirm", "Confirm", id="plan.confirm"),
        Binding("n,escape", "cancel", "Cancel", id="plan.cancel"),
    ]

    HEADING = "Review the plan"

    def __init__(self, plan: Plan, replan: Replan | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.plan, self.replan = plan, replan
        self.conflicts = conflicts(plan) if replan else []
        self.choices: dict = {}  # (row key, ref) -> an ON_CONFLICT answer

    def body(self) -> Text:
        """The plan in words (``CatalogReviewModal`` says a catalog plan's)."""
        return plan_text(self.plan, bool(self.conflicts))

    def removal_question(self) -> str:
        """What the typed confirmation asks before the plan removes anything."""
        n = self.plan.delete_count
        return (
            f"This plan DELETES {n} image{'s' if n != 1 else ''} "
            f"({_size(self.plan.delete_bytes)}). Deleted images cannot be recovered."
        )

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="plan-dialog"):
            yield Static(self.HEADING, classes="dialog-title")
            with VerticalScroll(id="plan-body"):
                yield Static(self.body(), id="plan-text")
                if self.conflicts:
                    yield Label("Same name, other bytes there — for each copy:", classes="hint")
                for n, r in enumerate(self.conflicts):
                    yield Horizontal(
                        Label(escape(f"{r.name} at {r.ref}"), classes="conflict-name"),
                        Select(ANSWERS, value="refuse", allow_blank=False, compact=True,
                               id=f"conflict-{n}"),
                        classes="conflict-row",
                    )  # fmt: skip
            with Horizontal(classes="buttons"):
                yield Button("Cancel (n)", id="cancel", variant="primary")
                yield Button(
                    "Confirm (y)",
                    id="confirm",
                    variant="error" if self.plan.has_deletes else "success",
                    disabled=self.plan.is_empty,
                )

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        """An answer to a conflict: plan the same marks again with every answer so far."""
        ident = event.select.id or ""
        if not ident.startswith("conflict-") or self.replan is None:
            return
        r = self.conflicts[int(ident.removeprefix("conflict-"))]
        self.choices[((r.name, r.content_key), r.ref)] = str(event.value)
        self.query_one("#confirm", Button).disabled = True  # until the new plan is shown
        self._replan_worker(dict(self.choices))

    @work(thread=True, exclusive=True, group="replan")
    def _replan_worker(self, choices: Choices) -> None:
        assert self.replan is not None
        try:
            self.post_message(Replanned(self.replan(choices)))
        except GlintError as e:
            self.post_message(Replanned(None, str(e)))

    def on_replanned(self, message: Replanned) -> None:
        if message.plan is None:
            self.notify(escape(message.error), severity="error", markup=False)
        else:
            self.plan = message.plan
            self.query_one("#plan-text", Static).update(plan_text(self.plan, True))
        confirm = self.query_one("#confirm", Button)
        confirm.disabled = self.plan.is_empty
        confirm.variant = "error" if self.plan.has_deletes else "success"

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "confirm":
            self.action_confirm()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_confirm(self) -> None:
        if self.plan.is_empty:
            return
        if not self.plan.has_deletes:
            self.dismiss(True)
            return
        question = self.removal_question()
        # one dialog on screen at a time: two borders drawn over each other read as noise
        self.query_one("#plan-dialog").display = False
        self.app.push_screen(TypedConfirmModal(question, str(self.plan.delete_count)), self._typed)

    def _typed(self, ok: bool | None) -> None:
        if ok:
            self.dismiss(True)
        else:
            self.query_one("#plan-dialog").display = True
