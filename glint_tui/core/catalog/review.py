"""A ``CatalogPlan`` per column, as ``glint catalog plan`` prints it and the UI reviews it.

Per column (``REPO:PROJECT``): which versions are uploaded there (converted or not),
shared to or from it, renamed, hidden, deactivated, deleted, restored or updated, what the
safety rules refuse there and why, notes (an in-use check that was not possible), and the
versions the column keeps once the plan ran. A step on a shared image is listed at its
owner and at every column that sees it ("the same image"). What concerns no one column
(an upstream that could not be read) comes last, then the totals.

Text from clouds and mirrors (names, ids, reasons) is escaped in ``lines``; ``to_dict``
carries it exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import humanize

from glint_tui.core.catalog.steps import (
    CatalogNote,
    CatalogPlan,
    CatalogRefusal,
    Rename,
    Restore,
    Retire,
    Share,
    Update,
    Upload,
)
from glint_tui.core.model import ProjectRef
from glint_tui.core.safetext import escape

WORDS = {"hide": "hide", "deactivate": "deactivate", "delete": "DELETE"}


@dataclass
class ColumnReview:
    """What one column gets from the plan (``ref`` None: what concerns no one column)."""

    ref: ProjectRef | None
    steps: list[tuple[Any, str]] = field(default_factory=list)  # (step, how it shows here)
    refusals: list[CatalogRefusal] = field(default_factory=list)
    notes: list[CatalogNote] = field(default_factory=list)
    keeps: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": [{**s.to_dict(), "here": text} for s, text in self.steps],
            "refusals": [r.to_dict() for r in self.refusals],
            "notes": [n.to_dict() for n in self.notes],
            "keeps": {k: list(v) for k, v in sorted(self.keeps.items())},
        }


def by_column(plan: CatalogPlan) -> list[ColumnReview]:
    """Every column the plan touches or keeps something in, sorted, then the rest."""
    cols: dict[ProjectRef | None, ColumnReview] = {}

    def at(ref: ProjectRef | None) -> ColumnReview:
        return cols.setdefault(ref, ColumnReview(ref))

    for step in plan.steps:
        for ref, text in _placed(step):
            at(ref).steps.append((step, text))
    for refusal in plan.refusals:
        at(refusal.ref).refusals.append(refusal)
    for note in plan.notes:
        at(note.ref).notes.append(note)
    for view in plan.entries.values():
        for ref, versions in view.keeps.items():
            at(ref).keeps[view.entry] = versions
    placed = sorted((r for r in cols if r is not None), key=str)
    return [cols[r] for r in placed] + ([cols[None]] if None in cols else [])


def _size(n: int | None) -> str:
    return humanize.naturalsize(n, binary=True) if n else "size unknown"


def _placed(step: Any) -> list[tuple[ProjectRef, str]]:
    """(column, the line for that column) for each column *step* shows in."""
    if isinstance(step, Upload):
        how = (
            f"{step.disk_format}, converted from {step.convert_from}"
            if step.convert_from
            else (step.disk_format)
        )
        return [
            (
                t.ref,
                f"upload    {step.entry} {step.version} as {t.name!r} ({how}, {_size(step.size)})",
            )
            for t in step.targets
        ]
    if isinstance(step, Share):
        what = f"{step.entry} {step.version}"
        return [
            (step.ref, f"share     {what} with {step.member}"),
            (
                step.member,
                f"shared    {what} from {step.ref} (accepted with {step.member}'s credentials)",
            ),
        ]
    own = _own_line(step)
    also = [
        (r, f"{own}  (through {step.ref}: the same image)")
        for r in getattr(step, "seen_from", ())
        if r != step.ref
    ]
    return [(step.ref, own), *also]


def _own_line(step: Any) -> str:
    target = step.image_id or "the new image"
    if isinstance(step, Rename):
        why = "steps aside" if step.why == "step-aside" else "takes the plain name once verified"
        return f"rename    {step.old_name!r} -> {step.new_name!r} ({target}): {why}"
    if isinstance(step, Retire):
        line = (
            f"{WORDS[step.action]:<9} {step.entry} {step.version} ({step.image_id}): {step.reason}"
        )
        if step.last_copy:
            line += f"; the LAST copy of {step.version} glint can see (no column keeps it)"
        if step.in_use_unknown:
            line += f"; in-use check not possible at {', '.join(map(str, step.in_use_unknown))}"
        return line
    if isinstance(step, Restore):
        what = " and ".join(
            w for w, on in (("shown", step.unhide), ("reactivated", step.reactivate)) if on
        )
        what = what or "unmarked"
        return f"restore   {step.entry} {step.version} ({step.image_id}): kept again, {what}"
    if isinstance(step, Update):
        keys = ", ".join(sorted(step.attrs))
        return f"update    {step.entry} {step.version} ({step.image_id}): {keys}"
    return repr(step)


def lines(plan: CatalogPlan) -> list[str]:
    """The review as escaped lines: a heading per column, its items, the totals."""
    out: list[str] = []
    for col in by_column(plan):
        out.append(str(col.ref) if col.ref is not None else "every column")
        out += [f"  {text}" for _, text in col.steps]
        for r in col.refusals:
            what = " ".join(x for x in (r.kind, r.entry, r.version) if x)
            out.append(f"  REFUSED   {what}: {r.reason}")
        out += [f"  note      {n.entry}: {n.text}" for n in col.notes]
        for entry, versions in sorted(col.keeps.items()):
            kept = ", ".join(f"{v} (plain name)" if i == 0 else v for i, v in enumerate(versions))
            out.append(f"  keeps     {entry}: {kept or 'nothing'}")
    if plan.empty and not plan.refusals:
        out.append("nothing to do: every column has what the catalog asks")
    out.append(plan.summary())
    return [escape(line) for line in out]


def to_dict(plan: CatalogPlan, path: str | None = None) -> dict[str, Any]:
    """The ``--json`` form: per column, the plan's own steps, and the totals."""
    columns = by_column(plan)
    return {
        "catalog": path,
        "columns": {str(c.ref): c.to_dict() for c in columns if c.ref is not None},
        "everywhere": next((c.to_dict() for c in columns if c.ref is None), None),
        "plan": plan.to_dict(),
        "summary": plan.summary(),
        "removals": plan.delete_count,
    }
