"""``glint-backup verify [--read-data | --read-data-subset S]``: is every snapshot restorable?

The structure check reads every manifest and checks that every object it names is present
(and of the right size where stored as is). ``--read-data`` re-reads every object a
snapshot names — decrypting and decompressing it — and compares the sha512 of the original
bytes with its name; ``--read-data-subset 10%`` does that for a different random tenth on
each run, ``2/5`` for a stable fifth (run 1/5 … 5/5 on five nights to cover everything). A
damaged object is moved to ``damaged/`` so the next backup run stores it again.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import asdict, dataclass, field
from typing import Any

from glint_backup import logsetup, snapshots
from glint_backup.errors import BackupConfigError
from glint_backup.storage.base import StorageError
from glint_backup.store import ObjectStore
from glint_tui.core.errors import DataMismatch


@dataclass
class VerifyReport:
    snapshots: int = 0
    objects: int = 0
    read_objects: int = 0
    checked_bytes: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    damaged: list[str] = field(default_factory=list)
    quarantined: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ok"] = self.ok
        return d


def parse_subset(text: str) -> tuple[str, float, int]:
    """``10%`` (a random tenth) or ``2/5`` (the second of five stable slices)."""
    text = text.strip()
    try:
        if text.endswith("%"):
            share = float(text[:-1])
            if 0 < share <= 100:
                return "percent", share, 0
        else:
            n, _, m = text.partition("/")
            if 1 <= int(n) <= int(m):
                return "slice", int(n), int(m)
    except ValueError:
        pass
    raise BackupConfigError(
        f"--read-data-subset: expected a share like 10% or a slice n/m like 2/5, got {text!r}"
    )


def choose(objects: list[str], subset: str | None) -> list[str]:
    """The objects whose data is re-read: all, a random share, or slice n of m."""
    if subset is None:
        return objects
    kind, a, b = parse_subset(subset)
    if kind == "percent":
        count = min(len(objects), max(1, math.ceil(len(objects) * a / 100))) if objects else 0
        return sorted(random.SystemRandom().sample(objects, count))
    return [o for o in objects if int(o[:16], 16) % b == int(a) - 1]


def verify(store: ObjectStore, read_data: bool = False, subset: str | None = None) -> VerifyReport:
    log = logsetup.get()
    report = VerifyReport()
    sizes, users = _referenced(store, report)
    for obj, size in sorted(sizes.items()):
        if not store.has(obj):
            report.problems.append({"object": obj, "problem": "missing", "used_by": users[obj][:5]})
        elif size is not None and not store.has(obj, size):
            report.problems.append({"object": obj, "problem": f"wrong size (expected {size})",
                                    "used_by": users[obj][:5]})  # fmt: skip
            report.damaged.append(obj)
    reported = " ".join(str(p.get("problem")) for p in report.problems)
    for moved in snapshots.damaged_manifests(store):
        if moved not in reported:
            report.problems.append({
                "snapshot": moved.rsplit("/", 1)[-1],
                "problem": f"damaged manifest kept in {moved}: that snapshot is lost; delete "
                "the file once inspected (prune stays refused until then)",
            })  # fmt: skip
    report.objects = sum(1 for _ in store.iter_objects())
    if read_data or subset:
        present = [o for o in sorted(sizes) if store.has(o) and o not in report.damaged]
        for obj in choose(present, subset):
            _read_back(store, obj, users, report)
    for obj in report.damaged:
        if store.has(obj):
            report.quarantined.append(str(store.quarantine(obj)))
            log.warning("damaged object %s moved aside; the next run re-fetches it", obj)
    for p in report.problems:
        log.warning("verify: %s", json.dumps(p, sort_keys=True))
    return report


def _referenced(store: ObjectStore, report: VerifyReport):
    """sha512 -> expected size (None: unknown), and sha512 -> who uses it."""
    sizes: dict[str, int | None] = {}
    users: dict[str, list[str]] = {}
    for sid in snapshots.list_ids(store):
        report.snapshots += 1
        try:
            images = snapshots.load(store, sid)["images"]
        except snapshots.DamagedManifest as e:
            report.problems.append({"snapshot": sid, "problem": str(e)})
            continue
        for entry in images:
            for key in ("object", "previous_object"):
                obj = entry.get(key)
                if obj:
                    if key == "object":
                        sizes[obj] = entry.get("size")
                    else:
                        sizes.setdefault(obj, None)
                    users.setdefault(obj, []).append(f"{sid}:{entry['id']}")
    return sizes, users


def _read_back(store: ObjectStore, obj: str, users: dict[str, list[str]], report) -> None:
    """Re-read one object's original bytes and compare their sha512 with its name."""
    report.read_objects += 1
    try:
        digest, _md5, size = store.hash_object(obj)
        report.checked_bytes += size
        problem = None if digest == obj else "content does not match its sha512"
    except (DataMismatch, StorageError) as e:  # e.g. a large object whose segments are gone
        problem = str(e)
    if problem:
        report.damaged.append(obj)
        report.problems.append({"object": obj, "problem": problem,
                                "used_by": users.get(obj, [])[:5]})  # fmt: skip
