"""How each cell state looks in the UI: the shared glyph (``core.glyphs``) AND a colour,
so 16-colour terminals and colour-blind operators can still tell every state apart by
the glyph alone.

Also the UI chrome that must follow the glyph set: the truncation mark, arrows, and (on
the Linux console, whose kernel font lacks block and heavy-line characters) ASCII
progress bars and scrollbars.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.console import Console, ConsoleOptions, RenderResult
from rich.style import Style
from rich.text import Text
from textual.renderables.bar import Bar as BarRenderable
from textual.scrollbar import ScrollBarRender
from textual.widgets import ProgressBar

from glint_tui.core.glyphs import CONFLICT, ELLIPSIS, GLYPHS, REFUSED, SEPARATOR, use_ascii
from glint_tui.core.model import CellState

__all__ = ["Look", "looks", "conflict_mark", "ellipsis", "dot", "use_ascii", "progress_bar"]


@dataclass(frozen=True)
class Look:
    glyph: str
    style: Style
    meaning: str


# Two palettes, chosen by the theme's background: on a dark one the cells use bright
# entries of the 16-colour palette (as hex, so Textual's theme does not remap them), on a
# light one darker colours (which a 16-colour terminal shows as the matching dark entries).
# Each state's colour stands out from every stock Textual theme's background (contrast
# >= 3, the absent dot >= 2.5) and never falls on the background's own colour in 16
# colours; tests/test_ui_themes.py checks that under every theme.
_DARK: dict[CellState, tuple[str, bool]] = {
    CellState.ABSENT: ("#aaaaaa", False),
    CellState.PRESENT: ("#00aa00", True),
    CellState.LOCKED: ("#8080ff", False),
    CellState.INCOMPLETE: ("#ffff55", False),
    CellState.WANTED: ("#55ff55", True),
    CellState.UNWANTED: ("#ff5555", True),
    CellState.QUEUED: ("#ffffff", False),
    CellState.TRANSFERRING: ("#55ffff", True),
    CellState.VERIFYING: ("#00aaaa", True),
    CellState.DELETING: ("#ff55ff", True),
    CellState.ERROR: ("#ffffff on #aa0000", True),
}
_LIGHT: dict[CellState, tuple[str, bool]] = {
    CellState.ABSENT: ("#8a8a8a", False),
    CellState.PRESENT: ("#007a00", True),
    CellState.LOCKED: ("#0000aa", False),
    CellState.INCOMPLETE: ("#8a5a00", False),
    CellState.WANTED: ("#006e6e", True),
    CellState.UNWANTED: ("#c00000", True),
    CellState.QUEUED: ("#303030", False),
    CellState.TRANSFERRING: ("#0050c0", True),
    CellState.VERIFYING: ("#006060", True),
    CellState.DELETING: ("#a000a0", True),
    CellState.ERROR: ("#ffffff on #aa0000", True),
}


def looks(ascii_only: bool | None = None, dark: bool = True) -> dict[CellState, Look]:
    """The glyph/colour of every state for this terminal and a dark (or light) theme."""
    ascii_only = use_ascii() if ascii_only is None else ascii_only
    palette = _DARK if dark else _LIGHT
    out = {}
    for state, g in GLYPHS.items():
        colour, bold = palette[state]
        style = Style.parse(f"{colour}{' bold' if bold else ''}")
        out[state] = Look(g.text(ascii_only), style, g.explain)
    return out


def refused_look(ascii_only: bool | None = None, dark: bool = True) -> Look:
    """A mark the plan will refuse (``core.glyphs.REFUSED``), in a colour of its own."""
    style = Style.parse("#ffaf00 bold" if dark else "#a04000 bold")
    return Look(REFUSED.text(ascii_only), style, REFUSED.explain)


def conflict_mark(ascii_only: bool | None = None) -> str:
    return CONFLICT.text(ascii_only)


def ellipsis(ascii_only: bool | None = None) -> str:
    """What ends a cut name: ``…``, or ``~`` where the font has no ellipsis."""
    return ELLIPSIS.text(ascii_only)


def dot(ascii_only: bool | None = None) -> str:
    """`` · `` between items of a line, `` | `` where the font has no middle dot."""
    return f" {SEPARATOR.text(ascii_only)} "


def arrows(ascii_only: bool | None = None) -> tuple[str, str, str]:
    """(left, right, range dash) for the "cols 1–5 of 6 →" indicator."""
    ascii_only = use_ascii() if ascii_only is None else ascii_only
    return ("<-", "->", "-") if ascii_only else ("←", "→", "–")


class AsciiBar(BarRenderable):
    """A progress bar drawn with ``=`` and ``-`` (Textual's uses heavy lines ``━╸``)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = self.width or options.max_width
        start, end = self.highlight_range
        start = max(0, min(width, round(start)))
        end = max(start, min(width, round(end)))
        text = Text(end="")
        text.append("-" * start, console.get_style(self.background_style))
        text.append("=" * (end - start), console.get_style(self.highlight_style))
        text.append("-" * (width - end), console.get_style(self.background_style))
        yield text


class AsciiProgressBar(ProgressBar):
    BAR_RENDERABLE = AsciiBar


class AsciiScrollBarRender(ScrollBarRender):
    """Whole-cell scrollbar thumbs: no partial-block glyphs (``▁▋``) a console font lacks."""

    VERTICAL_BARS = [" "] * 8
    HORIZONTAL_BARS = [" "] * 8


def progress_bar(**kwargs: object) -> ProgressBar:
    """A ProgressBar in the glyph set of this terminal."""
    cls = AsciiProgressBar if use_ascii() else ProgressBar
    return cls(**kwargs)  # type: ignore[arg-type]
