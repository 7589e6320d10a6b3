"""Reading the JSON glint keeps (config, journal, backup manifests) without a traceback.

A hand edit, a disk error or a hostile file can hold bytes that are not UTF-8, a number
Python refuses to convert, ``NaN``, or brackets nested thousands deep (``json`` then
raises RecursionError, and even a shallower tree can overflow the stack when it is
written back). Every one of these becomes one :class:`BadJSON` line naming the file -
a ConfigError, so the command line exits 2 - and callers that can live without the
document (a damaged manifest, one journal line) catch it and carry on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from glint_tui.core.errors import ConfigError

MAX_DEPTH = 32
"""Deepest nesting accepted: glint's own documents are at most five levels deep."""

MAX_BYTES = 64 << 20
"""Largest file read: far above any config or journal, a guard against reading a device."""

_MISSING: Any = object()


class BadJSON(ConfigError):
    """A JSON document glint cannot use; the message names the file (and line)."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _too_deep(doc: Any, limit: int) -> bool:
    """True when *doc* nests containers more than *limit* levels (iterative: no recursion)."""
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return False


def parse_json(data: bytes | str, where: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The document in *data*; a BadJSON starting with *where* when it is not usable JSON."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise BadJSON(
                f"{where}: not UTF-8 text (byte 0x{e.object[e.start]:02x} at offset {e.start})"
            ) from None
    try:
        doc = json.loads(data, parse_constant=_no_constant)
    except json.JSONDecodeError as e:
        raise BadJSON(
            f"{where}: not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})"
        ) from None
    except RecursionError:
        raise BadJSON(f"{where}: nested more than {max_depth} levels deep") from None
    except ValueError as e:  # NaN/Infinity, integers longer than Python converts
        raise BadJSON(f"{where}: not valid JSON: {str(e).split(';')[0]}") from None
    if isinstance(doc, (dict, list)) and _too_deep(doc, max_depth):
        raise BadJSON(f"{where}: nested more than {max_depth} levels deep")
    return doc


def read_json(
    path: Path,
    *,
    default: Any = _MISSING,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
) -> Any:
    """The JSON document in *path*, or *default* when the file does not exist.

    Without *default*, a missing file is a BadJSON too. Any other problem (unreadable,
    too large, not UTF-8, not JSON, too deep) is a BadJSON naming *path*.
    """
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except FileNotFoundError:
        if default is not _MISSING:
            return default
        raise BadJSON(f"{path}: not found") from None
    except OSError as e:
        raise BadJSON(f"{path}: cannot read: {e.strerror or e}") from None
    if len(data) > max_bytes:
        raise BadJSON(f"{path}: larger than {max_bytes >> 20} MiB: not a file glint wrote")
    return parse_json(data, str(path), max_depth=max_depth)
