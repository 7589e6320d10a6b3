"""``diff SNAP1 SNAP2`` and ``stats``: what changed between two snapshots, what the
repository holds and how much its compression saves."""

from __future__ import annotations

from typing import Any

from glint_backup import snapshots
from glint_backup.store import ZST, ObjectStore

# Fields that say how Glance stores an image rather than what it is
_NOISE = frozenset({"error", "previous_object"})


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Images added, removed, and changed (with the names of the fields that differ)."""
    a = {e["id"]: e for e in old["images"]}
    b = {e["id"]: e for e in new["images"]}
    changed = []
    for image_id in sorted(set(a) & set(b)):
        fields = sorted(
            k for k in set(a[image_id]) | set(b[image_id])
            if k not in _NOISE and a[image_id].get(k) != b[image_id].get(k)
        )  # fmt: skip
        if fields:
            changed.append({
                "id": image_id, "name": b[image_id].get("name"), "fields": fields,
                "data_changed": a[image_id].get("object") != b[image_id].get("object"),
            })  # fmt: skip
    brief = lambda e: {"id": e["id"], "name": e.get("name"), "size": e.get("size")}  # noqa: E731
    return {
        "from": old["id"],
        "to": new["id"],
        "added": [brief(b[i]) for i in sorted(set(b) - set(a))],
        "removed": [brief(a[i]) for i in sorted(set(a) - set(b))],
        "changed": changed,
    }


def stats(store: ObjectStore) -> dict[str, Any]:
    """Snapshots, images, objects, stored and original bytes, compression ratio."""
    manifests = list(snapshots.readable(store))
    sizes: dict[str, int] = {}
    for manifest in manifests:
        for entry in manifest["images"]:
            if entry.get("object") and entry.get("size") is not None:
                sizes[entry["object"]] = entry["size"]
    objects = dict(store.iter_objects())
    referenced = {sha: store.key_of(sha) for sha in sizes}
    original = sum(size for sha, size in sizes.items() if referenced[sha])
    stored = sum(objects[key] for key in referenced.values() if key)
    latest = manifests[-1] if manifests else None
    return {
        "repository": store.url,
        "encrypted": store.encrypted,
        "compression": store.compression,
        "snapshots": len(manifests),
        "latest": latest["id"] if latest else None,
        "images": len(latest["images"]) if latest else 0,
        "objects": len(objects),
        "compressed_objects": sum(1 for k in objects if k.endswith(ZST)) if not store.key else None,
        "original_bytes": original,
        "stored_bytes": stored,
        "repository_bytes": sum(objects.values()),
        "compression_ratio": round(original / stored, 3) if stored else None,
    }
