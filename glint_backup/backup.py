"""One backup run: list every image, fetch the content not yet stored, write a snapshot.

Order matters for crash safety: objects are complete (fsynced, renamed) before any
manifest names them, and the manifest is written last. A failure on one image never
reads as a deletion: its previous entry (if any) is carried forward with the error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from glint_backup import coverage, logsetup, members, repository, snapshots
from glint_backup.config import BackupConfig
from glint_backup.errors import (
    EXIT_OK,
    EXIT_PARTIAL,
    BackupError,
    DiskFull,
)
from glint_backup.lock import store_locked
from glint_backup.store import ObjectStore, StoredObject
from glint_tui.core.errors import CloudError
from glint_tui.core.model import ImageRecord

CHUNK = 1 << 20


@dataclass
class Summary:
    """What a run did; ``--json`` prints it, the log gets one line of it."""

    snapshot: str | None = None
    changed: bool = False
    dry_run: bool = False
    images: int = 0
    active: int = 0
    downloaded: int = 0
    downloaded_bytes: int = 0
    stored_bytes: int = 0  # what the new objects take in the repository
    would_download: int = 0
    would_download_bytes: int = 0
    reused: int = 0
    metadata_only: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)
    coverage: list[str] = field(default_factory=list)  # projects left out (exit 3)
    members: dict[str, Any] = field(default_factory=dict)  # how members were read
    disk_full: bool = False
    fetch_seconds: float = 0.0  # time spent downloading + storing (the data path)
    seconds: float = 0.0
    exit_code: int = EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _expected_sha512(record: ImageRecord) -> str | None:
    if record.os_hash_algo == "sha512" and record.os_hash_value:
        return record.os_hash_value
    return None


def _open_download(session, image_id: str):
    """The adapter verifies by default; the store hashes already, so skip the 2nd hash."""
    return session.download(image_id, CHUNK, verify=False)


def _known_object(
    store: ObjectStore, record: ImageRecord, previous: dict[str, dict[str, Any]]
) -> str | None:
    """The stored object for *record*'s bytes, if we hold them already (no re-hash)."""
    sha = _expected_sha512(record)
    if sha and store.has(sha, record.size):
        return sha
    old = previous.get(record.id)
    if (
        old
        and old.get("object")
        and old.get("checksum") == record.checksum
        and old.get("os_hash_value") == record.os_hash_value
        and store.has(old["object"], record.size)
    ):
        return old["object"]
    return None


def run(
    config: BackupConfig,
    open_session: Callable[[BackupConfig], Any],
    dry_run: bool = False,
) -> Summary:
    """The whole run under the lock (no lock for a dry run: it writes nothing)."""
    log = logsetup.get()
    started = time.monotonic()
    dry_run = dry_run or config.testing
    store = repository.open_store(config, create=not dry_run, missing_ok=dry_run)
    try:
        if dry_run:
            summary = _run(config, store, open_session, dry_run=True)
        else:
            with store_locked(store):
                removed = store.clean_partial()
                if removed:
                    log.info("removed %d piece(s) left by an interrupted run", removed)
                summary = _run(config, store, open_session, dry_run=False)
    finally:
        store.close()
    summary.seconds = round(time.monotonic() - started, 3)
    return summary


def _run(config: BackupConfig, store: ObjectStore, open_session, dry_run: bool) -> Summary:
    log = logsetup.get()
    summary = Summary(dry_run=dry_run)
    last = snapshots.latest(store, move_aside=not dry_run)
    previous = {e["id"]: e for e in (last or {}).get("images", [])}

    session = open_session(config)
    listing = None
    try:
        if config.page_size:
            session.page_size = config.page_size

        def open_more(conf: BackupConfig, project: str):
            extra = open_session(conf, project=project)
            extra.page_size = session.page_size
            return extra

        listing = coverage.list_all(config, session, open_more, config.username or "?")
        summary.coverage = list(listing.problems)
        records = sorted(listing.records, key=lambda r: r.id)
        projects = listing.projects
        summary.images = len(records)
        log.info("listed %d image(s)", len(records))
        image_members, how = members.read(config, session, listing, previous, open_more, dry_run)
        summary.members = how.to_dict()

        entries: list[dict[str, Any]] = []
        for record in records:
            entry = record.to_dict()
            entry["members"] = image_members[record.id]
            entry["object"] = None
            entries.append(entry)
            if record.status != "active" or not record.content_key:
                summary.metadata_only += 1
                continue
            summary.active += 1
            known = _known_object(store, record, previous)
            if known:
                entry["object"] = known
                summary.reused += 1
                continue
            if dry_run:
                summary.would_download += 1
                summary.would_download_bytes += record.size or 0
                log.info("would download %s (%s, %s bytes)", record.id, record.name, record.size)
                continue
            if summary.disk_full:
                _carry_forward(entry, previous, "not fetched: the backup disk is full", summary)
                continue
            try:
                store.ensure_space(record.size or 0, config.min_free_bytes)
                t0 = time.monotonic()
                stored = _fetch(listing.reader[record.id], store, record)
                entry["object"] = stored.sha512
                summary.fetch_seconds = round(summary.fetch_seconds + time.monotonic() - t0, 3)
                summary.downloaded += 1
                summary.downloaded_bytes += record.size or 0
                summary.stored_bytes += stored.stored
                log.info(
                    "stored %s (%s): %s bytes, %s in the repository%s",
                    record.id, record.name, record.size, stored.stored,
                    " (zstd)" if stored.compressed else "",
                )  # fmt: skip
            except DiskFull as e:
                summary.disk_full = True
                log.error("%s; stopping downloads, the snapshot records what is held", e)
                _carry_forward(entry, previous, str(e), summary)
            except CloudError as e:
                log.error("image %s (%s): %s", record.id, record.name, e)
                _carry_forward(entry, previous, str(e), summary)
    finally:
        if listing is not None:
            listing.close()
        session.close()

    if dry_run:
        log.info(
            "dry run: %d image(s), would download %d (%d bytes), nothing written",
            summary.images, summary.would_download, summary.would_download_bytes,
        )  # fmt: skip
        return summary
    if last is not None and snapshots.images_equal(last["images"], entries):
        log.info("no change since snapshot %s: nothing written", last["id"])
        summary.snapshot = last["id"]
    else:
        summary.changed = True
        source = {
            "auth_url": config.auth_url,
            "region": config.region,
            "user": config.username,
            "project": config.project,
            "cloud": config.cloud,
            "scope": listing.scope,
        }
        counts = {
            k: getattr(summary, k)
            for k in ("images", "active", "downloaded", "downloaded_bytes", "reused")
        }
        summary.snapshot = snapshots.write(store, entries, source, projects, counts)
        log.info(
            "snapshot %s: %d image(s), %d downloaded (%d bytes), %d already held, %d error(s)",
            summary.snapshot, summary.images, summary.downloaded, summary.downloaded_bytes,
            summary.reused, len(summary.errors),
        )  # fmt: skip
    if summary.disk_full:
        summary.exit_code = DiskFull.exit_code
    elif summary.errors or summary.coverage:
        summary.exit_code = EXIT_PARTIAL
    return summary


def _fetch(session, store: ObjectStore, record: ImageRecord) -> StoredObject:
    download = _open_download(session, record.id)
    try:
        return store.add_stream(
            download,
            expect_sha512=_expected_sha512(record),
            expect_md5=None if _expected_sha512(record) else record.checksum,
            expect_size=record.size,
        )
    finally:
        download.close()


def _carry_forward(
    entry: dict[str, Any], previous: dict[str, dict[str, Any]], error: str, summary: Summary
) -> None:
    """Keep the last good copy restorable and mark the entry failed (never a deletion)."""
    summary.errors.append({"id": entry["id"], "name": entry["name"], "error": error})
    entry["error"] = error
    old = previous.get(entry["id"])
    if old and old.get("object"):
        entry["previous_object"] = old["object"]


__all__ = ["BackupError", "Summary", "run"]
