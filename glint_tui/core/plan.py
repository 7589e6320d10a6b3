"""Desired state versus the matrix -> a Plan of copies and deletes, with the safety rules.

The plan is the only thing the transfer engine executes, and it is what the operator
confirms, so every rule that protects images is enforced here (and re-checked by the
engine just before it acts):

* never delete the last verified copy of a content key glint can see, counting physical
  images (``core.ledger``), not columns (a delete may rely on a copy in the same plan;
  the engine then deletes only after that copy verified; otherwise it names the copies it
  relies on, ``keeps``, and the engine checks one is still there);
* never delete protected images or images the column's project does not own, nor an
  image that a column wanted to keep it sees (a shared image is one image everywhere);
* a delete names exact image ids (``Desired`` may narrow a cell to some ids);
* never overwrite or silently duplicate a *different* image with the same name at a
  destination: refuse by default, or ``on_conflict`` = rename | keep-both | replace.

Anything refused is a ``Refusal`` with a human reason, shown with the plan.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from glint_tui.core.actions import (
    CopyAction,
    CopyTarget,
    DeleteAction,
    Plan,
    Refusal,
    conversion_note,
)
from glint_tui.core.conversion import conversion_for
from glint_tui.core.desired import Desired
from glint_tui.core.inventory import Matrix, Physical, Row, RowKey, same_image
from glint_tui.core.journal import TRANSFER_PROPERTY
from glint_tui.core.ledger import CopyLedger
from glint_tui.core.model import VISIBILITIES, ProjectRef

ON_CONFLICT = ("refuse", "rename", "keep-both", "replace")
CONFLICT_HINT = "choose --on-conflict rename, keep-both or replace"  # ends a conflict's refusal
Choices = Mapping[tuple[RowKey, ProjectRef], str]  # per copy target: an ON_CONFLICT value


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


# --- building --------------------------------------------------------------------------


def build_plan(
    matrix: Matrix,
    desired: Desired,
    *,
    home_repository: str | None = None,
    on_conflict: str = "refuse",
    visibility: str = "private",
    source: ProjectRef | None = None,
    store: str | None = None,
    choices: Choices | None = None,
) -> Plan:
    """Turn ``desired`` into a Plan against ``matrix``, applying every safety rule.

    ``home_repository`` is preferred as the copy source (else any column holding an
    active image with a hash); ``source`` forces one column (CLI ``--from``).
    ``on_conflict`` handles a different same-named image at a destination; ``choices``
    overrides it per (row, destination) (the UI's review asks per copy). ``store``
    (``--store``): copies must land in that store of a multi-store cloud; a place that
    holds the image in another store gets the store added to that image (copy-image).
    Every copy streams until ``core.methodchoice`` picks its method.
    """
    if on_conflict not in ON_CONFLICT:
        raise ValueError(f"on_conflict must be one of {', '.join(ON_CONFLICT)}")
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    planner = _Planner(matrix, desired, home_repository, on_conflict, visibility, source, store)
    planner.choices = dict(choices or {})
    rows = [r for r in matrix.rows if r.key in desired.cells]
    for row in rows:  # copies first: a delete may rely on a copy of the same plan
        planner.copy(row, [ref for ref, want in desired.cells[row.key].items() if want])
    for row in rows:
        for ref in sorted(ref for ref, want in desired.cells[row.key].items() if not want):
            planner.delete(row, ref)
    return planner.plan


@dataclass
class _Planner:
    """One plan being built: what every copy and delete is decided against, and what the
    decisions so far changed (the ledger of copies, the copies coming, the deletes)."""

    matrix: Matrix
    desired: Desired
    home: str | None
    on_conflict: str
    visibility: str
    forced: ProjectRef | None
    store: str | None = None
    plan: Plan = field(default_factory=Plan)
    ledger: CopyLedger = field(init=False)
    # copies that will add a holder if they succeed: content key -> copy action ids
    incoming: dict[str, list[str]] = field(default_factory=dict)
    deleted: list[Physical] = field(default_factory=list)  # one image seen twice goes once
    choices: dict[tuple[RowKey, ProjectRef], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ledger = CopyLedger(self.matrix)

    def refuse(self, kind: str, row: Row, ref: ProjectRef, reason: str) -> None:
        self.plan.refusals.append(Refusal(kind, row.name, row.content_key, ref, reason))

    # --- copies --------------------------------------------------------------------------
    def copy(self, row: Row, wants: list[ProjectRef]) -> None:
        """One copy action for the places that want *row* and lack it, or refusals."""
        missing = [ref for ref in sorted(wants) if self._lacks(row, ref)]
        if not missing:
            return
        if row.has_data:
            source = _choose_source(self.matrix, row, self.home, self.forced)
        else:
            source = "the image has no data (not uploaded yet)"
        if isinstance(source, str):
            for ref in missing:
                self.refuse("copy", row, ref, source)
            return
        targets = [t for ref in missing if (t := self._target(row, ref)) is not None]
        matrix = self.matrix
        source_ref, source_id = source
        # one action per format the destinations get: the original bytes, and each
        # conversion (done once on this host, ``core.transfer.conversion``)
        for fmt in sorted({t.convert_to or "" for t in targets}):
            action = CopyAction(
                id=_new_id(),
                name=row.name,
                content_key=row.content_key,
                size=int(row.size or 0),
                source=source_ref,
                source_image_id=source_id,
                targets=tuple(
                    replace(t, cloud=matrix.cloud_of(t.ref), project_id=matrix.project_id(t.ref))
                    for t in targets
                    if (t.convert_to or "") == fmt
                ),
                disk_format=row.disk_format,
                visibility=self.visibility,
            )
            self.plan.copies.append(action)
            if not fmt:  # a converted copy never keeps the source's content alive
                self.incoming.setdefault(row.content_key, []).append(action.id)

    def _lacks(self, row: Row, ref: ProjectRef) -> bool:
        """*ref* has no copy of *row* (in the asked store, when one is asked)."""
        cell = row.cell(ref)
        if not cell.present:
            return True
        return bool(self.store) and not any(self.store in i.stores for i in cell.images)

    def _target(self, row: Row, ref: ProjectRef) -> CopyTarget | None:
        """Where at *ref* the copy goes (its name, what it replaces), or None: refused."""
        cell = row.cell(ref)
        if cell.present:  # only the asked store is missing: add it to the image there
            image = cell.image
            if not cell.owned or image is None or image.status != "active":
                self.refuse("copy", row, ref, f"cannot add store {self.store!r}: not owned")
                return None
            return CopyTarget(ref, image.name, store=self.store, adds_store_to=image.id)
        status = self.matrix.status.get(ref)
        if status is None or not status.ok:
            why = status.error if status else self.matrix.unknown_column(ref)
            self.refuse("copy", row, ref, f"cannot list {ref}: {why}")
            return None
        takes = status.disk_formats
        if takes and row.disk_format and row.disk_format not in takes:
            fmt = conversion_for(row.disk_format, takes, row.content_key)
            if fmt not in takes:  # a reason: it cannot be converted here
                why = f"{ref} takes {'/'.join(takes)} images only, not {row.disk_format}"
                self.refuse("copy", row, ref, f"{why}: {fmt}")
                return None
            target = self._named(row, ref)
            note = conversion_note(fmt)
            return target and replace(target, convert_to=fmt, method_note=note)
        return self._named(row, ref)

    def _named(self, row: Row, ref: ProjectRef) -> CopyTarget | None:
        """The name the copy gets at *ref*: a different same-named image there is refused,
        renamed around, kept or replaced (``on_conflict``)."""
        others = [
            r
            for r in self.matrix.rows
            if r.name == row.name
            and r.key != row.key
            and r.cell(ref).present
            and not _glint_copy_in_flight(r, ref)
        ]
        if not others:
            return CopyTarget(ref, row.name, store=self.store)
        how = self.choices.get((row.key, ref), self.on_conflict)
        if how == "keep-both":
            return CopyTarget(ref, row.name, store=self.store)
        if how == "rename":
            renamed = f"{row.name}-{row.content_key.split(':', 1)[1][:8]}"
            return CopyTarget(ref, renamed, store=self.store)
        if how == "replace":
            return self._replacing(row, ref, others)
        other_ids = ", ".join(i for r in others for i in r.cell(ref).ids)
        self.refuse(
            "copy",
            row,
            ref,
            f"{ref} already has a different image named {row.name!r} ({other_ids}); "
            + CONFLICT_HINT,
        )
        return None

    def _replacing(self, row: Row, ref: ProjectRef, others: list[Row]) -> CopyTarget | None:
        """``--on-conflict replace``: only one other owned, unprotected image that is not
        the last copy of its own content can be replaced."""
        cells = [r.cell(ref) for r in others]
        images = [i for c in cells for i in c.images]
        if len(images) != 1:
            self.refuse("copy", row, ref, f"several images named {row.name!r} at {ref}")
            return None
        (image,), other = images, others[0]
        why = None
        gone = self.matrix.physical(ref, image.id)
        if not cells[0].owned:
            why = f"cannot replace {image.id}: not owned by {ref}"
        elif image.protected:
            why = f"cannot replace {image.id}: it is protected"
        elif other.has_data and not self.ledger.others(other.content_key, gone):
            why = f"cannot replace {image.id}: it is the last copy of its content glint can see"
        if why:
            self.refuse("copy", row, ref, why)
            return None
        if other.has_data:
            self.ledger.remove(other.content_key, gone)
        return CopyTarget(ref, row.name, replaces=image.id, store=self.store)

    # --- deletes -------------------------------------------------------------------------
    def delete(self, row: Row, ref: ProjectRef) -> None:
        """Delete actions for the images of *row* at *ref* (exact ids), or refusals."""
        matrix = self.matrix
        only = self.desired.only_ids(row.key, ref)
        for img in row.cell(ref).images:
            if only is not None and img.id not in only:
                continue
            physical = matrix.physical(ref, img.id)
            if any(same_image(physical, p) for p in self.deleted):
                continue  # the same image, already deleted through another column
            seen = [r for r in matrix.seen_from(row, ref, img.id) if r != ref]
            why = _undeletable(matrix, row, ref, img.id, seen, self.desired)
            if why:
                self.refuse("delete", row, ref, why)
                continue
            after: tuple[str, ...] = ()
            keeps: tuple[tuple[ProjectRef, str], ...] = ()
            if row.has_data:
                keeps = self.ledger.keeps(row.content_key, physical)
                if not keeps:
                    after = tuple(self.incoming.get(row.content_key, []))
                    if not after:
                        also = f" (also seen from {', '.join(map(str, seen))})" if seen else ""
                        self.refuse(
                            "delete",
                            row,
                            ref,
                            f"{img.id} is the last copy of this content glint can see{also}",
                        )
                        continue
                self.ledger.remove(row.content_key, physical)
            self.deleted.append(physical)
            self.plan.deletes.append(
                DeleteAction(
                    id=_new_id(),
                    name=row.name,
                    content_key=row.content_key,
                    ref=ref,
                    image_id=img.id,
                    size=int(img.size or 0),
                    after=after,
                    keeps=keeps,
                    seen_from=tuple(seen),
                )
            )


def _choose_source(
    matrix: Matrix, row: Row, home: str | None, forced: ProjectRef | None
) -> tuple[ProjectRef, str] | str:
    """(ref, image id) of the copy source, or a reason string when there is none."""
    holders = [  # a converted copy's bytes are not the row's: never a source
        c
        for c in row.holders(verified=True)
        if c.ref in matrix.status
        and matrix.status[c.ref].ok
        and any(i.status == "active" and i.content_key == row.content_key for i in c.images)
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
    img = next(i for i in best.images if i.status == "active" and i.content_key == row.content_key)
    return best.ref, img.id


def _undeletable(
    matrix: Matrix,
    row: Row,
    ref: ProjectRef,
    image_id: str,
    seen: list[ProjectRef],
    desired: Desired,
) -> str | None:
    """Why the image may not be deleted at *ref* whatever other copies exist, or None."""
    img = next(i for i in row.cell(ref).images if i.id == image_id)
    pid = matrix.project_id(ref)
    if pid is None or img.owner != pid:
        return (
            f"not owned: {img.id} is owned by another project ({img.owner}); "
            f"{ref} only sees it ({img.visibility})"
        )
    if img.protected:
        return f"{img.id} is protected"
    keep = [r for r in seen if desired.wanted(row.key, r) is True]
    if keep:
        places = ", ".join(map(str, keep))
        return (
            f"{img.id} is also the image {places} must keep (the same image seen from "
            f"there): deleting it would remove it from {places} too"
        )
    return None


def _glint_copy_in_flight(row: Row, ref: ProjectRef) -> bool:
    """True when *row* at *ref* is only half-made images glint itself is creating (no data
    yet, carrying a transfer id): another run's copy in progress, or a dead run's leftover
    that reconcile removes. Not a different image with the same name: the engine's
    per-destination lock and its look before creating decide what happens (the second run
    waits, then finds the copy "already present")."""
    if row.has_data:
        return False
    images = row.cell(ref).images
    return bool(images) and all(
        img.status != "active" and TRANSFER_PROPERTY in img.properties for img in images
    )
