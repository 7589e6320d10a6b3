"""The image × repository(project) grid, drawn with Textual's line API.

A DataTable of 2000 × 30 would build and restyle 60 000 cells; this widget renders only
the lines and columns on screen, straight from ``MatrixModel``, so first paint and a
toggle cost the same whatever the inventory size. Line 0 (column headers) and the image
column are drawn outside the scrolled area, so they stay visible while scrolling.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.theme import Theme

from glint_tui.core.glyphs import SAME_CLOUD
from glint_tui.core.inventory import Row
from glint_tui.core.model import CellState, ProjectRef
from glint_tui.core.safetext import escape
from glint_tui.ui.catalog_view import word_style
from glint_tui.ui.glyphs import conflict_mark, ellipsis, looks, refused_look
from glint_tui.ui.state import CellKey, MatrixModel

CURSOR = Style(reverse=True, bold=True)
HEADER = Style(bold=True)
HEADER_ERROR = Style(color="red", bold=True)
DIM = Style(dim=True)
CONFLICT = Style(color="yellow", bold=True)
CURSOR_ROW = Style(bold=True, underline=True)
CATALOG = Style(color="cyan")
MARKED = frozenset({CellState.WANTED, CellState.UNWANTED})
SUFFIX = 14  # after the name: " " size(5) " " hash(6) " "
STEP = 4  # cells per widen/narrow key press


def column_label(ref: ProjectRef) -> str:
    """``repo (project)``, or ``repo/region (project)`` for a column of one region (the
    region columns of a repository share its project), escaped: safe in a Segment or Text
    (not inside markup)."""
    return escape(f"{_where(ref)} ({ref.project})")


def _where(ref: ProjectRef) -> str:
    return ref.repository if ref.region is None else f"{ref.repository}/{ref.region}"


def header_text(ref: ProjectRef, width: int, marks: str = "", mark: str = "…") -> str:
    """*ref*'s header in *width* cells after *marks*. A region column too narrow for its
    whole label keeps ``repo/region`` (what tells one repository's regions apart) and
    cuts the project, or cuts ``repo/region`` in its middle (the region ends it)."""
    text = marks + column_label(ref)
    if ref.region is None or cell_len(text) <= width:
        return _fit(text, width, mark)
    where = marks + escape(_where(ref))
    if cell_len(where) + 3 <= width:  # " (" and at least one cell of the project
        return _fit(f"{where} ({escape(ref.project)}", width, mark)
    return _fit_middle(where, width, mark)


def _fit_middle(text: str, width: int, mark: str = "…") -> str:
    """Cut *text* to *width* cells in its middle, then pad: the start and the end of an
    image name both tell images apart (``ubuntu-24.04-server-cloudimg-…-20261201``)."""
    if cell_len(text) <= width:
        return text + " " * (width - cell_len(text))
    if width < 8:
        return _fit(text, width, mark)
    head = set_cell_size(text, (width - 1) * 2 // 5).rstrip()
    tail = text[len(text) - (width - 1 - cell_len(head)) :]
    while cell_len(tail) > width - 1 - cell_len(head):
        tail = tail[1:]
    return _fit(head + mark + tail, width, mark)


def short_size(size: int | None) -> str:
    """A size in at most 5 cells (``512M``, ``2.0G``, ``17K``): what sorting by size sorts."""
    if size is None:
        return "?"
    value, unit = float(size), "B"
    for unit in ("B", "K", "M", "G", "T", "P"):
        if value < 1000 or unit == "P":
            break
        value /= 1024
    return f"{value:.1f}{unit}" if value < 9.95 and unit != "B" else f"{value:.0f}{unit}"


def _fit(text: str, width: int, mark: str = "…") -> str:
    """Cut *text* to *width* cells ending with *mark* (one cell), then pad."""
    if cell_len(text) > width:
        text = text[: max(0, width - 1)] + mark
    return text + " " * max(0, width - cell_len(text))


class MatrixView(ScrollView, can_focus=True):
    """Cursor-driven grid. Posts ``CursorMoved`` so the details pane can follow."""

    BINDINGS: list[BindingType] = [
        Binding("up,k", "move(0,-1)", "Up", show=False, id="matrix.up"),
        Binding("down,j", "move(0,1)", "Down", show=False, id="matrix.down"),
        Binding("left,h", "move(-1,0)", "Left", show=False, id="matrix.left"),
        Binding("right,l", "move(1,0)", "Right", show=False, id="matrix.right"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="matrix.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="matrix.page_down"),
        Binding("home,g", "jump(0)", "First row", show=False, id="matrix.first"),
        Binding("end,G", "jump(-1)", "Last row", show=False, id="matrix.last"),
        Binding("greater_than_sign", "widen(1)", "Wider", show=False, id="matrix.wider"),
        Binding("less_than_sign", "widen(-1)", "Narrower", show=False, id="matrix.narrower"),
    ]

    class CursorMoved(Message):
        def __init__(self, row: Row | None, ref: ProjectRef | None) -> None:
            super().__init__()
            self.row = row
            self.ref = ref

    class Scrolled(Message):
        """The visible columns changed (horizontal scroll or resize)."""

    def __init__(self, model: MatrixModel, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.model = model
        self.cursor_row = 0
        self.cursor_col = 0
        self.anchor: tuple[int, int] | None = None
        self.looks = looks()
        self.refused = refused_look()
        self.mark = conflict_mark()
        self.cut = ellipsis()
        self.col_width = 8
        self.label_width = 24
        self.widened = 0  # the operator's widen/narrow presses (< >), kept across refreshes
        self._longest = 0  # the longest image name, in cells
        self._index: dict[tuple[str, str], int] = {}
        self._styles: dict[tuple[Style, tuple[Style, ...]], Style] = {}
        self.reload()

    def on_mount(self) -> None:
        self._theme_changed(self.app.current_theme)
        self.app.theme_changed_signal.subscribe(self, self._theme_changed)

    def _theme_changed(self, theme: Theme) -> None:
        """Cell colours for a dark or a light background (``ui.glyphs.looks``)."""
        self.looks = looks(dark=theme.dark)
        self.refused = refused_look(dark=theme.dark)
        self._styles.clear()
        self.refresh()

    # --- geometry ------------------------------------------------------------------------
    def reload(self) -> None:
        """Re-read the model's rows/columns (after a refresh, filter or sort change)."""
        model = self.model
        self._index = {r.key: i for i, r in enumerate(model.rows)}
        labels = [column_label(c) for c in model.columns]
        self.col_width = max(6, min(14, max((cell_len(t) for t in labels), default=6) + 1))
        self._longest = max((cell_len(r.name) for r in model.rows), default=0)
        self.cursor_row = max(0, min(self.cursor_row, len(model.rows) - 1))
        self.cursor_col = max(0, min(self.cursor_col, len(model.columns) - 1))
        self._resize()
        self.refresh()

    def _resize(self) -> None:
        width = self.size.width or 80
        rows = self.model.matrix.rows
        header = len(f" image  ({len(rows)} of {len(rows)})")  # the header whole, if it can
        natural = max(18, min(max(self._longest + 3, header) + SUFFIX, max(18, width // 2)))
        wanted = natural + STEP * self.widened
        self.label_width = max(SUFFIX + 6, min(wanted, max(SUFFIX + 6, width - self.col_width)))
        # one spare column of width, so the last columns can be scrolled to on a boundary
        full = self.label_width + self.col_width * len(self.model.columns)
        region = self.scrollable_content_region.width or width
        spare = self.col_width if full > region else 0
        self.virtual_size = Size(
            full + spare,
            len(self.model.rows) + 1,
        )

    def action_widen(self, steps: int) -> None:
        """< and >: the image column narrower or wider, within the screen."""
        before = self.label_width
        self.widened += steps
        self._resize()
        if self.label_width == before:  # at a limit: the presses beyond it do not count
            self.widened -= steps
        self.scroll_to_cursor()
        self.refresh()
        self.post_message(self.Scrolled())

    def on_resize(self) -> None:
        self._resize()
        self.scroll_to_cursor()
        self.post_message(self.Scrolled())

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_x(old_value, new_value)
        if round(old_value) != round(new_value):
            self.post_message(self.Scrolled())

    def first_column(self) -> int:
        """The leftmost column drawn. Drawing starts on a column boundary, so a header
        label is never cut on its left, whatever the scroll position (mouse, scrollbar)."""
        return min(len(self.model.columns), math.ceil(self.scroll_x / self.col_width))

    def columns_shown(self) -> tuple[int, int]:
        """(first, last) indices of the columns drawn whole; last < first when none."""
        avail = max(0, self.scrollable_content_region.width - self.label_width)
        first = self.first_column()
        last = min(len(self.model.columns), first + self._fit_count(avail)) - 1
        return first, last

    def _fit_count(self, avail: int) -> int:
        """How many columns fit whole in *avail* cells (the last needs no trailing gap)."""
        return (avail + 1) // self.col_width

    @property
    def row(self) -> Row | None:
        rows = self.model.rows
        return rows[self.cursor_row] if 0 <= self.cursor_row < len(rows) else None

    @property
    def ref(self) -> ProjectRef | None:
        cols = self.model.columns
        return cols[self.cursor_col] if 0 <= self.cursor_col < len(cols) else None

    def selection(self) -> tuple[list[Row], list[ProjectRef]]:
        """The block between the range anchor and the cursor (or just the cursor cell)."""
        r0, c0 = self.anchor if self.anchor else (self.cursor_row, self.cursor_col)
        r1, c1 = self.cursor_row, self.cursor_col
        rows = self.model.rows[min(r0, r1) : max(r0, r1) + 1]
        cols = self.model.columns[min(c0, c1) : max(c0, c1) + 1]
        return rows, cols

    def _selected(self, r: int, c: int) -> bool:
        if self.anchor is None:
            return False
        r0, c0 = self.anchor
        return min(r0, self.cursor_row) <= r <= max(r0, self.cursor_row) and min(
            c0, self.cursor_col
        ) <= c <= max(c0, self.cursor_col)

    # --- cursor --------------------------------------------------------------------------
    def set_cursor(self, row: int, col: int) -> None:
        rows, cols = len(self.model.rows), len(self.model.columns)
        row = max(0, min(row, rows - 1))
        col = max(0, min(col, cols - 1))
        if (row, col) == (self.cursor_row, self.cursor_col):
            return
        old = self.cursor_row
        self.cursor_row, self.cursor_col = row, col
        if self.anchor is not None:
            self.refresh()
        else:
            self.refresh_line(old + 1)
            self.refresh_line(row + 1)
            self.refresh_line(0)
        self.scroll_to_cursor()
        self.post_message(self.CursorMoved(self.row, self.ref))

    def scroll_to_cursor(self) -> None:
        height = max(1, self.scrollable_content_region.height - 1)
        avail = max(self.col_width, self.scrollable_content_region.width - self.label_width)
        x, y = self.scroll_x, self.scroll_y
        if self.cursor_row < y:
            y = self.cursor_row
        elif self.cursor_row >= y + height:
            y = self.cursor_row - height + 1
        first, fit = self.first_column(), max(1, self._fit_count(avail))
        if self.cursor_col < first:
            first = self.cursor_col
        elif self.cursor_col >= first + fit:
            first = self.cursor_col - fit + 1
        x = first * self.col_width
        if (x, y) != (self.scroll_x, self.scroll_y):
            self.scroll_to(x, y, animate=False, immediate=True)

    def action_move(self, dx: int, dy: int) -> None:
        self.set_cursor(self.cursor_row + dy, self.cursor_col + dx)

    def action_page(self, direction: int) -> None:
        page = max(1, self.scrollable_content_region.height - 2)
        self.set_cursor(self.cursor_row + direction * page, self.cursor_col)

    def action_jump(self, where: int) -> None:
        self.set_cursor(0 if where == 0 else len(self.model.rows) - 1, self.cursor_col)

    def on_click(self, event: Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        row = int(self.scroll_y) + offset.y - 1
        if offset.x < self.label_width:
            col = self.cursor_col
        else:
            col = self.first_column() + (offset.x - self.label_width) // self.col_width
        self.set_cursor(row, col)

    # --- refreshing pieces ---------------------------------------------------------------
    def refresh_cells(self, keys: Iterable[CellKey]) -> None:
        """Repaint only the lines holding these cells (engine progress, toggles)."""
        lines = {self._index[k[0]] for k in keys if k[0] in self._index}
        for line in lines:
            self.refresh_line(line + 1)
        if self.cursor_row in lines:
            self.post_message(self.CursorMoved(self.row, self.ref))

    def refresh_cursor_line(self) -> None:
        self.refresh_line(self.cursor_row + 1)

    # --- drawing -------------------------------------------------------------------------
    def _cell_text(self, state: CellState, percent: int | None) -> str:
        glyph = self.looks[state].glyph
        if state is CellState.TRANSFERRING and percent is not None:
            text = f"{glyph}{percent}%" if self.col_width >= 6 else f"{percent}%"
            return text
        return glyph

    def _style(self, base: Style, *parts: Style) -> Style:
        """``base + parts``, memoised: rendering a line then costs dict lookups."""
        key = (base, parts)
        style = self._styles.get(key)
        if style is None:
            style = base
            for part in parts:
                style = style + part
            self._styles[key] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            return self._compose_line(self._header_label(base), self._header_cells(base), base)
        index = int(self.scroll_y) + y - 1
        if index >= len(self.model.rows):
            return Strip.blank(width, base)
        return self._compose_line(self._row_label(index, base), self._row_cells(index, base), base)

    def _visible_columns(self) -> range:
        width = self.scrollable_content_region.width
        first = self.first_column()
        count = (max(0, width - self.label_width) // self.col_width) + 2
        return range(first, min(len(self.model.columns), first + count))

    def _compose_line(self, label: list[Segment], cells: list[Segment], base: Style) -> Strip:
        """Label (fixed) + the horizontally scrolled window of the cells, exactly ``width``."""
        width = self.scrollable_content_region.width
        avail = max(0, width - self.label_width)
        cell_strip = Strip(cells).crop_extend(0, avail, base)
        label_strip = Strip(label, self.label_width)
        return Strip.join([label_strip, cell_strip]).crop_extend(0, width, base)

    def _header_label(self, base: Style) -> list[Segment]:
        model = self.model
        room = self.label_width - SUFFIX
        total = len(model.matrix.rows) + (len(model.catalog.new_rows) if model.catalog else 0)
        text = f" image  ({len(model.rows)} of {total})"
        if cell_len(text) > room:
            text = f" image {len(model.rows)}/{total}"
        text = _fit(text, room, self.cut)
        return [Segment(text + f" {'size':>5} sha512 ", self._style(base, HEADER))]

    def _header_cells(self, base: Style) -> list[Segment]:
        model = self.model
        body: list[Segment] = []
        for c in self._visible_columns():
            ref = model.columns[c]
            status = model.matrix.status.get(ref)
            marks, parts = "", [HEADER]
            if model.matrix.same_cloud(ref):  # another repository is this same cloud
                marks = SAME_CLOUD.text()
            if status is not None and not status.ok:
                marks, parts = "!" + marks, [HEADER_ERROR]
            if c == self.cursor_col:
                parts.append(CURSOR)
            label = header_text(ref, self.col_width - 1, marks, self.cut) + " "
            body.append(Segment(label, self._style(base, *parts)))
        return body

    def _row_label(self, index: int, base: Style) -> list[Segment]:
        row = self.model.rows[index]
        short = row.content_key.split(":", 1)[-1][:6] if row.has_data else "-     "
        catalog = self.model.catalog.version_of(row.key) if self.model.catalog else None
        mark = f" {self.mark}" if row.conflict else ""
        name_w = self.label_width - SUFFIX - cell_len(mark)
        name = " " + _fit_middle(escape(row.name), name_w - 1, self.cut)  # the cloud chose it
        cursor = index == self.cursor_row
        return [
            Segment(name, self._style(base, CURSOR_ROW) if cursor else base),
            Segment(mark, self._style(base, CONFLICT)),
            *self._suffix(row, short, catalog, base),
        ]

    def _suffix(
        self, row: Row, short: str, catalog: tuple[str, str] | None, base: Style
    ) -> list[Segment]:
        """Size and hash; for a row of an open catalog, its version in their place."""
        if catalog is not None:
            return [
                Segment(f" {_fit(escape(catalog[1]), 12, self.cut)} ", self._style(base, CATALOG))
            ]
        return [
            Segment(f" {short_size(row.size):>5}", base),
            Segment(" " + short + " ", self._style(base, DIM)),
        ]

    def _row_cells(self, index: int, base: Style) -> list[Segment]:
        model = self.model
        row = model.rows[index]
        w = self.col_width
        segs: list[Segment] = []
        status = model.matrix.status
        for c in self._visible_columns():
            ref = model.columns[c]
            st = status.get(ref)
            if st is not None and st.error is not None:
                segs.append(Segment(" " * w, base))  # unknown: the column failed to list
                continue
            state, live = model.state(row, ref)
            look = self.looks[state]
            text = self._cell_text(state, live.percent if live else None)
            toggled = state in MARKED
            if toggled and model.refusal(row, ref) is not None:
                look = self.refused
                text = look.glyph
            style = look.style
            word = model.catalog.word(row.key, ref) if model.catalog and not live else None
            if word is not None and not toggled:  # what the open catalog wants here
                text, style = _fit(word, w - 1, self.cut).strip(), word_style(word)
            if self.anchor is not None and self._selected(index, c):
                text = f"[{text}]"
            pad = w - len(text)
            left = pad // 2
            if index == self.cursor_row and c == self.cursor_col:
                style = self._style(base, style, CURSOR)
            else:
                style = self._style(base, style)
            segs.append(Segment(" " * left, base))
            segs.append(Segment(text, style))
            segs.append(Segment(" " * (pad - left), base))
        return segs
