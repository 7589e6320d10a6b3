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
from dataclasses import replace

from glint_tui.core.actions import CopyAction, CopyTarget, DeleteAction, Plan, Refusal
from glint_tui.core.desired import Desired
from glint_tui.core.inventory import Matrix, Physical, Row, same_image
from glint_tui.core.ledger import CopyLedger
from glint_tui.core.model import VISIBILITIES, ProjectRef

ON_CONFLICT = ("refuse", "rename", "keep-both", "replace")


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
    ledger = CopyLedger(matrix)
    # copies that will add a holder if they succeed: content key -> copy ids
    incoming: dict[str, list[str]] = {}

    rows = [r for r in matrix.rows if r.key in desired.cells]
    for row in rows:
        wants = [ref for ref, v in desired.cells[row.key].items() if v]
        copy = _plan_copy(
            matrix, row, wants, plan, ledger, home_repository, on_conflict, visibility, source
        )
        if copy is not None:
            plan.copies.append(copy)
            incoming.setdefault(row.content_key, []).append(copy.id)
    deleted: list[Physical] = []  # one image seen from two columns is deleted once
    for row in rows:
        unwanted = sorted(ref for ref, v in desired.cells[row.key].items() if not v)
        for ref in unwanted:
            _plan_delete(matrix, row, ref, plan, ledger, incoming, desired, deleted)
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
    ledger: CopyLedger,
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
            gone = matrix.physical(ref, images[0].id) if images else (None, "")
            if len(images) != 1:
                _refuse(plan, "copy", row, ref, f"several images named {row.name!r} at {ref}")
            elif not cells[0].owned:
                _refuse(
                    plan, "copy", row, ref, f"cannot replace {images[0].id}: not owned by {ref}"
                )
            elif images[0].protected:
                _refuse(plan, "copy", row, ref, f"cannot replace {images[0].id}: it is protected")
            elif others[0].has_data and not ledger.others(others[0].content_key, gone):
                _refuse(
                    plan,
                    "copy",
                    row,
                    ref,
                    f"cannot replace {images[0].id}: it is the last copy of its content "
                    "glint can see",
                )
            else:
                if others[0].has_data:
                    ledger.remove(others[0].content_key, gone)
                targets.append(CopyTarget(ref, row.name, replaces=images[0].id))
    if not targets:
        return None
    targets = [
        replace(t, cloud=matrix.cloud_of(t.ref), project_id=matrix.project_id(t.ref))
        for t in targets
    ]
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
    ledger: CopyLedger,
    incoming: dict[str, list[str]],
    desired: Desired,
    deleted: list[Physical],
) -> None:
    cell = row.cell(ref)
    only = desired.only_ids(row.key, ref)
    for img in cell.images:
        if only is not None and img.id not in only:
            continue
        physical = matrix.physical(ref, img.id)
        if any(same_image(physical, p) for p in deleted):
            continue  # the same image, already deleted through another column
        seen = [r for r in matrix.seen_from(row, ref, img.id) if r != ref]
        why = _undeletable(matrix, row, ref, img.id, seen, desired)
        if why:
            _refuse(plan, "delete", row, ref, why)
            continue
        after: tuple[str, ...] = ()
        keeps: tuple[tuple[ProjectRef, str], ...] = ()
        if row.has_data:
            keeps = ledger.keeps(row.content_key, physical)
            if not keeps:
                after = tuple(incoming.get(row.content_key, []))
                if not after:
                    _refuse(
                        plan,
                        "delete",
                        row,
                        ref,
                        f"{img.id} is the last copy of this content glint can see"
                        + (f" (also seen from {', '.join(map(str, seen))})" if seen else ""),
                    )
                    continue
            ledger.remove(row.content_key, physical)
        deleted.append(physical)
        plan.deletes.append(
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
