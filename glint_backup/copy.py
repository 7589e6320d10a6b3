"""``glint-backup copy --to REPOSITORY``: snapshots and their objects into another repository.

Only what the destination lacks moves: snapshots by id, objects by sha512. Each object is
streamed from the source (decrypted and decompressed there) into the destination (encoded
with the destination's own compression and key), and its sha512 is checked on the way, as
a backup run checks Glance's bytes: a damaged source object is never copied. A snapshot's
manifest is written only after every object it names is in the destination; a snapshot
with a damaged object is left out (exit 3) and the others go on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from glint_backup import logsetup, snapshots
from glint_backup.storage.base import StorageError
from glint_backup.store import ObjectStore
from glint_tui.core.errors import DataMismatch


@dataclass
class CopyReport:
    snapshots: list[str] = field(default_factory=list)  # copied
    skipped: int = 0  # already in the destination
    objects: int = 0
    bytes: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _objects(manifest: dict[str, Any]) -> dict[str, int | None]:
    """sha512 -> the image size (None when only an older snapshot knew it)."""
    wanted: dict[str, int | None] = {}
    for entry in manifest["images"]:
        if entry.get("object"):
            wanted[entry["object"]] = entry.get("size")
        if entry.get("previous_object"):
            wanted.setdefault(entry["previous_object"], None)
    return wanted


def copy(src: ObjectStore, dst: ObjectStore) -> CopyReport:
    log = logsetup.get()
    report = CopyReport()
    present = set(dst.snapshot_ids())
    for manifest in snapshots.readable(src):
        sid = manifest["id"]
        if sid in present:
            report.skipped += 1
            continue
        try:
            for sha, size in sorted(_objects(manifest).items()):
                if dst.has(sha):
                    continue
                stored = dst.add_stream(src.open_object(sha), expect_sha512=sha, expect_size=size)
                report.objects += 1
                report.bytes += stored.size
                log.info("copied object %s… (%d bytes)", sha[:16], stored.size)
        except (DataMismatch, StorageError) as e:
            log.error("snapshot %s not copied: %s", sid, e)
            report.failed.append({"snapshot": sid, "error": str(e)})
            continue
        data = src.read_manifest(sid)
        assert data is not None  # readable() just read it
        dst.write_manifest(sid, data)
        report.snapshots.append(sid)
        log.info("copied snapshot %s to %s", sid, dst.url)
    return report
