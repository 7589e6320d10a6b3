"""The transfers panel: an overall bar and one bar per plan action, with bytes, rate, ETA
and the state of each destination. It only renders ``RunProgress``; the engine fills it.
Names, errors and notices come from clouds: shown with ``ui.safe.plain``.
"""

from __future__ import annotations

import humanize
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Label, ProgressBar, Static

from glint_tui.core.glyphs import label
from glint_tui.core.model import CellState
from glint_tui.ui.glyphs import progress_bar, use_ascii
from glint_tui.ui.safe import plain
from glint_tui.ui.state import ActionProgress, RunProgress


def _bytes(n: float) -> str:
    return humanize.naturalsize(n, binary=True)


def _eta(seconds: float | None) -> str:
    return humanize.naturaldelta(seconds) if seconds else ("--" if use_ascii() else "—")


def destinations_text(action: ActionProgress) -> str:
    parts = []
    for ref, state in action.destinations.items():
        word = "done" if state in (CellState.PRESENT, CellState.ABSENT) else label(state)
        parts.append(f"{ref}: {word}")
    return ", ".join(parts)


def overall_progress(run: RunProgress) -> dict[str, float]:
    """The overall bar: bytes when the run copies anything, else finished actions (a
    delete-only run has no bytes); always full once the run is over."""
    if run.finished:
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

    def update_from(self, action: ActionProgress) -> None:
        self.action = action
        bar = self.query_one(ProgressBar)
        info = self.query_one(".action-info", Label)
        if action.kind == "copy":
            done = action.total if action.finished and action.ok else action.done
            bar.update(total=action.total or None, progress=done)
            numbers = f"{_bytes(done)}/{_bytes(action.total)}"
            if not action.finished:
                numbers += f" {_bytes(action.rate)}/s eta {_eta(action.eta)}"
        else:
            bar.update(total=1, progress=1 if action.finished else 0)
            numbers = ""
        if action.finished:
            status = "ok" if action.ok else f"FAILED: {action.message}"
        else:
            status = destinations_text(action)
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
            word = "cancelled" if run.cancelled else ("done" if run.exit_code == 0 else "finished")
            info = f"{word} (exit {run.exit_code})"
        elif run.total_bytes:
            info = (
                f"{_bytes(run.done_bytes)}/{_bytes(run.total_bytes)} "
                f"{_bytes(run.rate)}/s eta {_eta(run.eta)}  (x cancels)"
            )
        else:
            finished = sum(1 for a in run.actions.values() if a.finished)
            info = f"{finished}/{len(run.actions)} actions  (x cancels)"
        self.query_one("#overall-info", Label).update(info, layout=False)
        notice = run.notices[-1] if run.notices else ""
        if notice != self._notice:
            self._notice = notice
            self.query_one("#run-notice", Static).update(plain(notice))
        for action_id, line in self._lines.items():
            action = run.actions.get(action_id)
            if action is not None and line.is_mounted:
                line.update_from(action)
