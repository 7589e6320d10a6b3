"""Desired state: which images must (or must not) exist where.

Two producers: the TUI (cells the operator toggled) and the CLI's DESIRED.json, which
maps ``"name"`` or ``"name@<hash prefix>"`` to the ``REPO:PROJECT`` places the image
must exist; with ``prune`` the listed images are also removed from every other place
that currently holds them. Either way the result is a ``Desired`` that
``core.plan.build_plan`` turns into a Plan (where the safety rules apply).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glint_tui.core.errors import UsageError
from glint_tui.core.inventory import Matrix, RowKey
from glint_tui.core.model import ProjectRef


@dataclass
class Desired:
    """Per row, per column: True = must be present, False = must be absent.

    Cells not mentioned are left as they are. A TUI toggle is ``want(row.key, ref, bool)``.
    An absent cell normally means every image of the row there; ``image_ids`` narrows it
    to exactly those images (``glint delete ID``: that id and nothing else).
    """

    cells: dict[RowKey, dict[ProjectRef, bool]] = field(default_factory=dict)
    only: dict[tuple[RowKey, ProjectRef], frozenset[str]] = field(default_factory=dict)

    def want(
        self,
        key: RowKey,
        ref: ProjectRef,
        present: bool,
        image_ids: frozenset[str] | set[str] | None = None,
    ) -> None:
        self.cells.setdefault(key, {})[ref] = present
        if image_ids is not None and not present:
            self.only[(key, ref)] = frozenset(image_ids)
        else:
            self.only.pop((key, ref), None)

    def clear(self, key: RowKey, ref: ProjectRef) -> None:
        """Forget a toggle (the cell goes back to what it is)."""
        self.only.pop((key, ref), None)
        per = self.cells.get(key)
        if per is not None:
            per.pop(ref, None)
            if not per:
                del self.cells[key]

    def wanted(self, key: RowKey, ref: ProjectRef) -> bool | None:
        return self.cells.get(key, {}).get(ref)

    def only_ids(self, key: RowKey, ref: ProjectRef) -> frozenset[str] | None:
        """The image ids an absent cell is narrowed to, or None (all of them)."""
        return self.only.get((key, ref))

    def __bool__(self) -> bool:
        return any(self.cells.values())


def parse_desired(obj: Any, source: str = "DESIRED") -> dict[str, list[ProjectRef]]:
    """Validate the JSON shape: ``{"image": ["REPO:PROJECT", ...], ...}``."""
    if not isinstance(obj, dict):
        raise UsageError(f"{source}: expected a JSON object mapping image names to places")
    out: dict[str, list[ProjectRef]] = {}
    for spec, places in obj.items():
        if not isinstance(spec, str) or not spec:
            raise UsageError(f"{source}: image names must be non-empty strings")
        if not isinstance(places, list) or not all(isinstance(p, str) for p in places):
            raise UsageError(f'{source}: {spec!r} must map to a list of "REPO:PROJECT" strings')
        refs = []
        for p in places:
            try:
                refs.append(ProjectRef.parse(p))
            except ValueError as e:
                raise UsageError(f"{source}: {spec!r}: {e}") from None
        out[spec] = refs
    return out


def load_desired_file(path: str | Path) -> dict[str, list[ProjectRef]]:
    """Read and validate a DESIRED.json file (one-line UsageError on any problem)."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except (OSError, ValueError) as e:
        raise UsageError(f"{path}: not valid JSON ({e})") from None
    return parse_desired(obj, str(path))


def desired_from_mapping(
    mapping: dict[str, list[ProjectRef]], matrix: Matrix, *, prune: bool = False
) -> Desired:
    """Resolve each image spec to exactly one row and mark its wanted places.

    An unknown spec or one matching several rows (a name conflict, or a literal name
    that also reads as ``name@hash``) is a UsageError listing the candidates; a place
    that is not a configured column is a UsageError too. With ``prune``, every other
    column holding the row is marked unwanted (the safety rules still decide in
    build_plan).
    """
    desired = Desired()
    columns = set(matrix.columns)
    for spec, refs in mapping.items():
        rows = [r for r in matrix.find(spec) if r.has_data]
        if not rows:
            raise matrix.no_such_image(spec)
        if len(rows) > 1:
            labels = ", ".join(
                f"{r.label} (id {', '.join(sorted({i for c in r.cells.values() for i in c.ids}))})"
                for r in rows
            )
            raise UsageError(f"{spec!r} is ambiguous: {labels}; name it by an image id")
        row = rows[0]
        for ref in refs:
            if ref not in columns:
                raise UsageError(f"{spec!r}: {ref} is not a configured REPO:PROJECT")
            desired.want(row.key, ref, True)
        if prune:
            for ref, cell in row.cells.items():
                if cell.present and ref not in refs:
                    desired.want(row.key, ref, False)
    return desired
