"""A catalog plan laid over the matrix: which rows are catalog images (and which version),
and per cell what the catalog wants there (upload, convert, share, rename, hide,
deactivate, delete, restore, update, or refused and why).

Pure (no Textual): ``CatalogOverlay.build(plan, matrix)`` reads the plan the core made
(``Services.catalog_plan``) and the per-column lines of ``core.catalog.review`` — the same
words ``glint catalog plan`` prints — and files each under the cell it concerns. A version
the plan uploads that no column holds yet gets a row of its own (``new_rows``), so its
cells can show "upload" and, during the run, its live progress (``start_catalog_run``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rich.style import Style

from glint_tui.core.actions import CopyAction, CopyTarget, DeleteAction, Plan
from glint_tui.core.catalog import review
from glint_tui.core.catalog.naming import ENTRY, VERSION
from glint_tui.core.catalog.steps import CatalogPlan, CatalogRefusal, Retire, Share, Upload
from glint_tui.core.inventory import Matrix, Row, RowKey
from glint_tui.core.model import ProjectRef
from glint_tui.core.safetext import escape

if TYPE_CHECKING:
    from glint_tui.ui.state import MatrixModel

CellKey = tuple[RowKey, ProjectRef]

# the word a cell shows, most telling first (a cell with several shows the first and "+")
WORDS = ("refused", "DELETE", "deact", "hide", "convert", "upload", "share", "rename")
WORDS += ("restore", "update")


_STYLES = {"refused": "bold #ffff55", "DELETE": "bold #ff5555", "deact": "#ff5555"}
_STYLES |= {"hide": "#ff55ff", "upload": "bold #55ff55", "convert": "bold #55ff55"}


@functools.cache
def word_style(word: str) -> Style:
    """A cell word's colour: refusals yellow, removals red, hiding magenta, new versions
    green, the rest (share, rename, restore, update) cyan."""
    return Style.parse(_STYLES.get(word.rstrip("+"), "#55ffff"))


MEANINGS = {  # the help's legend: short enough for its two columns
    "upload": "catalog: a new version uploaded here",
    "convert": "catalog: uploaded here, converted",
    "share": "catalog: shared with this project",
    "rename": "catalog: renamed (plain or versioned)",
    "hide": "catalog: hidden, beyond keep",
    "deact": "catalog: deactivated, beyond keep",
    "DELETE": "catalog: deleted, beyond keep",
    "restore": "catalog: kept again (shown, active)",
    "update": "catalog: metadata updated",
    "refused": "catalog: refused (the bar says why)",
}


@dataclass(frozen=True)
class Want:
    """One thing the catalog wants of one cell: a short ``word`` for the cell and the
    review's own ``line`` for it (escaped)."""

    word: str
    line: str


def word_of(step: object) -> str:
    """The cell word of one plan step (share, rename, restore, update: its kind)."""
    if isinstance(step, Upload):
        return "convert" if step.convert_from else "upload"
    if isinstance(step, Retire):
        return {"delete": "DELETE", "deactivate": "deact"}.get(step.action, step.action)
    return str(getattr(step, "kind", "step"))


def _rank(want: Want) -> int:
    return WORDS.index(want.word) if want.word in WORDS else len(WORDS)


@dataclass
class CatalogOverlay:
    """What a ``CatalogPlan`` means for each row and cell of one matrix."""

    path: str
    plan: CatalogPlan
    versions: dict[RowKey, tuple[str, str]] = field(default_factory=dict)  # (entry, version)
    wants: dict[CellKey, list[Want]] = field(default_factory=dict)
    column_lines: dict[ProjectRef | None, list[str]] = field(default_factory=dict)
    new_rows: list[Row] = field(default_factory=list)
    upload_rows: dict[tuple[str, ProjectRef], RowKey] = field(default_factory=dict)
    step_rows: dict[str, RowKey] = field(default_factory=dict)  # step id -> its row

    @classmethod
    def build(cls, path: str, plan: CatalogPlan, matrix: Matrix) -> CatalogOverlay:
        overlay = cls(path, plan)
        where = overlay._index(matrix)
        overlay._place_uploads(matrix)
        for col in review.by_column(plan):
            for step, text in col.steps:
                key = overlay._row_of(step, where)
                if key is not None:
                    overlay.step_rows[step.id] = key  # type: ignore[attr-defined]
                if key is not None and col.ref is not None:
                    overlay._add(key, col.ref, Want(word_of(step), escape(text)))
            for refusal in col.refusals:
                overlay._refused(refusal, where, col.ref)
            for note in col.notes:
                overlay._column(col.ref, f"note {note.entry}: {note.text}")
        return overlay

    # --- building ------------------------------------------------------------------------
    def _index(self, matrix: Matrix) -> dict[str, RowKey]:
        """image id -> its row; rows of this catalog's entries -> (entry, version)."""
        where: dict[str, RowKey] = {}
        for row in matrix.rows:
            for cell in row.cells.values():
                for image in cell.images:
                    where[image.id] = row.key
                    entry, version = image.properties.get(ENTRY), image.properties.get(VERSION)
                    if entry in self.plan.entries and version:
                        self.versions[row.key] = (str(entry), str(version))
        return where

    def _place_uploads(self, matrix: Matrix) -> None:
        """Each upload's row: the one the clouds will show it in once made (a new row
        when no column has it yet)."""
        for upload in self.plan.uploads:
            name = upload.targets[0].name if upload.targets else upload.entry
            key = (name, upload.content_key or f"catalog:{upload.id}")
            if matrix.row(key) is None and all(r.key != key for r in self.new_rows):
                self.new_rows.append(
                    Row(name, key[1], size=upload.size, disk_format=upload.disk_format)
                )
            self.versions[key] = (upload.entry, upload.version)
            for target in upload.targets:
                self.upload_rows[(upload.id, target.ref)] = key

    def _row_of(self, step: object, where: dict[str, RowKey]) -> RowKey | None:
        if isinstance(step, Upload):
            return self.upload_rows.get((step.id, step.targets[0].ref)) if step.targets else None
        image_id = getattr(step, "image_id", None)
        if image_id:
            return where.get(image_id)
        upload = getattr(step, "upload", None)
        return self.upload_rows.get((upload, step.ref)) if upload else None  # type: ignore[attr-defined]

    def _add(self, key: RowKey, ref: ProjectRef, want: Want) -> None:
        self.wants.setdefault((key, ref), []).append(want)

    def _column(self, ref: ProjectRef | None, line: str) -> None:
        self.column_lines.setdefault(ref, []).append(escape(line))

    def _refused(
        self, refusal: CatalogRefusal, where: dict[str, RowKey], ref: ProjectRef | None
    ) -> None:
        what = " ".join(x for x in (refusal.kind, refusal.entry, refusal.version) if x)
        line = escape(f"REFUSED {what}: {refusal.reason}")
        keys = [where[refusal.image_id]] if refusal.image_id in where else []
        if not keys and refusal.version and ref is not None:
            wanted = (refusal.entry, refusal.version)
            keys = [k for k, v in self.versions.items() if v == wanted]
        if keys and ref is not None:
            for key in keys:
                self._add(key, ref, Want("refused", line))
        else:
            self._column(ref, line.removeprefix("REFUSED "))

    # --- reading -------------------------------------------------------------------------
    def at(self, key: RowKey, ref: ProjectRef) -> list[Want]:
        """The cell's wants, the most telling first (a refusal, a removal …)."""
        return sorted(self.wants.get((key, ref), []), key=_rank)

    def word(self, key: RowKey, ref: ProjectRef) -> str | None:
        """The cell's word: the most telling want, "+" when there are more."""
        wants = self.at(key, ref)
        return wants[0].word + ("+" if len(wants) > 1 else "") if wants else None

    def version_of(self, key: RowKey) -> tuple[str, str] | None:
        return self.versions.get(key)

    def describe(self, key: RowKey | None, ref: ProjectRef | None) -> list[str]:
        """Lines for the cell under the cursor: its wants, else the column's refusals and
        notes (escaped)."""
        lines: list[str] = []
        if key is not None and ref is not None:
            lines += [w.line for w in self.at(key, ref)]
        if not lines:
            lines += self.column_lines.get(ref, []) + self.column_lines.get(None, [])
        return lines

    def rows_for(self, project: ProjectRef | None, text: str) -> Iterable[Row]:
        """The new rows a view shows: under a project filter, those with a want there."""
        needle = text.lower()
        for row in self.new_rows:
            if needle and needle not in row.name.lower():
                continue
            if project is None or self.at(row.key, project):
                yield row

    # --- the run ---------------------------------------------------------------------------
    def display_plan(self) -> Plan:
        """The catalog plan as the matrix's run model follows it: one copy per upload (its
        row and targets) and one "delete"-shaped action per metadata step at its cell, so
        engine and step events light the right cells. Never run: display only."""
        out = Plan()
        for upload in self.plan.uploads:
            if not upload.targets:
                continue
            key = self.upload_rows[(upload.id, upload.targets[0].ref)]
            targets = tuple(
                CopyTarget(t.ref, t.name, None, t.cloud, t.project_id) for t in upload.targets
            )
            out.copies.append(
                CopyAction(upload.id, key[0], key[1], upload.size or 0, None, None, targets)
            )
        for step in self.plan.steps:
            if isinstance(step, Upload):
                continue
            ref = step.member if isinstance(step, Share) else step.ref  # type: ignore[attr-defined]
            key = self.step_rows.get(step.id)  # type: ignore[attr-defined]
            if key is not None:
                image = getattr(step, "image_id", None) or ""
                out.deletes.append(DeleteAction(step.id, key[0], key[1], ref, image))  # type: ignore[attr-defined]
        return out


def start_catalog_run(model: MatrixModel, overlay: CatalogOverlay) -> None:
    """``MatrixModel.start_run`` for a catalog plan: its display plan, with each metadata
    step's line named by what it does (hide, rename …), not "delete"."""
    model.start_run(overlay.display_plan())
    run = model.run
    assert run is not None
    for step in overlay.plan.steps:
        progress = run.actions.get(step.id)
        if progress is not None and not isinstance(step, Upload):
            progress.kind = word_of(step).lower()
            progress.name = f"{step.entry} {step.version}"  # type: ignore[attr-defined]
