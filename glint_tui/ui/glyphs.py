"""How each cell state looks: a glyph AND a colour, so 16-colour terminals and
colour-blind operators can still tell every state apart by the glyph alone.

Two glyph sets: Unicode for terminals with a rich font, and plain ASCII for the Linux
console (``TERM=linux``; its kernel font lacks most symbols) or ``GLINT_ASCII=1``.
Colours are the 16-colour palette's own values so they survive any colour depth.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from rich.style import Style

from glint_tui.core.model import CellState


@dataclass(frozen=True)
class Look:
    glyph: str
    style: Style
    meaning: str


def _s(color: str, bold: bool = False) -> Style:
    return Style.parse(f"{color}{' bold' if bold else ''}")


# Colours are exact entries of the 16-colour palette (as hex, so Textual's theme does not
# remap them): each state keeps its own colour even on the Linux console.
# state -> (unicode glyph, ascii glyph, colour, bold, meaning)
_TABLE: dict[CellState, tuple[str, str, str, bool, str]] = {
    CellState.ABSENT: ("·", ".", "#555555", False, "absent"),
    CellState.PRESENT: ("●", "#", "#00aa00", True, "present (owned)"),
    CellState.LOCKED: ("◇", "=", "#5555ff", False, "present, not owned (shared/public): locked"),
    CellState.WANTED: ("+", "+", "#55ff55", True, "copy planned"),
    CellState.UNWANTED: ("✕", "X", "#ff5555", True, "delete planned"),
    CellState.QUEUED: ("…", "~", "#aa5500", False, "queued"),
    CellState.TRANSFERRING: ("↑", ">", "#55ffff", True, "transferring (%)"),
    CellState.VERIFYING: ("?", "?", "#00aaaa", True, "verifying"),
    CellState.DELETING: ("⌫", "<", "#ff55ff", True, "deleting"),
    CellState.ERROR: ("!", "!", "#ffffff on #aa0000", True, "error (R retry, c clear)"),
}

CONFLICT_MARK = {True: "⚠", False: "!!"}
"""Shown after a row name when another row has the same name and different content."""


def use_ascii() -> bool:
    """ASCII glyphs on the Linux console or when asked (GLINT_ASCII=1)."""
    if os.environ.get("GLINT_ASCII", "") not in ("", "0"):
        return True
    return os.environ.get("TERM", "") == "linux"


def looks(ascii_only: bool | None = None) -> dict[CellState, Look]:
    """The glyph/colour of every state for this terminal."""
    ascii_only = use_ascii() if ascii_only is None else ascii_only
    return {
        state: Look(asc if ascii_only else uni, _s(color, bold), meaning)
        for state, (uni, asc, color, bold, meaning) in _TABLE.items()
    }


def conflict_mark(ascii_only: bool | None = None) -> str:
    ascii_only = use_ascii() if ascii_only is None else ascii_only
    return CONFLICT_MARK[not ascii_only]
