"""What the matrix already holds of each catalog entry, read from glint's properties.

Each catalog image every listed column sees becomes a ``Sighting`` (one per column that
sees it: a shared image is seen from several). An image is believed to be version V only
when its properties and its bytes agree with each other and with what upstream says V is:

* a copy in the entry's own format must have the source's sha512 as its content key;
* ``glint_source_checksum`` (and ``glint_source_sha512`` where upstream uses sha512) must
  be upstream's for that version, when upstream still lists it.

An image that claims a version but fails these is a *suspect*: never counted as a copy,
never retired or renamed, reported. Half-made images (queued, saving, killed …) are left
to ``glint reconcile`` and only reported.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from glint_tui.core.catalog.entries import Entry
from glint_tui.core.catalog.naming import CatalogMark, mark_of
from glint_tui.core.catalog.upstream import Resolution
from glint_tui.core.inventory import Matrix, Physical, same_image
from glint_tui.core.model import ImageRecord, ProjectRef

DEACTIVATED = "deactivated"


@dataclass(frozen=True)
class Sighting:
    """One catalog image as one column sees it."""

    ref: ProjectRef
    image: ImageRecord
    mark: CatalogMark
    physical: Physical
    owned: bool

    @property
    def version(self) -> str:
        return self.mark.version

    @property
    def disk_format(self) -> str | None:
        return self.image.disk_format

    @property
    def verified(self) -> bool:
        """Active with a hash: a copy users can boot and glint can count."""
        return self.image.status == "active" and bool(self.image.content_key)

    @property
    def deactivated(self) -> bool:
        return self.image.status == DEACTIVATED

    @property
    def retired(self) -> bool:
        """Retired by glint or by hand: hidden, deactivated, or marked retired."""
        return self.image.hidden or self.deactivated or self.mark.retired_at is not None


@dataclass
class PhysicalImage:
    """One Glance image and every listed column that sees it."""

    sightings: list[Sighting] = field(default_factory=list)

    @property
    def first(self) -> Sighting:
        return self.sightings[0]

    @property
    def seen_from(self) -> list[ProjectRef]:
        return sorted({s.ref for s in self.sightings})

    def owners(self) -> list[Sighting]:
        return [s for s in self.sightings if s.owned]


@dataclass
class EntrySurvey:
    """Every usable sighting of one entry, the suspects, and the half-made ones."""

    entry: Entry
    sightings: list[Sighting] = field(default_factory=list)
    suspects: list[tuple[Sighting, str]] = field(default_factory=list)
    half_made: list[Sighting] = field(default_factory=list)

    def at(self, ref: ProjectRef) -> list[Sighting]:
        return [s for s in self.sightings if s.ref == ref]

    def versions(self) -> set[str]:
        return {s.version for s in self.sightings}

    def physical_images(self) -> list[PhysicalImage]:
        """Sightings grouped by physical image (``inventory.same_image``), stable order."""
        groups: list[tuple[Physical, PhysicalImage]] = []
        for s in sorted(self.sightings, key=lambda s: (s.ref, s.image.id)):
            group = next((g for p, g in groups if same_image(p, s.physical)), None)
            if group is None:
                group = PhysicalImage()
                groups.append((s.physical, group))
            group.sightings.append(s)
        return [g for _, g in groups]


def _suspicion(entry: Entry, image: ImageRecord, mark: CatalogMark, known: Resolution) -> str:
    """Why the image is not believably the version it claims ('' when it is)."""
    if image.disk_format == entry.disk_format:
        if not mark.source_sha512:
            return "it has no glint_source_sha512 property"
        if image.os_hash_algo != "sha512" or image.os_hash_value != mark.source_sha512:
            return "its bytes are not the source's (its sha512 is not glint_source_sha512)"
    upstream = known.get(mark.version) if known.ok else None
    if upstream is None:
        return ""
    if mark.source_checksum and mark.source_checksum != str(upstream.checksum):
        return (
            f"its source checksum is not upstream's for {mark.version} (upstream published "
            "different bytes under this version?)"
        )
    if upstream.checksum.is_sha512 and mark.source_sha512 not in (None, upstream.checksum.hex):
        return f"its glint_source_sha512 is not upstream's sha512 for {mark.version}"
    return ""


def _images(matrix: Matrix) -> Iterator[tuple[ProjectRef, ImageRecord, bool]]:
    for row in matrix.rows:
        for ref, cell in row.cells.items():
            st = matrix.status.get(ref)
            if st is None or not st.ok:
                continue
            pid = st.project_id
            for image in cell.images:
                yield ref, image, pid is not None and image.owner == pid


def survey(
    matrix: Matrix, entries: list[Entry], known: dict[str, Resolution]
) -> dict[str, EntrySurvey]:
    """Entry name -> what every listed column of *matrix* holds of it."""
    out = {e.name: EntrySurvey(e) for e in entries}
    for ref, image, owned in _images(matrix):
        mark = mark_of(image)
        if mark is None or mark.entry not in out:
            continue
        found = out[mark.entry]
        seen = Sighting(ref, image, mark, matrix.physical(ref, image.id), owned)
        if image.status not in ("active", DEACTIVATED):
            found.half_made.append(seen)
            continue
        why = _suspicion(found.entry, image, mark, known.get(mark.entry) or Resolution(mark.entry))
        if why:
            found.suspects.append((seen, why))
        else:
            found.sightings.append(seen)
    return out


class NameIndex:
    """Images by exact name per column (catalog or not): who holds a name glint wants."""

    def __init__(self, matrix: Matrix) -> None:
        self._by: dict[ProjectRef, dict[str, list[ImageRecord]]] = {}
        for ref, image, _ in _images(matrix):
            self._by.setdefault(ref, {}).setdefault(image.name, []).append(image)

    def holders(self, ref: ProjectRef, name: str) -> list[ImageRecord]:
        return list(self._by.get(ref, {}).get(name, ()))
