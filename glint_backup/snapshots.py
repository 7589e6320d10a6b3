"""Snapshot manifests: what Glance held at one moment, pointing into the object store.

A manifest is one JSON file, written last in a run and atomically (0444), so a run
killed at any point leaves the previous snapshots exactly as they were. Each image
entry is the full ``ImageRecord`` dict plus ``members``, ``object`` (the sha512 naming
its data in the store, or null for metadata-only images) and ``error`` (a failed
download, carried forward instead of being mistaken for a deletion).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from glint_backup.errors import BackupConfigError
from glint_backup.store import READ_ONLY, ObjectStore
from glint_tui.core.fsutil import atomic_write_json

FORMAT = 1
ID_FORMAT = "%Y-%m-%dT%H-%M-%S"


def new_id(now: float | None = None) -> str:
    """Sortable, unique, shell-friendly: ``2026-11-22T10-15-00.123456Z``."""
    now = time.time() if now is None else now
    dt = datetime.fromtimestamp(now, timezone.utc)
    return f"{dt.strftime(ID_FORMAT)}.{dt.microsecond:06d}Z"


def created(manifest: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(manifest["created"].replace("Z", "+00:00"))


def list_ids(store: ObjectStore) -> list[str]:
    """Snapshot ids, oldest first."""
    if not store.snapshots.is_dir():
        return []
    return sorted(p.stem for p in store.snapshots.glob("*.json") if not p.name.startswith("."))


def path(store: ObjectStore, snapshot_id: str) -> Path:
    return store.snapshots / f"{snapshot_id}.json"


def load(store: ObjectStore, snapshot_id: str) -> dict[str, Any]:
    with open(path(store, snapshot_id), encoding="utf-8") as f:
        return json.load(f)


def latest(store: ObjectStore) -> dict[str, Any] | None:
    ids = list_ids(store)
    return load(store, ids[-1]) if ids else None


def resolve(store: ObjectStore, wanted: str | None) -> str:
    """``None``/``latest`` -> newest; otherwise an exact id or a unique prefix of one."""
    ids = list_ids(store)
    if not ids:
        raise BackupConfigError(f"no snapshots in {store.root} yet")
    if wanted in (None, "latest"):
        return ids[-1]
    if wanted in ids:
        return wanted
    matches = [i for i in ids if i.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    what = "matches several snapshots" if matches else "matches no snapshot"
    raise BackupConfigError(f"snapshot {wanted!r} {what} (see `glint-backup snapshots`)")


def images_equal(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> bool:
    key = lambda e: e["id"]  # noqa: E731
    return sorted(a, key=key) == sorted(b, key=key)


def write(
    store: ObjectStore,
    images: list[dict[str, Any]],
    source: dict[str, Any],
    projects: dict[str, str],
    summary: dict[str, Any],
) -> str:
    """Write a new manifest atomically; return its id."""
    now = time.time()
    snapshot_id = new_id(now)
    while path(store, snapshot_id).exists():  # two runs in one microsecond: never overwrite
        now += 1e-6
        snapshot_id = new_id(now)
    manifest = {
        "format": FORMAT,
        "id": snapshot_id,
        "created": datetime.fromtimestamp(now, timezone.utc).isoformat().replace("+00:00", "Z"),
        "source": source,
        "projects": projects,
        "summary": summary,
        "images": sorted(images, key=lambda e: e["id"]),
    }
    atomic_write_json(path(store, snapshot_id), manifest, mode=READ_ONLY)
    return snapshot_id


def referenced_objects(store: ObjectStore) -> dict[str, list[str]]:
    """sha512 -> the snapshot ids that reference it."""
    refs: dict[str, list[str]] = {}
    for sid in list_ids(store):
        for entry in load(store, sid)["images"]:
            for key in ("object", "previous_object"):
                if entry.get(key):
                    refs.setdefault(entry[key], []).append(sid)
    return refs
