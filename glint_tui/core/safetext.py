"""Text from a cloud, made safe to show on the operator's terminal.

Image names, properties, owners, descriptions and error bodies are chosen by whoever can
create an image somewhere glint looks. Written raw, an ESC sequence recolours or rewrites
the screen, a newline forges a table row and a bidi override reorders what is read. So
every character Python does not call printable - C0 and C1 controls, DEL, newlines and
tabs, Unicode format characters (bidi embeddings, overrides and isolates, zero-width
characters), line/paragraph separators, non-ASCII spaces, surrogates, private-use and
unassigned code points - is shown as a visible escape (``\\x1b``, ``\\n``, ``\\u202e``).
A backslash is printed as it is (it cannot move the cursor).

Escaping is for display only: the records keep the exact text (a copy keeps the exact
name, JSON output carries it exactly, with JSON's own escapes).
"""

from __future__ import annotations

_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(ch: str) -> str:
    short = _SHORT.get(ch)
    if short is not None:
        return short
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def escape(text: object) -> str:
    """*text* with every non-printable character shown as an escape: one safe line."""
    s = text if isinstance(text, str) else str(text)
    if s.isprintable():  # the usual case, at C speed: nothing to do
        return s
    return "".join(ch if ch.isprintable() else _escaped(ch) for ch in s)


def escape_lines(text: object) -> str:
    """Like :func:`escape`, but keeps the line breaks of glint's own multi-line messages.

    Only for text whose newlines glint put there (e.g. an error listing candidates, each
    already escaped); foreign text embedded in it must go through :func:`escape` first.
    """
    s = text if isinstance(text, str) else str(text)
    return "\n".join(escape(line) for line in s.split("\n"))
