"""Snapshot manifests: what Glance held at one moment, pointing into the object store.

A manifest is one JSON object, written last in a run and atomically (0444 on a local disk;
sealed like an object in an encrypted repository), so a run
killed at any point leaves the previous snapshots exactly as they were. Each image
entry is the full ``ImageRecord`` dict plus ``members``, ``object`` (the sha512 naming
its data in the store, or null for metadata-only images) and ``error`` (a failed
download, carried forward instead of being mistaken for a deletion).

A manifest that cannot be read back (not UTF-8, not JSON, nested too deeply, the wrong
shape, an object name that is not a sha512) is *damaged*: it is reported with its file
name, moved to ``damaged/`` like a damaged object, and every command goes on with the
snapshots that remain. verify keeps reporting it (and prune stays refused, since the lost
manifest may have been the only one naming some objects) until the operator deletes it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

from glint_backup import logsetup
from glint_backup.errors import BackupConfigError, BackupError, Damaged
from glint_backup.store import ObjectStore
from glint_tui.core.errors import DataMismatch
from glint_tui.core.jsonfile import BadJSON, parse_json

FORMAT = 1
ID_FORMAT = "%Y-%m-%dT%H-%M-%S"
DAMAGED_PREFIX = "snapshot-"
_SHA512 = re.compile(r"[0-9a-f]{128}")


class DamagedManifest(Damaged):
    """A manifest that cannot be read; it has been moved aside (``moved_to``)."""

    def __init__(self, message: str, moved_to: str | None):
        super().__init__(message)
        self.moved_to = moved_to


def new_id(now: float | None = None) -> str:
    """Sortable, unique, shell-friendly: ``2026-11-22T10-15-00.123456Z``."""
    now = time.time() if now is None else now
    dt = datetime.fromtimestamp(now, timezone.utc)
    return f"{dt.strftime(ID_FORMAT)}.{dt.microsecond:06d}Z"


def created(manifest: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(manifest["created"].replace("Z", "+00:00"))


def list_ids(store: ObjectStore) -> list[str]:
    """Snapshot ids, oldest first."""
    return store.snapshot_ids()


def where(store: ObjectStore, snapshot_id: str) -> str:
    """The manifest's place, for messages (a path, or a swift:// / s3:// URL)."""
    return f"{store.url}/{store.manifest_key(snapshot_id)}"


def _shape_problem(doc: Any) -> str | None:
    """Why *doc* is not a manifest glint-backup can trust (None when it is)."""
    if not isinstance(doc, dict):
        return "not a JSON object"
    if not isinstance(doc.get("images"), list) or not isinstance(doc.get("created"), str):
        return "no 'images' list or 'created' time"
    try:
        created(doc)
    except ValueError:
        return f"'created' is not a time: {doc['created'][:40]!r}"
    for entry in doc["images"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
            return "an image entry without an id"
        for key in ("object", "previous_object"):
            obj = entry.get(key)
            if obj is not None and not (isinstance(obj, str) and _SHA512.fullmatch(obj)):
                return f"image {entry['id'][:40]!r}: {key} is not a sha512"
    return None


def _move_aside(store: ObjectStore, snapshot_id: str) -> str | None:
    """Move a damaged manifest to damaged/ (None if even that failed, e.g. read-only)."""
    try:
        return store.move_manifest_aside(snapshot_id, DAMAGED_PREFIX)
    except (OSError, BackupError):
        return None


def load(store: ObjectStore, snapshot_id: str, move_aside: bool = True) -> dict[str, Any]:
    """Read one manifest; a damaged one is moved aside and raises DamagedManifest (exit 8)."""
    file = where(store, snapshot_id)
    try:
        data = store.read_manifest(snapshot_id)
        if data is None:
            raise BackupConfigError(f"snapshot {snapshot_id}: {file} does not exist")
        doc = parse_json(data, file)
        problem = _shape_problem(doc)
    except BadJSON as e:
        problem = str(e).removeprefix(f"{file}: ")
    except DataMismatch as e:
        problem = str(e)
    except OSError as e:
        problem = f"cannot be read ({e.strerror})"
    if problem is None:
        doc["id"] = snapshot_id  # the file name is what every command refers to
        return doc
    moved = _move_aside(store, snapshot_id) if move_aside else None
    state = (
        f"moved to {moved}"
        if moved
        else "left in place"
        if not move_aside
        else ("could not be moved aside")
    )
    logsetup.get().warning("damaged snapshot manifest %s: %s; %s", file, problem, state)
    raise DamagedManifest(f"snapshot manifest {file} is damaged ({problem}); {state}", moved)


def readable(
    store: ObjectStore, newest_first: bool = False, move_aside: bool = True
) -> Iterator[dict[str, Any]]:
    """Every manifest that can be read; damaged ones are reported, moved aside, skipped."""
    ids = list_ids(store)
    for sid in reversed(ids) if newest_first else ids:
        try:
            yield load(store, sid, move_aside)
        except DamagedManifest:
            continue


def damaged_manifests(store: ObjectStore) -> list[str]:
    """Manifests moved aside earlier (kept until the operator deletes them)."""
    return [f"{store.url}/{key}" for key in store.damaged_keys(DAMAGED_PREFIX)]


def latest(store: ObjectStore, move_aside: bool = True) -> dict[str, Any] | None:
    """The newest readable manifest (damaged newer ones are moved aside on the way)."""
    return next(readable(store, newest_first=True, move_aside=move_aside), None)


def resolve(store: ObjectStore, wanted: str | None) -> str:
    """``None``/``latest`` -> newest; otherwise an exact id or a unique prefix of one."""
    if wanted in (None, "latest"):
        newest = latest(store)
        if newest is None:
            raise BackupConfigError(f"no snapshots in {store.url} yet")
        return newest["id"]
    ids = list_ids(store)
    if not ids:
        raise BackupConfigError(f"no snapshots in {store.url} yet")
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
    taken = set(store.snapshot_ids())
    while snapshot_id in taken:  # two runs in one microsecond: never overwrite
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
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    store.write_manifest(snapshot_id, text.encode())
    return snapshot_id


def referenced_objects(store: ObjectStore) -> dict[str, list[str]]:
    """sha512 -> the snapshot ids that reference it."""
    refs: dict[str, list[str]] = {}
    for manifest in readable(store):
        for entry in manifest["images"]:
            for key in ("object", "previous_object"):
                if entry.get(key):
                    refs.setdefault(entry[key], []).append(manifest["id"])
    return refs
