"""Foreign text in Textual widgets: escaped (``core.safetext``) and never read as markup.

A plain ``str`` handed to ``Static``, ``Label``, ``notify`` or a ``DataTable`` cell is
parsed as Textual markup: an image named ``[bold]x`` would turn bold, and one named
``[/]`` would raise a MarkupError inside a render. Names, errors and notices from a cloud
go through :func:`plain` (a Rich ``Text``: no markup) or, inside glint's own markup
strings, :func:`in_markup`.
"""

from __future__ import annotations

from rich.text import Text
from textual.markup import escape as escape_markup

from glint_tui.core.safetext import escape


def plain(text: object, style: str = "") -> Text:
    """*text* as a Text with its control characters escaped and no markup."""
    return Text(escape(text), style=style)


def in_markup(text: object) -> str:
    """*text* escaped for the terminal and for Textual's markup, to embed in markup."""
    return escape_markup(escape(text))
