"""Read JSON that may be damaged or hostile (configs, manifests) without a traceback.

Every failure becomes one ``BadJSON`` whose text says what is wrong in a few words, so the
caller can prefix the file name and turn it into its exit code: a config error (exit 2) or a
damaged manifest (moved aside). Local to glint-backup for now; glint's own files get the
same treatment in glint_tui.core.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MAX_DEPTH = 32  # configs are flat and manifests 4 levels deep: anything deeper is garbage
MAX_BYTES = 512 << 20  # a manifest of 100 000 images is ~250 MiB


class BadJSON(ValueError):
    """The text is not the JSON document it should be (the message says why)."""


def _depth(value: Any) -> int:
    """Nesting depth, iteratively (a recursive walk is what overflows on hostile input)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return depth
            stack.extend((v, depth + 1) for v in item if isinstance(v, (dict, list)))
    return deepest


def loads(data: bytes) -> Any:
    """Decode UTF-8 JSON bytes; raise BadJSON for binary, non-UTF-8, invalid or deep input."""
    if b"\x00" in data:
        return _fail("binary data (a NUL byte), not JSON text")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return _fail(f"not UTF-8 text (invalid byte at offset {e.start})")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        return _fail(f"not valid JSON (line {e.lineno}: {e.msg})")
    except RecursionError:
        return _fail(f"JSON nested too deeply (more than {MAX_DEPTH} levels)")
    if _depth(doc) > MAX_DEPTH:
        return _fail(f"JSON nested too deeply (more than {MAX_DEPTH} levels)")
    return doc


def load(path: Path) -> Any:
    """Read and decode *path*; OSError (missing, unreadable) is left to the caller."""
    with open(path, "rb") as f:
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        return _fail(f"larger than {MAX_BYTES >> 20} MiB")
    return loads(data)


def _fail(reason: str) -> Any:
    raise BadJSON(reason)
