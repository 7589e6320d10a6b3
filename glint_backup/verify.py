"""``glint-backup verify [--read-data]``: is every snapshot restorable?

The structure check reads every manifest and stats every object it names (present, right
size). ``--read-data`` re-hashes every stored object; a damaged one is moved to
``damaged/`` so the next backup run downloads it again (when Glance still has it).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from glint_backup import logsetup, snapshots
from glint_backup.store import ObjectStore


@dataclass
class VerifyReport:
    snapshots: int = 0
    objects: int = 0
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


def verify(store: ObjectStore, read_data: bool = False) -> VerifyReport:
    log = logsetup.get()
    report = VerifyReport()
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
    for obj, size in sorted(sizes.items()):
        if not store.has(obj):
            report.problems.append({"object": obj, "problem": "missing", "used_by": users[obj][:5]})
        elif size is not None and not store.has(obj, size):
            report.problems.append(
                {
                    "object": obj,
                    "problem": f"wrong size (expected {size})",
                    "used_by": users[obj][:5],
                }
            )
            report.damaged.append(obj)
    reported = {str(p.get("problem")) for p in report.problems}
    for moved in snapshots.damaged_manifests(store):
        if not any(str(moved) in text for text in reported):
            report.problems.append({
                "snapshot": moved.name,
                "problem": f"damaged manifest kept in {moved}: that snapshot is lost; delete "
                "the file once inspected (prune stays refused until then)",
            })  # fmt: skip
    if read_data:
        for obj, _path in list(store.iter_objects()):
            report.objects += 1
            digest, _md5, size = store.hash_object(obj)
            report.checked_bytes += size
            if digest != obj and obj not in report.damaged:
                report.damaged.append(obj)
                report.problems.append(
                    {"object": obj, "problem": "content does not match its sha512",
                     "used_by": users.get(obj, [])[:5]}
                )  # fmt: skip
    else:
        report.objects = sum(1 for _ in store.iter_objects())
    for obj in report.damaged:
        if store.has(obj):
            report.quarantined.append(str(store.quarantine(obj)))
            log.warning("damaged object %s moved aside; the next run re-fetches it", obj)
    for p in report.problems:
        log.warning("verify: %s", json.dumps(p, sort_keys=True))
    return report
