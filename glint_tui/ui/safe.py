"""Foreign text in Textual widgets: escaped (``core.safetext``) and never read as markup.

A plain ``str`` handed to ``Static``, ``Label``, ``notify`` or a ``DataTable`` cell is
parsed as Textual markup: an image named ``[bold]x`` would turn bold, and one named
``[/]`` would raise a MarkupError inside a render. Textual's markup escaping does not
cover every case (``[31m`` or a trailing backslash still change the parse), so foreign
text is never put inside markup at all: it goes in a Rich ``Text`` (:func:`plain`, or
``Text.assemble`` of escaped parts), or ``notify(..., markup=False)``.
"""

from __future__ import annotations

from rich.text import Text

from glint_tui.core.safetext import escape


def plain(text: object, style: str = "") -> Text:
    """*text* as a Text with its control characters escaped and no markup."""
    return Text(escape(text), style=style)
