"""The matrix screen's status line: what the view shows (project, visibility, sort,
filter), what is pending or failed, and which columns are on screen.

Assembled as Textual ``Content``, not markup: the project and the filter may hold any
character (a filter "[31m" or a project "[b" must stay text).
"""

from __future__ import annotations

from textual.content import Content

from glint_tui.core.safetext import escape
from glint_tui.ui.glyphs import arrows, dot
from glint_tui.ui.state import MatrixModel
from glint_tui.ui.widgets.matrix_view import column_label


def status_text(model: MatrixModel, *, read_only: bool, ranging: bool) -> Content:
    """The left side: modes first (read-only, range), then failures, pending, the view."""
    m = model
    project = column_label(m.project) if m.project else "all"
    parts = [
        Content.assemble("project ", (project, "b")),
        Content.assemble("show ", (m.visibility, "b")),
        Content.assemble("sort ", (m.sort, "b")),
    ]
    if m.text:
        parts.append(Content.assemble("filter ", (escape(m.text), "b")))
    if m.pending:
        parts.insert(0, Content.assemble((str(m.pending), "b"), " pending"))
    failed = [r for r, s in m.matrix.status.items() if not s.ok]
    if failed:
        many = f"{len(failed)} column{'s' if len(failed) != 1 else ''} failed"
        parts.insert(0, Content.styled(many, "red"))
    if ranging:
        parts.insert(0, Content.styled(" RANGE: move, space toggles, Esc ends ", "reverse"))
    if read_only:
        parts.insert(0, Content.styled(" READ-ONLY ", "reverse"))
    return Content(dot()).join(parts)


def columns_text(count: int, shown: tuple[int, int] | None) -> str:
    """ "cols 1–5 of 6 →" when some of *count* columns are off-screen (*shown*: the first
    and last on screen), with arrows saying where; "" when all are shown."""
    if shown is None or count == 0:
        return ""
    first, last = shown
    if first == 0 and last >= count - 1:
        return ""
    left, right, dash = arrows()
    text = f"cols {first + 1}{dash}{max(first, last) + 1} of {count}"
    if first > 0:
        text = f"{left} {text}"
    if last < count - 1:
        text = f"{text} {right}"
    return f"[b]{text}[/b]"
