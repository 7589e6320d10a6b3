"""The transfers panel: an overall bar and one bar per plan action, with bytes, rate, ETA
and the state of each destination. It only renders ``RunProgress``; the engine fills it.
Names, errors and notices come from clouds: shown with ``ui.safe.plain``.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Label, ProgressBar, Static

from glint_tui.core.glyphs import label
from glint_tui.core.model import CellState
from glint_tui.ui.glyphs import dot, ellipsis, progress_bar, use_ascii
from glint_tui.ui.safe import plain
from glint_tui.ui.state import ActionProgress, RunProgress
from glint_tui.ui.widgets.matrix_view import short_size


def _bytes(n: float) -> str:
    """Compact (``541M``, ``2.1G``): a line of the panel holds bytes, rate, ETA and the
    destinations' states at 80 columns."""
    return short_size(int(n))


def _eta(seconds: float | None) -> str:
    """``42s``, ``3m10s``, ``1h05m``; a dash when unknown."""
    if not seconds:
        return "--" if use_ascii() else "—"
    s = int(seconds + 0.5)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


WORDS = {CellState.TRANSFERRING: "sending", CellState.ERROR: "failed"}  # short, for 80 columns


def destinations_text(action: ActionProgress, now: float | None = None) -> str:
    """Each destination of a fan-out: its state, and its bytes while they move. The
    state is the phase it shows at *now* (``ui.phases``: a fast phase is not skipped)."""
    now = time.monotonic() if now is None else now
    parts = []
    for ref, state in action.destinations.items():
        state = action.phases.shown(ref, now) or state
        over = ref in action.cancelled
        if action.phases.cancelling(ref, now, over) or ref in action.cancelling:
            word = f"cancelling{ellipsis()}"
        elif over:
            word = "cancelled"
        elif state in (CellState.PRESENT, CellState.ABSENT):
            word = "done"
        else:
            word = WORDS.get(state) or label(state)
            sent = action.sent.get(ref, 0)
            fan_out = len(action.destinations) > 1  # one destination: the numbers say it
            if state is CellState.TRANSFERRING and sent and fan_out:
                word += f" {_bytes(sent)}"
        parts.append(f"{ref}: {word}")
    return ", ".join(parts)


def ending_text(run: RunProgress) -> str:
    """How the run ended, counted in destinations (fits 80 columns): "done: 3 verified",
    "1 FAILED · 2 done", "1 CANCELLED · 1 done · 1 not run"."""
    n = run.outcome()
    if not (run.cancelled or n["failed"] or n["cancelled"] or n["left"]):
        return f"done: {n['done']} verified"
    words = {"failed": "FAILED", "cancelled": "cancelled", "done": "done", "left": "not run"}
    if not n["failed"]:
        words["cancelled"] = "CANCELLED"
    parts = [f"{n[k]} {w}" for k, w in words.items() if n[k]]
    if run.cancelled and not n["failed"] and not n["cancelled"]:
        parts.insert(0, "CANCELLED")
    return dot().join(parts)


def overall_progress(run: RunProgress) -> dict[str, float]:
    """The overall bar: bytes when the run copies anything, else finished actions (a
    delete-only run has no bytes); full at the end only when everything is done."""
    n = run.outcome()
    if run.finished and not (n["failed"] or n["cancelled"] or n["left"]):
        return {"total": 1, "progress": 1}
    if run.total_bytes:
        return {"total": run.total_bytes, "progress": run.done_bytes}
    finished = sum(1 for a in run.actions.values() if a.finished)
    return {"total": max(1, len(run.actions)), "progress": finished}


class ActionLine(Horizontal):
    """One copy or delete: name, bar, numbers, destination states."""

    def __init__(self, action: ActionProgress) -> None:
        super().__init__(classes="action-line")
        self.action = action
        self._last = ""

    def compose(self) -> ComposeResult:
        verb = self.action.kind  # copy, delete; a catalog run's hide, rename, share …
        yield Label(plain(f"{verb} {self.action.name}"), classes="action-name")
        yield progress_bar(total=self.action.total or None, show_eta=False, show_percentage=True)
        yield Label("", classes="action-info")

    def update_from(self, action: ActionProgress, over: bool = False) -> None:
        """Redraw from *action*; *over*: the run has ended (an unfinished action never ran)."""
        self.action = action
        bar = self.query_one(ProgressBar)
        info = self.query_one(".action-info", Label)
        if action.kind == "copy":
            done = action.total if action.finished and action.ok else action.done
            bar.update(total=action.total or None, progress=done)
            numbers = f"{_bytes(done)}/{_bytes(action.total)}"
            if not action.finished and action.done > 0:  # a rate of nothing says nothing
                numbers += f" {_bytes(action.rate)}/s {_eta(action.eta)}"
        else:
            bar.update(total=1, progress=1 if action.finished else 0)
            numbers = ""
        now = time.monotonic()
        shown = action.finished and not action.phases.holding(now, action.cancelled)
        if shown and (action.ok or not action.cancelled):
            status = "ok" if action.ok else f"FAILED: {action.message}"
        elif over and not action.finished and not action.cancelled:
            status = "not run"
        else:
            status = destinations_text(action, now)
        text = f"{numbers}  {status}".strip()
        if text != self._last:
            self._last = text
            info.update(plain(text), layout=False)  # one fixed line: repaint, no relayout
        self.set_class(action.finished and action.ok is False, "failed")


class TransfersPanel(VerticalScroll):
    """Hidden until a plan runs; shows the last run until the next one starts."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.run: RunProgress | None = None
        self._notice = ""
        self._lines: dict[str, ActionLine] = {}
        self._catching_up = False  # a repaint is due for phases still held (ui.phases)

    def compose(self) -> ComposeResult:
        with Horizontal(id="overall-line"):
            yield Label("overall", classes="action-name")
            yield progress_bar(id="overall", show_eta=False)
            yield Label("", id="overall-info", classes="action-info")
        yield Static("", id="run-notice")

    def start(self, run: RunProgress) -> None:
        """Show a new run (replacing the previous one's lines)."""
        self.run = run
        for line in self._lines.values():
            line.remove()
        self._lines = {a.action_id: ActionLine(a) for a in run.actions.values()}
        if self._lines:
            self.mount_all(self._lines.values())
        self.display = True
        self.call_after_refresh(self.update_all)

    def update_all(self) -> None:
        run = self.run
        if run is None:
            return
        overall = self.query_one("#overall", ProgressBar)
        overall.update(**overall_progress(run))
        if run.finished:
            info = ending_text(run)
        elif run.total_bytes and run.done_bytes == 0:
            info = f"0/{_bytes(run.total_bytes)} starting{ellipsis()}"
        elif run.total_bytes:
            info = (
                f"{_bytes(run.done_bytes)}/{_bytes(run.total_bytes)} "
                f"{_bytes(run.rate)}/s eta {_eta(run.eta)}"
            )
        else:
            finished = sum(1 for a in run.actions.values() if a.finished)
            info = f"{finished}/{len(run.actions)} actions"
        self.query_one("#overall-info", Label).update(info, layout=False)
        self.set_class(run.finished and not info.startswith("done"), "ended-badly")
        notice = run.notice
        if notice != self._notice:
            self._notice = notice
            self.query_one("#run-notice", Static).update(plain(notice))
        for action_id, line in self._lines.items():
            action = run.actions.get(action_id)
            if action is not None and line.is_mounted:
                line.update_from(action, run.finished)
        self._catch_up(run)

    def _catch_up(self, run: RunProgress) -> None:
        """Repaint again soon while a destination still has a phase to show: with no
        more events coming (the copy is over) nothing else would."""
        now = time.monotonic()
        held = any(a.phases.holding(now, a.cancelled) for a in run.actions.values())
        if held and not self._catching_up:
            self._catching_up = True
            self.set_timer(0.1, self._caught_up)

    def _caught_up(self) -> None:
        self._catching_up = False
        self.update_all()
