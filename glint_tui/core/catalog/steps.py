"""What a catalog plan holds: steps for the engine and the metadata calls, and refusals.

The planner (``planner.plan_catalog``) makes a ``CatalogPlan``; stage 2 turns it into the
engine's work. Every step has an ``id`` and ``after`` (ids of steps that must have
*succeeded* first; a step whose prerequisite failed is skipped, never run anyway). The
natural order, which ``after`` encodes where it matters:

1. ``Upload`` — fetch the version once (``url``, checked against ``checksum``), convert
   it once per ``disk_format`` where ``convert_from`` is set, create it at every target
   under its versioned name and verify it (the engine's copy, from a local file);
2. ``Share`` — add a member (a project glint knows) and accept through its column;
3. ``Rename`` — the old newest steps aside to its versioned name, then the new newest
   takes the plain name (after its upload verified *in that column*);
4. ``Retire`` — hide / deactivate / delete, each past every safety rule; ``Restore`` —
   a retired version the column keeps again; ``Update`` — metadata the catalog changed.

An image that a step acts on is named by ``image_id``, or — when the plan creates it —
by ``upload`` (the Upload id) and the step's ``ref`` (the target it was created at).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from glint_tui.core.model import ProjectRef
from glint_tui.core.safetext import escape


def _jsonable(value: Any) -> Any:
    if isinstance(value, ProjectRef):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def _fields(obj: Any) -> dict[str, Any]:
    """A dataclass as JSON: its fields, refs as ``REPO:PROJECT`` (keys too)."""
    return {f.name: _jsonable(getattr(obj, f.name)) for f in fields(obj)}


class _Step:
    """JSON for every step: its fields plus ``kind``."""

    kind = "step"

    def to_dict(self) -> dict[str, Any]:
        return {**_fields(self), "kind": self.kind}


@dataclass(frozen=True)
class UploadTarget:
    """One column that gets its own image of the version. ``cloud``/``project_id`` are
    what the matrix knew of the place (the engine's copy lock key)."""

    ref: ProjectRef
    name: str
    cloud: str | None = None
    project_id: str | None = None


@dataclass(frozen=True)
class Upload(_Step):
    """One version in one disk format, to every target: fetched once, converted once."""

    id: str
    entry: str
    version: str
    url: str
    checksum: str  # upstream's, "sha512:…" or "sha256:…"
    source_sha512: str | None  # the source file's sha512 (None: learnt while fetching)
    source_format: str
    disk_format: str
    container_format: str
    visibility: str
    min_disk: int
    min_ram: int
    tags: tuple[str, ...]
    properties: dict[str, str]  # glint_source_sha512 is added once known
    targets: tuple[UploadTarget, ...]
    size: int | None = None  # bytes of the source file, when upstream said

    kind = "upload"

    @property
    def convert_from(self) -> str | None:
        """The source format when this upload is a converted copy (qemu-img), else None."""
        return self.source_format if self.source_format != self.disk_format else None

    @property
    def content_key(self) -> str | None:
        """The bytes' content key when known before fetching (sha512 source, no conversion)."""
        if self.convert_from is None and self.source_sha512:
            return f"sha512:{self.source_sha512}"
        return None

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["targets"] = [_fields(t) for t in self.targets]
        out["convert_from"] = self.convert_from
        return out


@dataclass(frozen=True)
class Share(_Step):
    """Make *member* see the image owned at ``ref``: add its project, accept through it."""

    id: str
    entry: str
    version: str
    ref: ProjectRef
    member: ProjectRef
    member_project_id: str
    image_id: str | None = None
    upload: str | None = None
    after: tuple[str, ...] = ()

    kind = "share"


@dataclass(frozen=True)
class Rename(_Step):
    """Rename one image (through its owner's column ``ref``). ``why``: ``step-aside``
    (the old newest takes its versioned name) or ``promote`` (the newest takes the plain
    name)."""

    id: str
    entry: str
    version: str
    ref: ProjectRef
    old_name: str
    new_name: str
    why: str
    image_id: str | None = None
    upload: str | None = None
    after: tuple[str, ...] = ()
    seen_from: tuple[ProjectRef, ...] = ()

    kind = "rename"


@dataclass(frozen=True)
class Retire(_Step):
    """Hide, deactivate or delete one image (by id, through its owner's column ``ref``).

    ``retired_at`` is the ``glint_catalog_retired_at`` value to set (None: it has one, or
    the image is deleted). ``last_copy``: no other verified copy of this version stays
    anywhere glint can see (allowed only because no column keeps the version).
    ``in_use_unknown`` lists the columns whose in-use check was not possible.
    ``content_key`` is the image's, as listed (re-checked before acting); ``keeps`` the
    other verified copies of this version, ``(column, image id, content key)``, a
    deactivate or delete relies on: one must still be there just before it acts."""

    id: str
    entry: str
    version: str
    ref: ProjectRef
    image_id: str
    name: str
    action: str  # hide | deactivate | delete
    reason: str
    size: int = 0
    retired_at: str | None = None
    after: tuple[str, ...] = ()
    seen_from: tuple[ProjectRef, ...] = ()
    last_copy: bool = False
    in_use_unknown: tuple[ProjectRef, ...] = ()
    content_key: str | None = None
    keeps: tuple[tuple[ProjectRef, str, str], ...] = ()

    kind = "retire"


@dataclass(frozen=True)
class Restore(_Step):
    """A retired image a column keeps again: shown (os_hidden false), reactivated if
    deactivated, ``glint_catalog_retired_at`` removed."""

    id: str
    entry: str
    version: str
    ref: ProjectRef
    image_id: str
    unhide: bool
    reactivate: bool

    kind = "restore"


@dataclass(frozen=True)
class Update(_Step):
    """Metadata of a kept image the catalog now says differently (``attrs``: Glance
    attribute or property -> value; only keys the catalog sets; nothing is removed)."""

    id: str
    entry: str
    version: str
    ref: ProjectRef
    image_id: str
    attrs: dict[str, Any]

    kind = "update"


@dataclass(frozen=True)
class CatalogRefusal:
    """Something the catalog asks for that glint will not do, and why.
    ``kind``: upstream, column, upload, share, rename, retire, restore."""

    entry: str
    kind: str
    reason: str
    version: str | None = None
    ref: ProjectRef | None = None
    image_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _fields(self)


@dataclass(frozen=True)
class CatalogNote:
    """Something the operator should know that changes nothing (e.g. an in-use check
    that was not possible, a half-made image left by an earlier run)."""

    entry: str
    text: str
    ref: ProjectRef | None = None

    def to_dict(self) -> dict[str, Any]:
        return _fields(self)


@dataclass(frozen=True)
class EntryView:
    """What the catalog wants of one entry: versions newest first (``upstream``: the ones
    upstream lists now), and per column the versions it keeps (newest first; the first
    holds the plain name)."""

    entry: str
    versions: tuple[str, ...]
    upstream: tuple[str, ...]
    keeps: dict[ProjectRef, tuple[str, ...]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return _fields(self)


@dataclass
class CatalogPlan:
    """Everything one catalog run would do, and what it refuses."""

    uploads: list[Upload] = field(default_factory=list)
    shares: list[Share] = field(default_factory=list)
    renames: list[Rename] = field(default_factory=list)
    retires: list[Retire] = field(default_factory=list)
    restores: list[Restore] = field(default_factory=list)
    updates: list[Update] = field(default_factory=list)
    refusals: list[CatalogRefusal] = field(default_factory=list)
    notes: list[CatalogNote] = field(default_factory=list)
    entries: dict[str, EntryView] = field(default_factory=dict)

    @property
    def steps(self) -> list[_Step]:
        """Every step in the natural order (uploads, shares, renames, the rest)."""
        return [
            *self.uploads,
            *self.shares,
            *self.renames,
            *self.retires,
            *self.restores,
            *self.updates,
        ]

    @property
    def empty(self) -> bool:
        return not self.steps

    is_empty = empty  # the name the review (``core.actions.Plan``'s) reads

    @property
    def removals(self) -> list[Retire]:
        """Deactivations and deletions: the steps that take a copy away. Like ``glint
        apply``'s deletions, they run only after the operator confirmed."""
        return [r for r in self.retires if r.action in ("deactivate", "delete")]

    @property
    def has_deletes(self) -> bool:
        return bool(self.removals)

    @property
    def delete_count(self) -> int:
        return len(self.removals)

    @property
    def delete_bytes(self) -> int:
        return sum(r.size for r in self.removals)

    def summary(self) -> str:
        """One line: how many of each step, and how many refusals."""
        places = sum(len(u.targets) for u in self.uploads)
        converted = sum(1 for u in self.uploads if u.convert_from)
        acts = [r.action for r in self.retires]
        parts = [
            f"{len(self.uploads)} upload{'' if len(self.uploads) == 1 else 's'} to "
            f"{places} place{'' if places == 1 else 's'} ({converted} converted)",
            f"{len(self.shares)} shared",
            f"{len(self.renames)} renamed",
            f"{acts.count('hide')} hidden",
            f"{acts.count('deactivate')} deactivated",
            f"{acts.count('delete')} deleted",
        ]
        if self.restores or self.updates:
            parts.append(f"{len(self.restores)} restored, {len(self.updates)} updated")
        if self.refusals:
            parts.append(f"{len(self.refusals)} refused")
        return ", ".join(parts)

    def for_column(self, ref: ProjectRef) -> list[_Step]:
        """The steps that change what *ref* sees (an upload there, a share to it, …)."""
        out: list[_Step] = []
        for step in self.steps:
            if isinstance(step, Upload):
                hit = any(t.ref == ref for t in step.targets)
            elif isinstance(step, Share):
                hit = step.member == ref
            else:
                hit = step.ref == ref or ref in getattr(step, "seen_from", ())
            if hit:
                out.append(step)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": [s.to_dict() for s in self.steps],
            "refusals": [r.to_dict() for r in self.refusals],
            "notes": [n.to_dict() for n in self.notes],
            "entries": {k: v.to_dict() for k, v in sorted(self.entries.items())},
        }

    def describe(self) -> list[str]:
        """One line per step, refusal and note, foreign text escaped (for a terminal)."""
        lines = [escape(line_of(s)) for s in self.steps]
        for r in self.refusals:
            what = " ".join(str(x) for x in (r.kind, r.entry, r.version) if x)
            lines.append(escape(f"refused {what} at {r.ref or '-'}: {r.reason}"))
        lines += [escape(f"note {n.entry} at {n.ref or '-'}: {n.text}") for n in self.notes]
        return lines


def line_of(step: _Step) -> str:
    """What *step* does, in words (not escaped: the caller escapes where it shows it)."""
    if isinstance(step, Upload):
        places = ", ".join(str(t.ref) for t in step.targets)
        how = f" (converted from {step.convert_from})" if step.convert_from else ""
        return f"upload {step.entry} {step.version} as {step.disk_format}{how} to {places}"
    if isinstance(step, Share):
        return f"share {step.entry} {step.version} from {step.ref} with {step.member}"
    if isinstance(step, Rename):
        return f"rename at {step.ref}: {step.old_name!r} -> {step.new_name!r} ({step.why})"
    if isinstance(step, Retire):
        return f"{step.action} {step.entry} {step.version} ({step.image_id}) at {step.ref}"
    if isinstance(step, Restore):
        return f"restore {step.entry} {step.version} ({step.image_id}) at {step.ref}"
    if isinstance(step, Update):
        keys = ", ".join(sorted(step.attrs))
        return f"update {step.entry} {step.version} ({step.image_id}) at {step.ref}: {keys}"
    return repr(step)
