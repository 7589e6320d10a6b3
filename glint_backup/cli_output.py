"""Shared by the glint-backup commands: output (human or --json), sizes, the repository."""

from __future__ import annotations

import argparse
import contextlib
import json
from typing import Any


def emit(args: argparse.Namespace, data: Any, human: str) -> None:
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
    elif human:
        print(human)


def size(n: int | None) -> str:
    if n is None:
        return "-"
    import humanize

    return humanize.naturalsize(n, binary=True)


@contextlib.contextmanager
def open_for(config, lock: bool = False, create: bool = False):
    """The repository, open for one command (and locked, for commands that change it)."""
    from glint_backup.lock import store_locked
    from glint_backup.repository import open_store

    store = open_store(config, create=create)
    try:
        if lock:
            with store_locked(store):
                yield store
        else:
            yield store
    finally:
        store.close()
