"""``forget``: which snapshots a keep-policy keeps, and ``prune``: unreferenced objects.

Rules combine (a snapshot kept by any rule stays). For daily/weekly/monthly the newest
snapshot of each of the N most recent days/ISO weeks/months is kept, as restic does.
Forgetting deletes manifests only; ``prune`` then frees the objects nobody references.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from glint_backup import snapshots
from glint_backup.errors import BackupConfigError, Damaged
from glint_backup.store import ObjectStore
from glint_backup.verify import verify


@dataclass(frozen=True)
class Policy:
    last: int = 0
    daily: int = 0
    weekly: int = 0
    monthly: int = 0

    @property
    def empty(self) -> bool:
        return not (self.last or self.daily or self.weekly or self.monthly)


def _bucket(kind: str, when: datetime) -> tuple[int, ...]:
    if kind == "daily":
        return (when.year, when.month, when.day)
    if kind == "weekly":
        iso = when.isocalendar()
        return (iso[0], iso[1])
    return (when.year, when.month)


def select(items: list[tuple[str, datetime]], policy: Policy) -> dict[str, list[str]]:
    """snapshot id -> reasons it is kept (absent: forget it). *items* in any order."""
    if policy.empty:
        raise BackupConfigError(
            "refusing an empty policy: give at least one of --keep-last, --keep-daily, "
            "--keep-weekly, --keep-monthly"
        )
    newest_first = sorted(items, key=lambda it: (it[1], it[0]), reverse=True)
    keep: dict[str, list[str]] = {}
    for sid, _ in newest_first[: policy.last]:
        keep.setdefault(sid, []).append("last")
    for kind, count in (("daily", policy.daily), ("weekly", policy.weekly),
                        ("monthly", policy.monthly)):  # fmt: skip
        seen: list[tuple[int, ...]] = []
        for sid, when in newest_first:
            if len(seen) >= count:
                break
            bucket = _bucket(kind, when)
            if bucket not in seen:
                seen.append(bucket)
                keep.setdefault(sid, []).append(kind)
    return keep


def forget(store: ObjectStore, policy: Policy, dry_run: bool) -> dict[str, Any]:
    items = [(m["id"], snapshots.created(m)) for m in snapshots.readable(store)]
    keep = select(items, policy)
    removed = [sid for sid, _ in items if sid not in keep]
    if not dry_run:
        for sid in removed:
            store.delete_manifest(sid)
    return {
        "dry_run": dry_run,
        "keep": [{"snapshot": sid, "reasons": keep[sid]} for sid, _ in items if sid in keep],
        "forget": removed,
    }


def prune(store: ObjectStore, dry_run: bool = False) -> dict[str, Any]:
    """Delete objects no snapshot references; refused while verify reports problems.

    Also removes what interrupted runs left (temp files, segments, multipart uploads) and
    the damaged objects verify moved aside.
    """
    report = verify(store, read_data=False)
    if not report.ok:
        raise Damaged(
            f"prune refused: verify found {len(report.problems)} problem(s); run "
            "`glint-backup verify` and a backup run to heal them first"
        )
    keep = {store.key_of(sha) for sha in snapshots.referenced_objects(store)}
    removed, freed = [], 0
    for key, size in list(store.iter_objects()):
        if key in keep:
            continue
        if not dry_run:
            store.remove_key(key)
        removed.append(store.sha_of_key(key) or key)
        freed += size
    partial = 0
    if not dry_run:
        partial = store.clean_partial()
        for key in store.damaged_keys():
            with contextlib.suppress(Exception):
                store.backend.delete(key)
    return {"dry_run": dry_run, "removed": removed, "freed_bytes": freed,
            "partial_removed": partial}  # fmt: skip
