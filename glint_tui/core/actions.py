"""What a Plan is made of: copies, deletes, refusals — serializable and describable.

``core.plan.build_plan`` makes them (applying the safety rules); the transfer engine runs
them; the CLI and the UI show ``Plan.describe()`` for the operator to confirm.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import PurePath
from typing import Any

import humanize

from glint_tui.core.model import ProjectRef
from glint_tui.core.safetext import escape


@dataclass(frozen=True)
class CopyTarget:
    """One destination of a copy: where, under which name, and which image it replaces
    (``replaces``: the id of a different same-named image to delete once the copy
    verified, with ``--on-conflict replace``). ``cloud`` and ``project_id`` are what the
    matrix knew of the place (its cloud key and project id): every glint run copying the
    same content there takes the same lock (``core.locks``)."""

    ref: ProjectRef
    name: str
    replaces: str | None = None
    cloud: str | None = None
    project_id: str | None = None
    # how the bytes get there (``core.importmethods``: stream, glance-download,
    # web-download, copy-image), why, and the import's request body for a cloud-side one
    method: str = "stream"
    method_note: str = ""
    import_body: dict[str, Any] | None = field(default=None, hash=False, compare=False)
    store: str | None = None  # the store the copy must land in (None: the default)
    adds_store_to: str | None = None  # copy-image: the image already here that gets *store*
    # the disk format the image is converted to on this host first (the column takes only
    # that one, EC2: raw); the copy's own sha512 is then the converted file's
    convert_to: str | None = None

    @property
    def cloud_side(self) -> bool:
        """The destination's cloud moves the bytes: none cross this host."""
        return self.method != "stream"

    def host_bytes(self, size: int) -> int:
        """Bytes of a *size*-byte image that cross this host for this destination."""
        return 0 if self.cloud_side else size

    def to_dict(self) -> dict[str, Any]:
        return {
            "ref": str(self.ref),
            "name": self.name,
            "replaces": self.replaces,
            "cloud": self.cloud,
            "project_id": self.project_id,
            "method": self.method,
            "method_note": self.method_note,
            "import_body": self.import_body,
            "store": self.store,
            "adds_store_to": self.adds_store_to,
            "convert_to": self.convert_to,
        }

    @classmethod
    def from_dict(cls, t: dict[str, Any]) -> CopyTarget:
        return cls(
            ProjectRef.parse(t["ref"]),
            t["name"],
            t.get("replaces"),
            t.get("cloud"),
            t.get("project_id"),
            method=t.get("method") or "stream",
            method_note=t.get("method_note") or "",
            import_body=t.get("import_body"),
            store=t.get("store"),
            adds_store_to=t.get("adds_store_to"),
            convert_to=t.get("convert_to"),
        )

    @property
    def lock_key(self) -> tuple[str, str]:
        """(cloud, project) of the place; its names when the matrix knew no better."""
        return (
            self.cloud or f"repository:{self.ref.repository}",
            self.project_id or f"project:{self.ref.project}",
        )


@dataclass(frozen=True)
class FileImage:
    """What an image made from a local file carries besides its bytes: a file has no
    Glance record to copy formats, limits, tags and properties from (the catalog's
    fetched upstream file, ``glint upload FILE``)."""

    container_format: str = "bare"
    min_disk: int = 0
    min_ram: int = 0
    tags: tuple[str, ...] = ()
    properties: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tags": list(self.tags)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileImage:
        return cls(
            d.get("container_format") or "bare",
            int(d.get("min_disk") or 0),
            int(d.get("min_ram") or 0),
            tuple(d.get("tags") or ()),
            dict(d.get("properties") or {}),
        )


@dataclass(frozen=True)
class CopyAction:
    """Stream one image (content) from one source to one or more destinations.

    The source is an image in a cloud (``source`` and ``source_image_id``), or a file on
    this host (``source_file``, with ``source`` and ``source_image_id`` None): the
    engine reads either through ``core.transfer.sources``. A file's image gets what
    ``file_image`` says (formats, limits, tags, properties), else nothing but its name.
    """

    id: str
    name: str
    content_key: str
    size: int
    source: ProjectRef | None
    source_image_id: str | None
    targets: tuple[CopyTarget, ...]
    disk_format: str | None = None
    visibility: str = "private"
    source_file: str | None = None
    file_image: FileImage | None = None

    kind = "copy"

    @property
    def origin(self) -> str:
        """Where the bytes come from, for people: ``REPO:PROJECT`` or ``file PATH``."""
        return f"file {self.source_file}" if self.source_file else str(self.source)

    @property
    def destinations(self) -> list[ProjectRef]:
        return [t.ref for t in self.targets]

    @property
    def bytes_out(self) -> int:
        """Bytes this host uploads in total (size × streamed destinations)."""
        return sum(t.host_bytes(self.size) for t in self.targets)

    @property
    def bytes_in(self) -> int:
        """Bytes this host reads: the image once, if any destination is streamed."""
        return self.size if any(not t.cloud_side for t in self.targets) else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": "copy",
            "name": self.name,
            "content_key": self.content_key,
            "size": self.size,
            "source": str(self.source) if self.source else None,
            "source_image_id": self.source_image_id,
            "source_file": self.source_file,
            "targets": [
                {**t.to_dict(), "host_bytes": t.host_bytes(self.size)} for t in self.targets
            ],
            "disk_format": self.disk_format,
            "visibility": self.visibility,
            "file_image": self.file_image.to_dict() if self.file_image else None,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CopyAction:
        return cls(
            id=d["id"],
            name=d["name"],
            content_key=d["content_key"],
            size=int(d["size"]),
            source=ProjectRef.parse(d["source"]) if d.get("source") else None,
            source_image_id=d.get("source_image_id"),
            targets=tuple(CopyTarget.from_dict(t) for t in d["targets"]),
            disk_format=d.get("disk_format"),
            visibility=d.get("visibility", "private"),
            source_file=d.get("source_file"),
            file_image=FileImage.from_dict(d["file_image"]) if d.get("file_image") else None,
        )


@dataclass(frozen=True)
class DeleteAction:
    """Delete one Glance image (by id, never by name) at one place.

    ``after`` lists copy action ids that must have verified first (the delete relies on
    them to keep a copy of the content alive); the engine skips the delete otherwise.
    ``keeps`` names other copies, (place, image id), that keep the content alive: the
    engine checks one of them is still there just before it deletes. ``seen_from`` are
    the other places that see this very image (shared, or the same cloud registered
    twice): it disappears there too.
    """

    id: str
    name: str
    content_key: str
    ref: ProjectRef
    image_id: str
    size: int = 0
    after: tuple[str, ...] = ()
    reason: str = "unwanted"
    keeps: tuple[tuple[ProjectRef, str], ...] = ()
    seen_from: tuple[ProjectRef, ...] = ()

    kind = "delete"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = "delete"
        d["ref"] = str(self.ref)
        d["after"] = list(self.after)
        d["keeps"] = [{"ref": str(r), "image_id": i} for r, i in self.keeps]
        d["seen_from"] = [str(r) for r in self.seen_from]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DeleteAction:
        return cls(
            id=d["id"],
            name=d["name"],
            content_key=d["content_key"],
            ref=ProjectRef.parse(d["ref"]),
            image_id=d["image_id"],
            size=int(d.get("size") or 0),
            after=tuple(d.get("after") or ()),
            reason=d.get("reason", "unwanted"),
            keeps=tuple((ProjectRef.parse(k["ref"]), k["image_id"]) for k in d.get("keeps", [])),
            seen_from=tuple(ProjectRef.parse(r) for r in d.get("seen_from", [])),
        )


@dataclass(frozen=True)
class Refusal:
    """Something the desired state asked for that glint will not do, and why."""

    kind: str  # "copy" | "delete"
    name: str
    content_key: str
    ref: ProjectRef
    reason: str

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ref"] = str(self.ref)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Refusal:
        return cls(d["kind"], d["name"], d["content_key"], ProjectRef.parse(d["ref"]), d["reason"])


@dataclass
class Plan:
    """What will happen: copies, deletes, refusals, and their totals."""

    copies: list[CopyAction] = field(default_factory=list)
    deletes: list[DeleteAction] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.copies and not self.deletes

    @property
    def copy_count(self) -> int:
        """Number of images that will be created (one per destination)."""
        return sum(len(c.targets) for c in self.copies)

    @property
    def copy_bytes(self) -> int:
        return sum(c.bytes_out for c in self.copies)

    @property
    def download_bytes(self) -> int:
        """Bytes this host downloads from source clouds (each source image once: a copy
        converted here reads the spool's copy of the same image's other copy)."""
        reads = {(c.source, c.source_image_id): c.bytes_in for c in self.copies if c.bytes_in}
        return sum(n for (source, _), n in reads.items() if source is not None)

    @property
    def file_bytes(self) -> int:
        """Bytes this host reads from local files (``glint upload``, a catalog's fetch)."""
        return sum(c.bytes_in for c in self.copies if c.source_file)

    @property
    def cloud_side_count(self) -> int:
        """Destinations whose cloud moves the bytes itself."""
        return sum(1 for c in self.copies for t in c.targets if t.cloud_side)

    @property
    def delete_count(self) -> int:
        return len(self.deletes) + sum(
            1 for c in self.copies for t in c.targets if t.replaces is not None
        )

    @property
    def delete_bytes(self) -> int:
        return sum(d.size for d in self.deletes)

    @property
    def has_deletes(self) -> bool:
        return self.delete_count > 0

    def action(self, action_id: str) -> CopyAction | DeleteAction | None:
        for a in [*self.copies, *self.deletes]:
            if a.id == action_id:
                return a
        return None

    # --- serialisation -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "copies": [c.to_dict() for c in self.copies],
            "deletes": [d.to_dict() for d in self.deletes],
            "refusals": [r.to_dict() for r in self.refusals],
            "totals": {
                "copies": self.copy_count,
                "copy_bytes": self.copy_bytes,
                "download_bytes": self.download_bytes,
                "file_bytes": self.file_bytes,
                "host_bytes": self.copy_bytes + self.download_bytes + self.file_bytes,
                "cloud_side": self.cloud_side_count,
                "deletes": self.delete_count,
                "delete_bytes": self.delete_bytes,
                "refusals": len(self.refusals),
            },
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        return cls(
            [CopyAction.from_dict(c) for c in d.get("copies", [])],
            [DeleteAction.from_dict(x) for x in d.get("deletes", [])],
            [Refusal.from_dict(r) for r in d.get("refusals", [])],
        )

    @classmethod
    def from_json(cls, text: str) -> Plan:
        return cls.from_dict(json.loads(text))

    # --- display -------------------------------------------------------------------------
    def describe(self) -> list[str]:
        """Human-readable lines, one per action (the CLI prints them). Names and reasons
        come from clouds: each line is escaped (``core.safetext``), safe to print."""
        lines: list[str] = []
        for c in self.copies:
            for t in c.targets:
                extra = f" as {t.name!r}" if t.name != c.name else ""
                if t.replaces:
                    extra += f", then delete the other {c.name!r} ({t.replaces})"
                store = f" store {t.store}" if t.store else ""
                lines.append(
                    f"copy    {_label(c.name, c.content_key)}  {c.origin} -> {t.ref}{store}"
                    f"  ({_size(c.size)}) {_how(t, c.size)}{extra}"
                )
        for d in self.deletes:
            after = " (after its copy verifies)" if d.after else ""
            if d.seen_from:
                after += f"; also gone from {', '.join(map(str, d.seen_from))} (the same image)"
            lines.append(
                f"delete  {_label(d.name, d.content_key)}  at {d.ref}  id {d.image_id}"
                f"  ({_size(d.size)}){after}"
            )
        for r in self.refusals:
            lines.append(f"REFUSED {r.kind} {_label(r.name, r.content_key)} at {r.ref}: {r.reason}")
        lines.append(self.summary())
        return [escape(line) for line in lines]

    def summary(self) -> str:
        cloud = f", {self.cloud_side_count} cloud-side" if self.cloud_side_count else ""
        s = (
            f"{self.copy_count} cop{'y' if self.copy_count == 1 else 'ies'} "
            f"({_size(self.copy_bytes)} to upload, {self._reads()}"
            f"{cloud}), {self.delete_count} delete{'' if self.delete_count == 1 else 's'}"
        )
        if self.refusals:
            s += f", {len(self.refusals)} refused"
        return s

    def _reads(self) -> str:
        """Where the uploaded bytes come from: downloaded from clouds, or read from a file
        on this host (an upload downloads nothing). The file by its name only: its path is
        in the copy's line, and a status bar at 80 columns has no room for it."""
        files = sorted({c.source_file for c in self.copies if c.source_file})
        download = f"{_size(self.download_bytes)} to download"
        if not files:
            return download
        one = escape(PurePath(files[0]).name)
        where = f"from {one}" if len(files) == 1 else f"from {len(files)} files"
        read = f"{_size(self.file_bytes)} to read {where} on this host"
        return f"{download}, {read}" if self.download_bytes else read


def conversion_note(disk_format: str) -> str:
    """What the plan says of a destination that gets the image converted here first."""
    return f"converted to {disk_format} on this host"


def _how(target: CopyTarget, size: int) -> str:
    """``by stream, 1.0 GiB through this host`` / ``by glance-download, 0 B through this
    host (…why)``: the method and what it costs the operator's link."""
    shown = target.method_note and (target.cloud_side or target.convert_to)
    note = f" ({target.method_note})" if shown else ""
    return f"by {target.method}, {_size(target.host_bytes(size))} through this host{note}"


def _label(name: str, content_key: str) -> str:
    digest = content_key.split(":", 1)[-1]
    return f"{name}@{digest[:12]}"


def _size(n: int) -> str:
    return humanize.naturalsize(n, binary=True)
