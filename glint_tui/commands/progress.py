"""The CLI's progress printer: engine events as lines on stderr.

On a terminal each copy is one line redrawn in place (bar, percent, rate, ETA, the
matrix's glyph per destination); otherwise (a pipe, a log) plain lines, one per state
change and per tenth of the bytes. Names and errors come from clouds: every line is
escaped. Used by ``glint copy | delete | apply``.
"""

from __future__ import annotations

import sys
import threading
from typing import TextIO

import humanize

from glint_tui.core.errors import located
from glint_tui.core.events import ActionFinished, CellChanged, CopyProgress, Event, Notice
from glint_tui.core.glyphs import DONE, FAILED, glyph
from glint_tui.core.model import CellState
from glint_tui.core.safetext import escape


class ProgressPrinter:
    """Renders engine events: one redrawn line per copy on a TTY, plain lines otherwise.

    Cells show the matrix's own glyphs (``core.glyphs``), so ``●`` means present here too.
    """

    def __init__(self, out: TextIO = sys.stderr, quiet: bool = False) -> None:
        self.out = out
        self.quiet = quiet
        self.tty = hasattr(out, "isatty") and out.isatty()
        self.lock = threading.Lock()
        self.states: dict[str, dict[str, CellState]] = {}
        self.last_pct: dict[str, int] = {}
        self.live = False
        self.interrupted = False  # after Ctrl-C, cancelled outcomes are expected: no ✗ lines

    def __call__(self, event: Event) -> None:
        with self.lock:
            self._handle(event)

    def say(self, text: str) -> None:
        """A line of our own, on its own line even while a progress line is live."""
        with self.lock:
            self._write_line(text)

    def _write_line(self, text: str) -> None:
        if self.live:
            self.out.write("\r\x1b[2K")
            self.live = False
        self.out.write(escape(text) + "\n")  # names and errors come from clouds
        self.out.flush()

    def _handle(self, ev: Event) -> None:
        if isinstance(ev, CellChanged):
            self.states.setdefault(ev.action_id, {})[str(ev.ref)] = ev.state
            if ev.state == CellState.ERROR:
                if not (self.interrupted and ev.cancelled):
                    self._write_line(f"{FAILED.text()} {located(ev.ref, ev.message)}")
            elif not self.quiet and not self.tty:
                extra = f" ({ev.message})" if ev.message else ""
                self._write_line(f"{ev.ref}: {ev.state.value}{extra}")
            elif not self.quiet and ev.message and ev.state == CellState.TRANSFERRING:
                # a cloud-side import moves no bytes here: its state is the progress line
                self.out.write("\r\x1b[2K" + escape(f"{ev.ref}: {ev.message}")[:200])
                self.out.flush()
                self.live = True
        elif isinstance(ev, CopyProgress):
            if self.quiet:
                return
            pct = int((ev.fraction or 0) * 100)
            rate = humanize.naturalsize(ev.rate, binary=True) + "/s"
            eta = f" ETA {ev.eta:.0f}s" if ev.eta is not None else ""
            if self.tty:
                cells = " ".join(
                    f"{ref}{glyph(st)}" for ref, st in self.states.get(ev.action_id, {}).items()
                )
                line = f"{ev.name} {_bar(ev.fraction)} {pct:3d}% {rate}{eta}  {cells}"
                self.out.write("\r\x1b[2K" + escape(line)[:200])
                self.out.flush()
                self.live = True
            elif pct // 10 != self.last_pct.get(ev.action_id, -1) // 10:
                self.last_pct[ev.action_id] = pct
                done = humanize.naturalsize(ev.bytes_read, binary=True)
                self._write_line(f"{ev.name}: {pct}% ({done}, {rate}{eta})")
        elif isinstance(ev, ActionFinished):
            if ev.ok and not self.quiet:
                self._write_line(f"{DONE.text()} {ev.kind} {ev.name} done")
            elif not ev.ok and not self.interrupted:
                self._write_line(f"{FAILED.text()} {ev.kind} {ev.name} failed")
        elif isinstance(ev, Notice) and not self.quiet:
            self._write_line(ev.message)

    def hashing(self, path: str, done: int, size: int) -> None:
        """``glint upload`` reads the file once to hash it before anything is created."""
        fraction = done / size if size else 1.0
        pct = int(fraction * 100)
        with self.lock:
            if self.tty:
                line = f"hashing {path} {_bar(fraction)} {pct:3d}%"
                self.out.write("\r\x1b[2K" + escape(line)[:200])
                self.out.flush()
                self.live = True
            elif pct // 25 != self.last_pct.get("hash", -1) // 25:
                self.last_pct["hash"] = pct
                self._write_line(f"hashing {path}: {pct}%")

    def close(self) -> None:
        with self.lock:
            if self.live:
                self.out.write("\n")
                self.live = False


def _bar(fraction: float | None, width: int = 20) -> str:
    f = fraction or 0.0
    full = int(f * width)
    return "[" + "#" * full + "-" * (width - full) + "]"
