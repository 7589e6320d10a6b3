"""``glint-backup restore``: put images from a snapshot back into Glance, verified.

For each image: stream the stored object into Glance through a reader that re-hashes it and
fails the upload before its last bytes if they do not match (damaged or tampered data never
becomes an active image); skip it if
Glance already holds the same id with the same content, create it (original id unless
``--new-id``; Glance refuses any id it ever used, deleted ones included), upload, wait for
``active``, compare Glance's hash with ours, then members, owner, hidden, and
``protected`` last (a protected image could not be fixed up afterwards).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass
from typing import Any

from glint_backup import logsetup, snapshots
from glint_backup.errors import BackupConfigError, BackupError
from glint_backup.store import ObjectStore
from glint_tui.core.clouds.base import ImageSpec
from glint_tui.core.errors import BadRequest, CloudError, Conflict, DataMismatch, ImageNotFound

ACTIVE_TIMEOUT = 600.0


@dataclass
class Outcome:
    id: str
    name: str
    status: str  # restored | skipped | error
    new_id: str | None = None
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def select(
    manifest: dict[str, Any], ids: list[str], project: str | None, everything: bool
) -> list[dict[str, Any]]:
    images = manifest["images"]
    if everything:
        return list(images)
    if project:
        names = manifest.get("projects") or {}
        wanted = {project} | {pid for pid, name in names.items() if name == project}
        chosen = [e for e in images if e.get("owner") in wanted]
        if not chosen:
            raise BackupConfigError(
                f"snapshot {manifest['id']} has no image owned by project {project!r}"
            )
        return chosen
    by_id = {e["id"]: e for e in images}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise BackupConfigError(
            f"not in snapshot {manifest['id']}: {', '.join(missing)} "
            "(see `glint-backup list SNAPSHOT`)"
        )
    return [by_id[i] for i in ids]


def _same_content(record, sha512: str, md5: str) -> bool:
    if record.os_hash_algo == "sha512" and record.os_hash_value:
        return record.os_hash_value == sha512
    return bool(record.checksum) and record.checksum == md5


def _wait_active(session, image_id: str, timeout: float):
    deadline = time.monotonic() + timeout
    while True:
        record = session.get_image(image_id)
        if record.status == "active":
            return record
        if record.status in ("killed", "deleted", "deactivated") or time.monotonic() > deadline:
            raise CloudError(f"image {image_id} is {record.status}, not active", None)
        time.sleep(0.2)


class VerifyingReader:
    """``read(n)`` over an object's bytes that holds the last piece back until the sha512
    of everything matched: damaged data makes the upload fail before it can complete."""

    def __init__(self, chunks, sha512: str):
        self._it = iter(chunks)
        self._want = sha512
        self._hash = hashlib.sha512()
        self._buf = b""
        self._held: bytes | None = None
        self._ended = False

    def _pull(self) -> None:
        nxt = next(self._it, None)
        if self._held is not None:
            self._buf += self._held
        if nxt is None:
            self._ended = True
            self._held = None
            if self._hash.hexdigest() != self._want:
                self._buf = b""
                raise DataMismatch("the restored bytes do not match their sha512")
            return
        self._hash.update(nxt)
        self._held = nxt

    def read(self, size: int = -1) -> bytes:
        while not self._ended and (size < 0 or len(self._buf) < size):
            self._pull()
        if size < 0:
            size = len(self._buf)
        out, self._buf = self._buf[:size], self._buf[size:]
        return out

    def close(self) -> None:
        close = getattr(self._it, "close", None)
        if close:
            close()


def _remove(session, image_id: str, timeout: float = 30.0) -> bool:
    """Delete a half-restored image, and again if Glance's aborted upload brings it back
    (Glance may still be finishing the broken request when the first delete lands)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            session.delete_image(image_id)
        except ImageNotFound:
            return True
        except CloudError:
            pass
        time.sleep(0.5)
        try:
            session.get_image(image_id)
        except ImageNotFound:
            return True
        except CloudError:
            continue
    return False


def restore_one(session, store: ObjectStore, entry: dict[str, Any], new_id: bool) -> Outcome:
    log = logsetup.get()
    out = Outcome(entry["id"], entry.get("name") or "", "error")
    obj = entry.get("object")
    if not obj:
        out.status = "skipped"
        out.message = f"no data in this snapshot (status {entry.get('status')})"
        if entry.get("error"):
            out.status, out.message = "error", f"the backup of this image failed: {entry['error']}"
        return out
    if not store.has(obj):
        out.message = f"object {obj[:16]}… is missing from the store (run verify)"
        return out
    sha512, md5, size = obj, entry.get("checksum") or "", entry.get("size")
    if not new_id:
        try:
            present = session.get_image(entry["id"])
        except ImageNotFound:
            present = None
        if present is not None:
            if _same_content(present, sha512, md5):
                out.status, out.message = "skipped", "already present with the same content"
            else:
                out.message = "an image with this id but other content exists; use --new-id"
            return out
    spec = ImageSpec(
        name=entry.get("name") or "",
        disk_format=entry.get("disk_format") or "raw",
        container_format=entry.get("container_format") or "bare",
        visibility=entry.get("visibility") or "private",
        min_disk=entry.get("min_disk") or 0,
        min_ram=entry.get("min_ram") or 0,
        tags=list(entry.get("tags") or ()),
        properties=dict(entry.get("properties") or {}),
        image_id=None if new_id else entry["id"],
    )
    try:
        created = session.create_image(spec)
    except Conflict:
        out.message = (
            "Glance refuses this id (it was used before, even if the image was deleted): "
            "restore it with --new-id"
        )
        return out
    try:
        reader = VerifyingReader(store.open_object(obj), obj)
        try:
            session.upload(created.id, reader, size)
        finally:
            reader.close()
        record = _wait_active(session, created.id, ACTIVE_TIMEOUT)
        if not _same_content(record, sha512, md5) or record.size != size:
            raise CloudError("Glance's checksum of the restored image differs from the backup")
        for member in entry.get("members") or []:
            session.add_member(created.id, member["member_id"])
        notes = []
        if entry.get("owner") and record.owner != entry["owner"]:
            try:
                session.update_image(created.id, owner=entry["owner"])
            except BadRequest:
                notes.append(f"owner left as {record.owner} (adapter cannot set owner)")
        if entry.get("hidden"):
            session.update_image(created.id, hidden=True)
        if entry.get("protected"):
            session.update_image(created.id, protected=True)  # last
    except (CloudError, OSError, BackupError) as e:
        out.message = str(e)
        if isinstance(e, DataMismatch):
            out.message = f"object {obj[:16]}… is damaged ({e}): nothing restored; run verify"
        if not _remove(session, created.id):
            out.message += f" (and image {created.id} could not be removed)"
        return out
    out.status = "restored"
    out.new_id = created.id if created.id != entry["id"] else None
    out.message = "; ".join(notes)
    log.info("restored %s%s", entry["id"], f" as {created.id}" if out.new_id else "")
    return out


def restore(
    session,
    store: ObjectStore,
    snapshot: str | None,
    ids: list[str],
    project: str | None,
    everything: bool,
    new_id: bool,
) -> tuple[str, list[Outcome]]:
    sid = snapshots.resolve(store, snapshot)
    manifest = snapshots.load(store, sid)
    chosen = select(manifest, ids, project, everything)
    return sid, [restore_one(session, store, e, new_id) for e in chosen]
