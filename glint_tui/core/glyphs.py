"""How a matrix cell state is written in a terminal: one table shared by ``glint images``,
the CLI's progress lines and the Textual UI, so an operator reads the same symbol for the
same state everywhere.

Pure data (no Textual, no Rich). Each state has a Unicode glyph (chosen from characters
that common monospace fonts carry: no emoji, no ⌫), a plain-ASCII glyph for the Linux
console (``TERM=linux``: its kernel font lacks most symbols) or ``GLINT_ASCII=1``, a short
label (what the details pane and CLI legends say) and a longer explanation (help legend).
No glyph is ``?``: that key means Help.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from glint_tui.core.model import CellState


@dataclass(frozen=True)
class Glyph:
    """One symbol in both glyph sets, with what it means."""

    unicode: str
    ascii: str
    label: str
    explain: str

    def text(self, ascii_only: bool | None = None) -> str:
        """The glyph for this terminal (or the set asked for)."""
        return self.ascii if (use_ascii() if ascii_only is None else ascii_only) else self.unicode


GLYPHS: Mapping[CellState, Glyph] = {
    CellState.ABSENT: Glyph("·", ".", "absent", "absent"),
    CellState.PRESENT: Glyph("●", "#", "present", "present, owned here"),
    CellState.LOCKED: Glyph("◐", "o", "present, not owned", "not owned (shared): never deleted"),
    CellState.INCOMPLETE: Glyph(
        "○", "_", "incomplete", "not a copy: half-made (queued, saving…), killed or deactivated"
    ),
    CellState.WANTED: Glyph("+", "+", "copy planned", "copy planned"),
    CellState.UNWANTED: Glyph("×", "x", "delete planned", "delete planned"),
    CellState.QUEUED: Glyph("…", "~", "queued", "queued"),
    CellState.TRANSFERRING: Glyph("↑", ">", "transferring", "transferring (with %)"),
    CellState.VERIFYING: Glyph("≈", "=", "verifying", "verifying the copy's checksum"),
    CellState.DELETING: Glyph("−", "-", "deleting", "deleting"),
    CellState.ERROR: Glyph("!", "!", "error", "error"),
}
"""Every cell state's symbol. Glyphs are distinct within each set."""

CONFLICT = Glyph("≠", "!=", "name conflict", "after a name: same name, other bytes")
"""Shown after an image name when another row has that name with different content."""

COLUMN_FAILED = Glyph("!", "!", "not listed", "before a column: it could not be listed")
"""Marks a column (repository:project) whose listing failed; its cells are unknown."""

SAME_CLOUD = Glyph(
    "≡", "=", "same cloud", "before a column: its repository is the same cloud as another"
)
"""Marks a column whose repository is the same physical cloud as another repository's
(one image seen through both is one copy, and deleting it removes it from both)."""

REFUSED = Glyph(
    "⊘", "/", "will be refused", "a marked copy or delete the plan will refuse (details: why)"
)
"""Replaces the copy/delete planned glyph of a toggle the plan refuses (the last verified
copy, a protected image, one the project does not own …), before the review says so."""

ELLIPSIS = Glyph("…", "~", "truncated", "text cut to fit")
"""Ends a name cut to fit its column."""

DONE = Glyph("✓", "ok", "done", "before a progress line: that copy or delete is done")
"""Starts the CLI's line for a finished action."""

FAILED = Glyph("✗", "FAILED", "failed", "before a progress line: that place or action failed")
"""Starts the CLI's line for a failed destination or action."""

SEPARATOR = Glyph("·", "|", "separator", "between the items of a status line or hint")
"""Separates items in the UI's status lines, hints and details."""

MARKS: tuple[Glyph, ...] = (
    CONFLICT, COLUMN_FAILED, SAME_CLOUD, REFUSED, ELLIPSIS, DONE, FAILED, SEPARATOR,
)  # fmt: skip
"""Every glyph that is not a cell state (the tests check both sets for ``?`` and ASCII)."""


def use_ascii(env: Mapping[str, str] | None = None) -> bool:
    """ASCII glyphs on the Linux console (``TERM=linux``) or when ``GLINT_ASCII`` is set
    to anything but 0."""
    env = os.environ if env is None else env
    if env.get("GLINT_ASCII", "") not in ("", "0"):
        return True
    return env.get("TERM", "") == "linux"


def glyph(state: CellState, ascii_only: bool | None = None) -> str:
    """The symbol of *state* for this terminal."""
    return GLYPHS[state].text(ascii_only)


def label(state: CellState) -> str:
    """The words for *state* ("copy planned", not the enum's "wanted")."""
    return GLYPHS[state].label
