"""Desired state versus the matrix -> a Plan of copies and deletes, with the safety rules.

The plan is the only thing the transfer engine executes, and it is what the operator
confirms, so every rule that protects images is enforced here (and re-checked by the
engine just before it acts):

* never delete the last verified copy of a content key glint can see (a delete may rely
  on a copy in the same plan; the engine then deletes only after that copy verified);
* never delete protected images or images the column's project does not own;
* never overwrite or silently duplicate a *different* image with the same name at a
  destination: refuse by default, or ``on_conflict`` = rename | keep-both | replace.

Anything refused is a ``Refusal`` with a human reason, shown with the plan.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import humanize

from glint_tui.core.desired import Desired
from glint_tui.core.inventory import Matrix, Row
from glint_tui.core.model import VISIBILITIES, ProjectRef
from glint_tui.core.safetext import escape

ON_CONFLICT = ("refuse", "rename", "keep-both", "replace")


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class CopyTarget:
    """One destination of a copy: where, under which name, and which image it replaces
    (``replaces``: the id of a different same-named image to delete once the copy
    verified, with ``--on-conflict replace``)."""

    ref: ProjectRef
    name: str
    replaces: str | None = None


@dataclass(frozen=True)
class CopyAction:
    """Stream one image (content) from one source to one or more destinations."""

    id: str
    name: str
    content_key: str
    size: int
    source: ProjectRef
    source_image_id: str
    targets: tuple[CopyTarget, ...]
    disk_format: str | None = None
    visibility: str = "private"

    kind = "copy"

    @property
    def destinations(self) -> list[ProjectRef]:
        return [t.ref for t in self.targets]

    @property
    def bytes_out(self) -> int:
        """Bytes uploaded in total (size × destinations)."""
        return self.size * len(self.targets)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": "copy",
            "name": self.name,
            "content_key": self.content_key,
            "size": self.size,
            "source": str(self.source),
            "source_image_id": self.source_image_id,
            "targets": [
                {"ref": str(t.ref), "name": t.name, "replaces": t.replaces} for t in self.targets
            ],
            "disk_format": self.disk_format,
            "visibility": self.visibility,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CopyAction:
        return cls(
            id=d["id"],
            name=d["name"],
            content_key=d["content_key"],
            size=int(d["size"]),
            source=ProjectRef.parse(d["source"]),
            source_image_id=d["source_image_id"],
            targets=tuple(
                CopyTarget(ProjectRef.parse(t["ref"]), t["name"], t.get("replaces"))
                for t in d["targets"]
            ),
            disk_format=d.get("disk_format"),
            visibility=d.get("visibility", "private"),
        )


@dataclass(frozen=True)
class DeleteAction:
    """Delete one Glance image (by id, never by name) at one place.

    ``after`` lists copy action ids that must have verified first (the delete relies on
    them to keep a copy of the content alive); the engine skips the delete otherwise.
    """

    id: str
    name: str
    content_key: str
    ref: ProjectRef
    image_id: str
    size: int = 0
    after: tuple[str, ...] = ()
    reason: str = "unwanted"

    kind = "delete"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = "delete"
        d["ref"] = str(self.ref)
        d["after"] = list(self.after)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DeleteAction:
        return cls(
            id=d["id"],
            name=d["name"],
            content_key=d["content_key"],
            ref=ProjectRef.parse(d["ref"]),
            image_id=d["image_id"],
            size=int(d.get("size") or 0),
            after=tuple(d.get("after") or ()),
            reason=d.get("reason", "unwanted"),
        )


@dataclass(frozen=True)
class Refusal:
    """Something the desired state asked for that glint will not do, and why."""

    kind: str  # "copy" | "delete"
    name: str
    content_key: str
    ref: ProjectRef
    reason: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ref"] = str(self.ref)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Refusal:
        return cls(d["kind"], d["name"], d["content_key"], ProjectRef.parse(d["ref"]), d["reason"])


@dataclass
class Plan:
    """What will happen: copies, deletes, refusals, and their totals."""

    copies: list[CopyAction] = field(default_factory=list)
    deletes: list[DeleteAction] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.copies and not self.deletes

    @property
    def copy_count(self) -> int:
        """Number of images that will be created (one per destination)."""
        return sum(len(c.targets) for c in self.copies)

    @property
    def copy_bytes(self) -> int:
        return sum(c.bytes_out for c in self.copies)

    @property
    def download_bytes(self) -> int:
        return sum(c.size for c in self.copies)

    @property
    def delete_count(self) -> int:
        return len(self.deletes) + sum(
            1 for c in self.copies for t in c.targets if t.replaces is not None
        )

    @property
    def delete_bytes(self) -> int:
        return sum(d.size for d in self.deletes)

    @property
    def has_deletes(self) -> bool:
        return self.delete_count > 0

    def action(self, action_id: str) -> CopyAction | DeleteAction | None:
        for a in [*self.copies, *self.deletes]:
            if a.id == action_id:
                return a
        return None

    # --- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "copies": [c.to_dict() for c in self.copies],
            "deletes": [d.to_dict() for d in self.deletes],
            "refusals": [r.to_dict() for r in self.refusals],
            "totals": {
                "copies": self.copy_count,
                "copy_bytes": self.copy_bytes,
                "download_bytes": self.download_bytes,
                "deletes": self.delete_count,
                "delete_bytes": self.delete_bytes,
                "refusals": len(self.refusals),
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        return cls(
            [CopyAction.from_dict(c) for c in d.get("copies", [])],
            [DeleteAction.from_dict(x) for x in d.get("deletes", [])],
            [Refusal.from_dict(r) for r in d.get("refusals", [])],
        )

    @classmethod
    def from_json(cls, text: str) -> Plan:
        return cls.from_dict(json.loads(text))

    # --- display -------------------------------------------------------------------------
    def describe(self) -> list[str]:
        """Human-readable lines, one per action (the CLI prints them). Names and reasons
        come from clouds: each line is escaped (``core.safetext``), safe to print."""
        lines: list[str] = []
        for c in self.copies:
            for t in c.targets:
                extra = f" as {t.name!r}" if t.name != c.name else ""
                if t.replaces:
                    extra += f", then delete the other {c.name!r} ({t.replaces})"
                lines.append(
                    f"copy    {_label(c.name, c.content_key)}  {c.source} -> {t.ref}"
                    f"  ({_size(c.size)}){extra}"
                )
        for d in self.deletes:
            after = " (after its copy verifies)" if d.after else ""
            lines.append(
                f"delete  {_label(d.name, d.content_key)}  at {d.ref}  id {d.image_id}"
                f"  ({_size(d.size)}){after}"
            )
        for r in self.refusals:
            lines.append(f"REFUSED {r.kind} {_label(r.name, r.content_key)} at {r.ref}: {r.reason}")
        lines.append(self.summary())
        return [escape(line) for line in lines]

    def summary(self) -> str:
        s = (
            f"{self.copy_count} cop{'y' if self.copy_count == 1 else 'ies'} "
            f"({_size(self.copy_bytes)} to upload, {_size(self.download_bytes)} to download), "
            f"{self.delete_count} delete{'' if self.delete_count == 1 else 's'}"
        )
        if self.refusals:
            s += f", {len(self.refusals)} refused"
        return s


def _label(name: str, content_key: str) -> str:
    digest = content_key.split(":", 1)[-1]
    return f"{name}@{digest[:12]}"


def _size(n: int) -> str:
    return humanize.naturalsize(n, binary=True)


# --- building --------------------------------------------------------------------------


def build_plan(
    matrix: Matrix,
    desired: Desired,
    *,
    home_repository: str | None = None,
    on_conflict: str = "refuse",
    visibility: str = "private",
    source: ProjectRef | None = None,
) -> Plan:
    """Turn ``desired`` into a Plan against ``matrix``, applying every safety rule.

    ``home_repository`` is preferred as the copy source (else any column holding an
    active image with a hash); ``source`` forces one column (CLI ``--from``).
    ``on_conflict`` handles a different same-named image at a destination.
    """
    if on_conflict not in ON_CONFLICT:
        raise ValueError(f"on_conflict must be one of {', '.join(ON_CONFLICT)}")
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    plan = Plan()
    # verified holders per content key, as (ref, image id): the "last copy" rule's ledger
    alive: dict[str, set[tuple[ProjectRef, str]]] = {}
    for row in matrix.rows:
        if not row.has_data:
            continue
        for cell in row.holders(verified=True):
            for img in cell.images:
                if img.status == "active":
                    alive.setdefault(row.content_key, set()).add((cell.ref, img.id))
    # copies that will add a holder if they succeed: content key -> copy ids
    incoming: dict[str, list[str]] = {}

    rows = [r for r in matrix.rows if r.key in desired.cells]
    for row in rows:
        wants = [ref for ref, v in desired.cells[row.key].items() if v]
        copy = _plan_copy(
            matrix, row, wants, plan, alive, home_repository, on_conflict, visibility, source
        )
        if copy is not None:
            plan.copies.append(copy)
            incoming.setdefault(row.content_key, []).append(copy.id)
    for row in rows:
        unwanted = sorted(ref for ref, v in desired.cells[row.key].items() if not v)
        for ref in unwanted:
            _plan_delete(matrix, row, ref, plan, alive, incoming)
    return plan


def _refuse(plan: Plan, kind: str, row: Row, ref: ProjectRef, reason: str) -> None:
    plan.refusals.append(Refusal(kind, row.name, row.content_key, ref, reason))


def _choose_source(
    matrix: Matrix, row: Row, home: str | None, forced: ProjectRef | None
) -> tuple[ProjectRef, str] | str:
    """(ref, image id) of the copy source, or a reason string when there is none."""
    holders = [
        c for c in row.holders(verified=True) if c.ref in matrix.status and matrix.status[c.ref].ok
    ]
    if forced is not None:
        cell = row.cell(forced)
        if not cell.present:
            return f"{forced} does not hold this image"
        if cell not in holders:
            return f"the image at {forced} is not active with a verified hash"
        holders = [cell]
    if not holders:
        return "no active copy with a verified hash to copy from"

    def rank(c):  # home repository, then owned, then name order
        return (c.ref.repository != home if home else False, not c.owned, c.ref)

    best = sorted(holders, key=rank)[0]
    img = next(i for i in best.images if i.status == "active" and i.content_key)
    return best.ref, img.id


def _plan_copy(
    matrix: Matrix,
    row: Row,
    wants: list[ProjectRef],
    plan: Plan,
    alive: dict[str, set[tuple[ProjectRef, str]]],
    home: str | None,
    on_conflict: str,
    visibility: str,
    forced: ProjectRef | None,
) -> CopyAction | None:
    missing = [ref for ref in sorted(wants) if not row.cell(ref).present]
    if not missing:
        return None
    if not row.has_data:
        for ref in missing:
            _refuse(plan, "copy", row, ref, "the image has no data (not uploaded yet)")
        return None
    src = _choose_source(matrix, row, home, forced)
    if isinstance(src, str):
        for ref in missing:
            _refuse(plan, "copy", row, ref, src)
        return None
    src_ref, src_id = src
    targets: list[CopyTarget] = []
    for ref in missing:
        st = matrix.status.get(ref)
        if st is None or not st.ok:
            why = st.error if st else "not a configured REPO:PROJECT"
            _refuse(plan, "copy", row, ref, f"cannot list {ref}: {why}")
            continue
        others = [
            r
            for r in matrix.rows
            if r.name == row.name and r.key != row.key and r.cell(ref).present
        ]
        if not others:
            targets.append(CopyTarget(ref, row.name))
            continue
        other_ids = ", ".join(i for r in others for i in r.cell(ref).ids)
        if on_conflict == "refuse":
            _refuse(
                plan,
                "copy",
                row,
                ref,
                f"{ref} already has a different image named {row.name!r} ({other_ids}); "
                "choose --on-conflict rename, keep-both or replace",
            )
        elif on_conflict == "keep-both":
            targets.append(CopyTarget(ref, row.name))
        elif on_conflict == "rename":
            targets.append(CopyTarget(ref, f"{row.name}-{row.content_key.split(':', 1)[1][:8]}"))
        else:  # replace: only one other owned, unprotected image can be replaced
            cells = [r.cell(ref) for r in others]
            images = [i for c in cells for i in c.images]
            holders = alive.get(others[0].content_key, set()) if others[0].has_data else set()
            if len(images) != 1:
                _refuse(plan, "copy", row, ref, f"several images named {row.name!r} at {ref}")
            elif not cells[0].owned:
                _refuse(
                    plan, "copy", row, ref, f"cannot replace {images[0].id}: not owned by {ref}"
                )
            elif images[0].protected:
                _refuse(plan, "copy", row, ref, f"cannot replace {images[0].id}: it is protected")
            elif others[0].has_data and not holders - {(ref, images[0].id)}:
                _refuse(
                    plan,
                    "copy",
                    row,
                    ref,
                    f"cannot replace {images[0].id}: it is the last copy of its content "
                    "glint can see",
                )
            else:
                holders.discard((ref, images[0].id))
                targets.append(CopyTarget(ref, row.name, replaces=images[0].id))
    if not targets:
        return None
    return CopyAction(
        id=_new_id(),
        name=row.name,
        content_key=row.content_key,
        size=int(row.size or 0),
        source=src_ref,
        source_image_id=src_id,
        targets=tuple(targets),
        disk_format=row.disk_format,
        visibility=visibility,
    )


def _plan_delete(
    matrix: Matrix,
    row: Row,
    ref: ProjectRef,
    plan: Plan,
    alive: dict[str, set[tuple[ProjectRef, str]]],
    incoming: dict[str, list[str]],
) -> None:
    cell = row.cell(ref)
    if not cell.present:
        return
    st = matrix.status.get(ref)
    pid = st.project_id if st else None
    for img in cell.images:
        if img.owner != pid:
            _refuse(plan, "delete", row, ref, f"{img.id} is owned by another project ({img.owner})")
            continue
        if img.protected:
            _refuse(plan, "delete", row, ref, f"{img.id} is protected")
            continue
        after: tuple[str, ...] = ()
        if row.has_data:
            holders = alive.get(row.content_key, set())
            rest = holders - {(ref, img.id)}
            if not rest:
                relies = incoming.get(row.content_key, [])
                if not relies:
                    _refuse(
                        plan,
                        "delete",
                        row,
                        ref,
                        f"{img.id} is the last copy of this content glint can see",
                    )
                    continue
                after = tuple(relies)
            holders.discard((ref, img.id))
        plan.deletes.append(
            DeleteAction(
                id=_new_id(),
                name=row.name,
                content_key=row.content_key,
                ref=ref,
                image_id=img.id,
                size=int(img.size or 0),
                after=after,
            )
        )
