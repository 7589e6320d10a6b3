"""The image matrix: every configured repository:project listed at once.

Rows are images identified by (name, content key) — never by name alone — and columns
are ``ProjectRef``s. Listing runs one thread per column so a slow or broken cloud costs
only its own column (an error with a message), and the whole refresh takes about as
long as the slowest cloud.

Columns are not clouds: two projects of one repository, or two repositories registered
for one cloud, see the same Glance images. Each column's listing records the cloud's
identity (``core.cloudid``, from Keystone's catalog), and ``Matrix.physical`` names an
image by (cloud, image id), so the last-copy rule counts an image once however many
columns see it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from glint_tui.core.cloudid import CloudIdentity, group_clouds
from glint_tui.core.errors import GlintError, UsageError
from glint_tui.core.listing import Listing, list_column
from glint_tui.core.model import USABLE_STATUSES, CellState, ImageRecord, ProjectRef
from glint_tui.core.sessions import SessionSource

VISIBILITY_FILTERS = ("all", "project", "shared", "public")

RowKey = tuple[str, str]
"""(image name, content key). Images with no data yet use ``"none:<id>"`` as content key;
usable images whose content nobody can name (an AMI without glint's sha512 tag) use
``"unknown:<id>"``: a row of their own, with data (so never deleted as "no data"), and no
verified hash (so never a copy source)."""

Physical = tuple[str | None, str]
"""One Glance image: (cloud key, image id). The cloud key is None when the column's cloud
identity is unknown; such an image may be any image with the same id (``same_image``)."""


def same_image(a: Physical, b: Physical) -> bool:
    """Whether two physical keys may be one image. An unknown cloud matches any cloud:
    when in doubt, two sightings of one id are one image (the safe way to count copies)."""
    return a[1] == b[1] and (a[0] is None or b[0] is None or a[0] == b[0])


def row_key_of(image: ImageRecord) -> RowKey:
    """The identity of an image's row: its name plus its content key (or its id if no data).
    A copy glint converted (``ImageRecord.identity_key``) shares its source's row."""
    if image.identity_key:
        return (image.name or "", image.identity_key)
    if image.status in USABLE_STATUSES and image.os_hash_algo is None and image.size is None:
        return (image.name or "", f"unknown:{image.id}")
    return (image.name or "", f"none:{image.id}")


@dataclass(frozen=True)
class Cell:
    """One image row at one column.

    ``images`` are the Glance images with this (name, content) in the column — usually
    one, more when the same bytes were uploaded twice under one name.
    ``owned`` means the column's project owns at least one of them (it may delete it);
    a present cell that is not owned is LOCKED (shared/public/community from elsewhere).
    """

    ref: ProjectRef
    state: CellState = CellState.ABSENT
    images: tuple[ImageRecord, ...] = ()
    owned: bool = False

    @property
    def present(self) -> bool:
        return bool(self.images)

    @property
    def ids(self) -> list[str]:
        return [i.id for i in self.images]

    @property
    def image(self) -> ImageRecord | None:
        """The image glint acts on here (images are sorted owned and active first)."""
        return self.images[0] if self.images else None

    @property
    def visibility(self) -> str | None:
        return self.image.visibility if self.image else None

    @property
    def protected(self) -> bool:
        return any(i.protected for i in self.images)

    @property
    def status(self) -> str | None:
        return self.image.status if self.image else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": str(self.ref),
            "state": self.state.value,
            "owned": self.owned,
            "images": [
                {
                    "id": i.id,
                    "owner": i.owner,
                    "visibility": i.visibility,
                    "protected": i.protected,
                    "status": i.status,
                    "stores": list(i.stores),  # a multi-store Glance's stores holding it
                    # a copy glint converted (its own bytes; the row is its source's)
                    "content_key": i.content_key,
                    "converted_from": i.converted_from,
                }
                for i in self.images
            ],
        }


@dataclass
class Row:
    """One image identity (name, content key) across every column."""

    name: str
    content_key: str
    cells: dict[ProjectRef, Cell] = field(default_factory=dict)
    conflict: bool = False  # another row has the same name but different content
    size: int | None = None
    disk_format: str | None = None
    container_format: str | None = None

    @property
    def key(self) -> RowKey:
        return (self.name, self.content_key)

    @property
    def has_data(self) -> bool:
        return not self.content_key.startswith("none:")

    @property
    def label(self) -> str:
        """``name@<12 hex>``: how the CLI prints and accepts a row unambiguously."""
        if not self.has_data or self.content_key.startswith("unknown:"):
            return f"{self.name}@{self.content_key}"
        return f"{self.name}@{self.content_key.split(':', 1)[1][:12]}"

    def cell(self, ref: ProjectRef) -> Cell:
        return self.cells.get(ref) or Cell(ref)

    def holders(self, *, verified: bool = True) -> list[Cell]:
        """Cells holding this content; ``verified`` = an ``active`` image with a hash."""
        out = []
        for c in self.cells.values():
            if not c.present:
                continue
            if verified and not any(i.status == "active" and i.content_key for i in c.images):
                continue
            out.append(c)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "content_key": self.content_key,
            "label": self.label,
            "conflict": self.conflict,
            "size": self.size,
            "disk_format": self.disk_format,
            "cells": {str(r): c.to_dict() for r, c in sorted(self.cells.items())},
        }


@dataclass(frozen=True)
class ColumnStatus:
    """How listing one column went: ``error`` is a one-line human message, or None.
    ``cloud`` is the physical cloud the column belongs to (None: unknown)."""

    ref: ProjectRef
    project_id: str | None = None
    error: str | None = None
    seconds: float = 0.0
    image_count: int = 0
    cloud: CloudIdentity | None = None
    disk_formats: tuple[str, ...] | None = None
    """The only disk formats the column's cloud takes (EC2: raw), None: any. A copy of
    another format there is refused in the plan, before anything moves."""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class Matrix:
    """The inventory: columns (with their listing status) and rows, sorted by name."""

    columns: list[ProjectRef]
    status: dict[ProjectRef, ColumnStatus]
    rows: list[Row]
    refreshed_at: float = field(default_factory=time.time)
    clouds: dict[ProjectRef, str | None] = field(default_factory=dict)
    """Column -> cloud key (same key: same physical cloud; None: unknown). Filled from
    ``status`` when not given."""

    def __post_init__(self) -> None:
        if not self.clouds:
            self.clouds = group_clouds((st.ref, st.cloud) for st in self.status.values())

    # --- clouds --------------------------------------------------------------------------
    def cloud_of(self, ref: ProjectRef) -> str | None:
        return self.clouds.get(ref)

    def physical(self, ref: ProjectRef, image_id: str) -> Physical:
        """The image *image_id* as seen from column *ref*, named by its cloud."""
        return (self.cloud_of(ref), image_id)

    def same_cloud(self, ref: ProjectRef) -> list[str]:
        """Other repositories that are the same physical cloud as *ref*'s (sorted names):
        what the matrix marks, because an image seen through both is one copy."""
        key = self.cloud_of(ref)
        if key is None:
            return []
        return sorted({r.repository for r, k in self.clouds.items() if k == key} - {ref.repository})

    def seen_from(self, row: Row, ref: ProjectRef, image_id: str) -> list[ProjectRef]:
        """Every column (*ref* included) that sees the image *image_id* of *row* at *ref*.
        (One image is one name and one content: it is in one row only.)"""
        me = self.physical(ref, image_id)
        out = {
            r
            for r, c in row.cells.items()
            if any(same_image(self.physical(r, i.id), me) for i in c.images)
        }
        return sorted(out | {ref})

    # --- lookups -------------------------------------------------------------------------
    def row(self, key: RowKey) -> Row | None:
        for r in self.rows:
            if r.key == key:
                return r
        return None

    def find(self, spec: str) -> list[Row]:
        """Rows IMAGE may mean (``lookup``): more than one means it is ambiguous and the
        caller must refuse and list them, never pick one."""
        return self.lookup(spec).rows

    def lookup(self, spec: str) -> Lookup:
        """IMAGE read every way it can be: an image id, an exact name, and
        ``name@<hash prefix>`` (hex digest prefix, with or without ``sha512:``). No
        reading wins over another: a literal name ``a@b`` is found as a name, and when
        that name also reads as image ``a`` with hash ``b…``, both are candidates."""
        by_id = [r for r in self.rows if any(spec in c.ids for c in r.cells.values())]
        by_name = [r for r in self.rows if r.name == spec]
        name, sep, prefix = spec.rpartition("@")
        by_label = []
        if sep and name and prefix:
            by_label = [r for r in self.rows if r.name == name and _hash_matches(r, prefix)]
        return Lookup(spec, by_id, by_name, by_label)

    def no_such_image(self, spec: str) -> GlintError:
        """IMAGE found nowhere. When every column was listed that is a usage error; when
        some could not be, it may be in one of them, so the error names them and is the
        failure of an unreachable cloud."""
        failed = [st for st in self.status.values() if not st.ok]
        if not failed:
            return UsageError(f"no image named {spec!r} (see `glint images`)")
        why = ", ".join(
            f"{st.ref} ({(st.error or '').removeprefix(f'{st.ref}: ')})" for st in failed
        )
        if len(failed) == len(self.status):
            return GlintError(f"no image named {spec!r} found: no column could be listed: {why}")
        n = f"{len(failed)} column{'s' if len(failed) > 1 else ''}"
        return GlintError(
            f"no image named {spec!r} in the columns that answered; {n} could not be listed: {why}"
        )

    def unknown_column(self, ref: ProjectRef) -> str:
        """Why *ref* is not a column: not configured, or one repository shown as one
        column per region (then the message names them)."""
        regions = [
            c
            for c in self.columns
            if (c.repository, c.project) == (ref.repository, ref.project) and c.region
        ]
        if ref.region is None and regions:
            names = ", ".join(map(str, regions))
            return f"{ref.repository} has several regions: name one ({names})"
        return f"{ref} is not a configured REPO:PROJECT"

    def project_id(self, ref: ProjectRef) -> str | None:
        st = self.status.get(ref)
        return st.project_id if st else None

    def filtered(self, project: ProjectRef | None = None, visibility: str = "all") -> list[Row]:
        """Rows for a view: ``project`` (the local tenant) keeps rows present there;
        ``visibility`` all | project (owned by the project, any visibility) | shared |
        public (public or community). Without ``project`` the visibility test applies
        to any column."""
        if visibility not in VISIBILITY_FILTERS:
            raise ValueError(f"visibility filter must be one of {', '.join(VISIBILITY_FILTERS)}")
        out = []
        for r in self.rows:
            cells = [r.cell(project)] if project else list(r.cells.values())
            cells = [c for c in cells if c.present]
            if project and not cells:
                continue
            if visibility == "all" or any(_visible_as(c, visibility) for c in cells):
                out.append(r)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "refreshed_at": self.refreshed_at,
            "columns": [
                {
                    "ref": str(ref),
                    "project_id": self.status[ref].project_id,
                    "error": self.status[ref].error,
                    "images": self.status[ref].image_count,
                    "cloud": self.cloud_of(ref),
                    "same_cloud": self.same_cloud(ref),
                }
                for ref in self.columns
            ],
            "rows": [r.to_dict() for r in self.rows],
        }


@dataclass(frozen=True)
class Lookup:
    """What IMAGE matched, reading by reading (see ``Matrix.lookup``)."""

    spec: str
    by_id: list[Row]
    by_name: list[Row]
    by_label: list[Row]

    @property
    def rows(self) -> list[Row]:
        """Every row any reading matched, once each, in matrix order."""
        out: list[Row] = []
        for r in [*self.by_id, *self.by_name, *self.by_label]:
            if not any(r is o for o in out):
                out.append(r)
        return out


_HEX = re.compile(r"[0-9a-f]+")


def _hash_matches(row: Row, prefix: str) -> bool:
    """``prefix`` is a hex prefix of the row's digest, or of its whole content key
    (``sha512:ab…``, or ``none:<id>`` for an image without data)."""
    prefix = prefix.lower()
    key = row.content_key.lower()
    _, colon, rest = prefix.partition(":")
    if colon:
        return bool(rest) and key.startswith(prefix)
    return bool(_HEX.fullmatch(prefix)) and key.split(":", 1)[-1].startswith(prefix)


def _visible_as(cell: Cell, visibility: str) -> bool:
    if visibility == "project":
        return cell.owned
    if visibility == "shared":
        return any(i.visibility == "shared" for i in cell.images)
    if visibility == "public":
        return any(i.visibility in ("public", "community") for i in cell.images)
    return True


# --- building --------------------------------------------------------------------------


def cell_state(images: list[ImageRecord], project_id: str | None) -> CellState:
    """PRESENT (or LOCKED, not owned) only for an image whose bytes are there (``active``);
    a cell holding only half-made or unusable images (queued, saving, importing, killed,
    deactivated …) is INCOMPLETE: it must never read as a copy."""
    usable = [i for i in images if i.status in USABLE_STATUSES]
    if not usable:
        return CellState.INCOMPLETE
    owned = project_id is not None and any(i.owner == project_id for i in usable)
    return CellState.PRESENT if owned else CellState.LOCKED


def build_matrix(listings: Iterable[Listing]) -> Matrix:
    """Group listed images into rows (name, content key) and flag name conflicts."""
    listings = list(listings)
    columns = sorted(lst.ref for lst in listings)
    status = {lst.ref: _status_of(lst) for lst in listings}
    grouped: dict[RowKey, dict[ProjectRef, list[ImageRecord]]] = {}
    for lst in listings:
        for img in lst.images:
            grouped.setdefault(row_key_of(img), {}).setdefault(lst.ref, []).append(img)
    rows: list[Row] = []
    for (name, ckey), by_ref in grouped.items():
        row = Row(name, ckey)
        for ref, images in by_ref.items():
            pid = status[ref].project_id
            owned = pid is not None and any(i.owner == pid for i in images)
            # owned images first, so Cell.image is the one this project may act on
            images.sort(key=lambda i, pid=pid: (i.owner != pid, i.status != "active", i.id))
            row.cells[ref] = Cell(ref, cell_state(images, pid), tuple(images), owned)
        # the row's facts are its original bytes', not a converted copy's (other size/format)
        every = [i for images in by_ref.values() for i in images]
        for sample in [i for i in every if i.converted_from is None] + every:
            row.size = row.size or sample.size
            row.disk_format = row.disk_format or sample.disk_format
            row.container_format = row.container_format or sample.container_format
        rows.append(row)
    names: dict[str, int] = {}
    for r in rows:
        if r.has_data:
            names[r.name] = names.get(r.name, 0) + 1
    for r in rows:
        r.conflict = names.get(r.name, 0) > 1
    rows.sort(key=lambda r: (r.name.lower(), r.name, r.content_key))
    return Matrix(columns, status, rows)


def refresh(
    source: SessionSource,
    refs: Iterable[ProjectRef] | None = None,
    *,
    max_workers: int = 8,
    timeout: float | None = 120.0,
    on_column: Callable[[ColumnStatus], None] | None = None,
) -> Matrix:
    """List every column concurrently and build the matrix.

    ``source`` is a ``core.sessions.SessionProvider``; ``refs`` defaults to all of its
    refs. A column that fails (or does not answer within ``timeout`` seconds) gets an
    error message in ``Matrix.status`` and no cells; the others are unaffected.
    ``on_column`` is called (from a worker thread) as each column finishes, so a UI can
    show columns arriving.
    """
    refs = list(refs) if refs is not None else list(source.refs())
    if not refs:
        return build_matrix([])
    pool = ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(refs))))
    futures = {}
    for ref in refs:
        fut = pool.submit(list_column, source, ref)
        if on_column is not None:
            fut.add_done_callback(lambda f: [on_column(_status_of(lst)) for lst in f.result()])
        futures[fut] = ref
    done, not_done = wait(futures, timeout=timeout)
    listings = [lst for f in done for lst in f.result()]
    for f in not_done:
        listings.append(Listing(futures[f], error=f"no answer within {timeout:.0f} s"))
    pool.shutdown(wait=False, cancel_futures=True)
    fatal = next((lst.fatal for lst in listings if lst.fatal is not None), None)
    if fatal is not None:
        raise fatal
    return build_matrix(listings)


def _status_of(lst: Listing) -> ColumnStatus:
    counted = len(lst.images)
    return ColumnStatus(
        lst.ref, lst.project_id, lst.error, lst.seconds, counted, lst.cloud, lst.disk_formats
    )
