"""One entry being planned: the facts every planning pass reads, and what they decided.

The passes (``placement``, ``rotation``, ``retire``, ``drift``) run in that order on one
``EntryWork``; each reads what the earlier ones recorded (which versions arrive where,
which image steps aside) so the later steps can wait for the earlier ones (``after``).

Terms:

* *managed* columns: the listed columns ``to:`` selects; *unlisted*: selected but their
  listing failed (what they hold is unknown, so they are assumed to keep everything);
* *ranked*: every version known, newest first — the ones upstream lists now, then the
  ones only the clouds still hold (upstream dropped them: older than anything it lists);
* *wanted*: the versions every managed column must have (``latest``: upstream's newest;
  a ``versions:`` list: its newest ``keep``);
* *keeps[X]*: the newest ``keep`` versions column X has or will have after this run, in
  X's format; the first of them holds the plain name.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from glint_tui.core.catalog.entries import Entry
from glint_tui.core.catalog.inuse import ProbeFor
from glint_tui.core.catalog.steps import CatalogNote, CatalogPlan, CatalogRefusal, Update
from glint_tui.core.catalog.survey import EntrySurvey, NameIndex, PhysicalImage, Sighting
from glint_tui.core.catalog.upstream import Resolution
from glint_tui.core.catalog.versions import newest_first
from glint_tui.core.inventory import Matrix, Physical
from glint_tui.core.model import ProjectRef

Pending = tuple[str, ProjectRef]
"""An image this plan creates: (upload id, the target column it is created at)."""


def new_id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class EntryWork:
    entry: Entry
    resolution: Resolution
    matrix: Matrix
    survey: EntrySurvey
    names: NameIndex
    plan: CatalogPlan
    now: dt.datetime
    probe_for: ProbeFor | None
    managed: list[ProjectRef]
    unlisted: list[ProjectRef]
    ranked: list[str] = field(default_factory=list)
    wanted: list[str] = field(default_factory=list)
    keeps: dict[ProjectRef, list[str]] = field(default_factory=dict)
    arriving: dict[ProjectRef, dict[str, list[str]]] = field(default_factory=dict)
    """Column -> version -> ids of the steps that make it see the version."""
    pending: dict[tuple[ProjectRef, str], Pending] = field(default_factory=dict)
    """(column, version) -> the image this plan creates for the column to see."""
    stepped_aside: dict[Physical | Pending, str] = field(default_factory=dict)
    """Image -> id of the rename that moves it off the plain name."""
    updates: dict[Physical, Update] = field(default_factory=dict)
    _images: list[PhysicalImage] | None = None

    def __post_init__(self) -> None:
        upstream = [v.version for v in self.resolution.versions]
        older = newest_first(self.survey.versions() - set(upstream))
        if self.entry.versions_by_checksum:  # names carry no order: when glint made them does
            older.sort(key=self._first_made, reverse=True)
        self.ranked = upstream + older
        count = 1 if self.entry.latest else self.entry.keep
        self.wanted = upstream[:count]

    def _first_made(self, version: str) -> str:
        """When glint first made *version* anywhere (Glance's created_at, ISO text)."""
        made = [s.image.created_at or "" for s in self.survey.sightings if s.version == version]
        return min(made, default="")

    # --- places ------------------------------------------------------------------------
    def fmt(self, ref: ProjectRef) -> str:
        return self.entry.format_for(ref.repository)

    def cloud(self, ref: ProjectRef) -> str:
        """The physical cloud of a column (one repository is one cloud when unknown)."""
        return self.matrix.cloud_of(ref) or f"repository:{ref.repository}"

    # --- what is where -----------------------------------------------------------------
    def counts(self, s: Sighting) -> bool:
        """Whether *s* is one of the versions its column keeps, in the column's format."""
        return s.version in self.keeps.get(s.ref, ()) and s.disk_format == self.fmt(s.ref)

    def copies_at(self, ref: ProjectRef, version: str) -> list[Sighting]:
        """Sightings of *version* at *ref* in its format (verified first, then owned)."""
        found = [
            s
            for s in self.survey.at(ref)
            if s.version == version and s.disk_format == self.fmt(ref)
        ]
        return sorted(found, key=lambda s: (not s.verified, not s.owned, s.image.id))

    def has(self, ref: ProjectRef, version: str) -> bool:
        """True when *ref* sees a usable (or restorable) copy of *version* now."""
        return bool(self.copies_at(ref, version))

    def arrive(self, ref: ProjectRef, version: str, step_id: str) -> None:
        self.arriving.setdefault(ref, {}).setdefault(version, []).append(step_id)

    def arriving_ids(self, ref: ProjectRef) -> list[str]:
        return [i for ids in self.arriving.get(ref, {}).values() for i in ids]

    def compute_keeps(self) -> None:
        """keeps[X]: the newest ``keep`` versions X has now or that arrive there."""
        for ref in self.managed:
            there = [v for v in self.ranked if self.has(ref, v) or v in self.arriving.get(ref, {})]
            self.keeps[ref] = there[: self.entry.keep]

    def needers(self, version: str) -> list[ProjectRef]:
        """Columns that still keep *version* (unlisted ones might: assumed to)."""
        return sorted({r for r, vs in self.keeps.items() if version in vs} | set(self.unlisted))

    def images(self) -> list[PhysicalImage]:
        """Every physical image of the entry (computed once)."""
        if self._images is None:
            self._images = self.survey.physical_images()
        return self._images

    def image_of(self, s: Sighting) -> PhysicalImage:
        return next(i for i in self.images() if s in i.sightings)

    def owner_view(self, image: PhysicalImage) -> Sighting | None:
        """The sighting through which glint may change *image*: a managed column owning it."""
        managed = set(self.managed)
        return next((s for s in image.owners() if s.ref in managed), None)

    # --- telling -----------------------------------------------------------------------
    def refuse(
        self,
        kind: str,
        reason: str,
        version: str | None = None,
        ref: ProjectRef | None = None,
        image_id: str | None = None,
    ) -> None:
        refusal = CatalogRefusal(self.entry.name, kind, reason, version, ref, image_id)
        if refusal not in self.plan.refusals:
            self.plan.refusals.append(refusal)

    def note(self, text: str, ref: ProjectRef | None = None) -> None:
        note = CatalogNote(self.entry.name, text, ref)
        if note not in self.plan.notes:
            self.plan.notes.append(note)

    def update_for(self, s: Sighting) -> Update | None:
        """The Update bringing *s*'s metadata to what the catalog says (one per image,
        made on first ask), or None when nothing differs."""
        if s.physical in self.updates:
            return self.updates[s.physical]
        image, entry = s.image, self.entry
        attrs: dict[str, object] = {}
        if image.visibility != entry.visibility:
            attrs["visibility"] = entry.visibility
        if image.min_disk != entry.min_disk:
            attrs["min_disk"] = entry.min_disk
        if image.min_ram != entry.min_ram:
            attrs["min_ram"] = entry.min_ram
        for key, value in entry.properties.items():
            if image.properties.get(key) != value:
                attrs[key] = value
        missing = [t for t in entry.tags if t not in image.tags]
        if missing:
            attrs["tags"] = sorted({*image.tags, *missing})
        if not attrs:
            return None
        update = Update(new_id(), entry.name, s.version, s.ref, image.id, attrs)
        self.updates[s.physical] = update
        self.plan.updates.append(update)
        return update
