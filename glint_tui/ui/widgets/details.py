"""The details pane: everything about the image under the cursor, in a few lines.

Ages are computed from ``MatrixModel.now`` (injectable) so screenshots are repeatable.
Everything a cloud reported (name, formats, hash, owner, status, id, errors) is escaped
(``core.safetext``) and appended to a Text, which never reads markup.
"""

from __future__ import annotations

import humanize
from rich.text import Text
from textual.widgets import Static

from glint_tui.core.glyphs import label
from glint_tui.core.inventory import Matrix, Row
from glint_tui.core.model import CellState, ProjectRef
from glint_tui.core.safetext import escape
from glint_tui.ui.glyphs import dot, ellipsis
from glint_tui.ui.state import MatrixModel
from glint_tui.ui.widgets.matrix_view import column_label


def size_text(size: int | None) -> str:
    return humanize.naturalsize(size, binary=True) if size else "unknown size"


def age_text(created: float | None, now: float) -> str:
    if created is None:
        return "unknown age"
    return humanize.naturaltime(max(0.0, now - created))


class DetailsPane(Static):
    """Shows the row and cell under the cursor; ``show(row, ref)`` re-renders it."""

    def __init__(self, model: MatrixModel, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.model = model
        self._last: Text | None = None
        self.busy = False  # an inventory refresh is running

    def show(self, row: Row | None, ref: ProjectRef | None) -> None:
        text = self.describe(row, ref)
        if text != self._last:
            self._last = text
            self.update(text, layout=False)  # fixed height: repaint only, no relayout

    def describe(self, row: Row | None, ref: ProjectRef | None) -> Text:
        model = self.model
        if row is None:
            if not model.matrix.rows:
                if self.busy:
                    return Text(f"Listing the images of every column{ellipsis()}", style="dim")
                return Text("No images yet. Press r to refresh.", style="dim")
            return Text("No image matches the filters (f: visibility, /: text).", style="dim")
        t = Text()
        t.append(escape(row.name), style="bold")
        if row.conflict:
            t.append("  name conflict: another image has this name with other bytes", "yellow")
        t.append("\n")
        fmt = escape(f"{row.disk_format or '?'}/{row.container_format or '?'}")
        age = age_text(model.created(row), model.now())
        sep = dot()
        t.append(f"{size_text(row.size)}{sep}{age}{sep}{fmt}{sep}")
        if row.has_data:
            algo, _, digest = escape(row.content_key).partition(":")
            t.append(f"{algo}:{digest[:24]}{ellipsis()}\n", style="dim")
        else:
            t.append("no data uploaded\n", style="dim")
        present = [c for c in row.cells.values() if c.present]
        t.append("present ", style="dim")
        t.append(", ".join(column_label(c.ref) for c in sorted(present, key=lambda c: c.ref)))
        t.append("\n" if present else "nowhere\n")
        if ref is not None:
            cell = row.cell(ref)
            state, live = model.state(row, ref)
            t.append(f"{column_label(ref)}: ", style="bold")
            status = model.matrix.status.get(ref)
            listed = status is None or status.ok
            t.append(label(state) if listed or live is not None else "unknown")
            if cell.present and cell.image is not None:
                img = cell.image
                who = owner_name(model.matrix, ref, img.owner)
                owner = "owned" if cell.owned else f"owner {who}"
                extra = f"{sep}protected" if cell.protected else ""
                text = f"{sep}{img.visibility}{sep}{owner}{sep}{img.status}{extra}{sep}id {img.id}"
                t.append(escape(text))
            refusal = model.refusal(row, ref)
            if refusal is not None:
                t.append(f"\nwill be refused: {escape(refusal)}", style="bold yellow")
            if not listed:
                t.append(f"\ncannot list this column: {escape(status.error)}", style="red")
            if live is not None and live.state is CellState.ERROR:
                t.append(f"\nerror: {escape(live.message or 'failed')}", style="bold red")
                t.append(f"  (R retry{sep}c clear)", style="dim")
        return t


def owner_name(matrix: Matrix, ref: ProjectRef, owner: str | None) -> str:
    """An owner id as a project name where glint knows it (a column of the same cloud
    lists that project), else the id as Glance gave it."""
    cloud = matrix.cloud_of(ref)
    for other, status in matrix.status.items():
        same = other.repository == ref.repository or (
            cloud is not None and matrix.cloud_of(other) == cloud
        )
        if owner and same and status.project_id == owner:
            return other.project
    return owner or "?"
