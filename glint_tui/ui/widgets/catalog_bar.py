"""The catalog bar: under the matrix while a catalog file is open, what the catalog's
plan is (its totals, or that it is being made, or why it could not be), and what it wants
of the cell under the cursor, in the words of ``glint catalog plan``.

Text from clouds, mirrors and the file name is escaped (``catalog_view`` did) and shown
as plain text, never markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from glint_tui.core.inventory import Row
from glint_tui.core.model import ProjectRef
from glint_tui.core.safetext import escape
from glint_tui.ui.catalog_view import CatalogOverlay
from glint_tui.ui.glyphs import dot, ellipsis


class CatalogBar(Static):
    """Two lines: the plan's state, then the cursor cell's wants."""

    DEFAULT_CSS = """
    CatalogBar {
        height: 2;
        padding: 0 1;
        background: $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, path: str, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.given = path
        self.path = escape(path)
        self.overlay: CatalogOverlay | None = None
        self.state = f"planning{ellipsis()}"
        self.error = False
        self._cell = Text()

    def planning(self) -> None:
        self.state, self.error = f"planning{ellipsis()}", False
        self._paint()

    def failed(self, error: str) -> None:
        """The plan could not be made: the first line of why (the file's own name, which
        the heading shows, left off), the rest in the notification."""
        lines = error.splitlines() or [""]
        first = lines[0].removeprefix(f"{self.given}: ")
        more = f"  (+{len(lines) - 1} more)" if len(lines) > 1 else ""
        self.overlay, self.state, self.error = None, escape(first) + more, True
        self._paint()

    def planned(self, overlay: CatalogOverlay) -> None:
        self.overlay, self.error = overlay, False
        plan = overlay.plan
        if plan.empty and not plan.refusals:
            self.state = "nothing to do: every column has what the catalog asks"
        else:
            self.state = f"{plan.summary()}{dot()}C reviews and runs it"
        self._paint()

    def show(self, row: Row | None, ref: ProjectRef | None) -> None:
        """What the catalog wants of the cell under the cursor."""
        t = Text()
        overlay = self.overlay
        if overlay is not None and row is not None:
            version = overlay.version_of(row.key)
            if version is not None:
                t.append(f"{escape(version[0])} {escape(version[1])}", style="cyan")
                t.append(dot())
            lines = overlay.describe(row.key, ref)
            if lines:
                t.append(lines[0].strip())
                if len(lines) > 1:
                    t.append(f"  (+{len(lines) - 1} more, C lists all)", style="dim")
            elif version is not None:
                t.append("nothing to do here", style="dim")
        if t != self._cell:
            self._cell = t
            self._paint()

    def _paint(self) -> None:
        t = Text(no_wrap=True, overflow="ellipsis")  # two lines, each cut, never wrapped
        t.append("catalog ", style="bold")
        t.append(self.path, style="bold")
        t.append(": ")
        t.append(self.state, style="bold red" if self.error else "")
        t.append("\n")
        t.append_text(self._cell)
        self.update(t)
