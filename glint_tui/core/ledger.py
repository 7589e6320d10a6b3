"""The last-copy rule's book: verified *physical* copies of each content key.

A matrix column is not a copy. One Glance image is seen from every project it is shared
with, and from every repository registered for its cloud; counting columns would let
glint delete the only copy because "another column still has it" (issue 8). The ledger
counts images by ``inventory.Physical`` (cloud key, image id) instead, and when the cloud
of a column is unknown it treats two sightings of one id as one image. A copy glint
converted to another format shares its source's row but is not counted: its bytes are
not the source's, so it never makes the source's last copy deletable.
"""

from __future__ import annotations

from dataclasses import dataclass

from glint_tui.core.inventory import Matrix, Physical, same_image
from glint_tui.core.model import ProjectRef

MAX_KEEPS = 3  # sightings a delete names for the engine to re-check (any one suffices)


@dataclass(frozen=True)
class Sighting:
    """One physical copy and a column glint can read it through."""

    physical: Physical
    ref: ProjectRef
    image_id: str


class CopyLedger:
    """Verified copies (``active`` with a hash, in a column that listed) per content key."""

    def __init__(self, matrix: Matrix) -> None:
        self.matrix = matrix
        self._copies: dict[str, list[Sighting]] = {}
        for row in matrix.rows:
            if not row.has_data:
                continue
            for cell in row.holders(verified=True):
                st = matrix.status.get(cell.ref)
                if st is None or not st.ok:
                    continue
                for img in cell.images:
                    # a converted copy (other bytes, same row) never keeps the source's
                    # content alive: only the bytes themselves count
                    if img.status == "active" and img.content_key == row.content_key:
                        self._add(row.content_key, matrix.physical(cell.ref, img.id), cell.ref)

    def _add(self, content_key: str, physical: Physical, ref: ProjectRef) -> None:
        book = self._copies.setdefault(content_key, [])
        if not any(s.physical == physical and s.ref == ref for s in book):
            book.append(Sighting(physical, ref, physical[1]))

    def others(self, content_key: str, physical: Physical) -> list[Sighting]:
        """Copies of *content_key* that are surely not *physical* (one sighting each)."""
        out: list[Sighting] = []
        for s in self._copies.get(content_key, []):
            if same_image(s.physical, physical):
                continue
            if not any(s.physical == o.physical for o in out):
                out.append(s)
        return out

    def keeps(self, content_key: str, physical: Physical) -> tuple[tuple[ProjectRef, str], ...]:
        """Up to ``MAX_KEEPS`` (column, image id) of other copies: what a delete relies on,
        for the engine to check again just before it deletes."""
        return tuple((s.ref, s.image_id) for s in self.others(content_key, physical)[:MAX_KEEPS])

    def remove(self, content_key: str, physical: Physical) -> None:
        """The image is (planned to be) gone: every sighting that may be it goes too."""
        book = self._copies.get(content_key, [])
        self._copies[content_key] = [s for s in book if not same_image(s.physical, physical)]
