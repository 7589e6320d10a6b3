"""New images from a file on this host: ``glint upload FILE`` and the UI's upload.

An upload is a copy whose source is a local file (``CopyAction.source_file``, read by the
engine's ``LocalFileSource``): the file is hashed first (sha512: the content key the
plan needs, and what every destination's Glance must report back), then streamed once
to every destination at the same time and verified there like any copy. The same safety
rules hold: a different image with the same name at a destination is never overwritten
or silently duplicated (that destination is refused), and an image with the same name
and bytes already there is not uploaded again.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from glint_tui.core.actions import CopyAction, CopyTarget, FileImage, Plan, Refusal
from glint_tui.core.errors import UsageError
from glint_tui.core.inventory import Matrix
from glint_tui.core.model import ProjectRef
from glint_tui.core.safetext import escape

DISK_FORMATS = ("raw", "qcow2", "iso", "vmdk", "vdi", "vhd", "vhdx", "ploop", "ami", "ari", "aki")
RESERVED = frozenset(
    {"id", "name", "status", "owner", "visibility", "protected", "checksum", "size",
     "virtual_size", "disk_format", "container_format", "min_disk", "min_ram", "tags",
     "created_at", "updated_at", "locations", "direct_url", "file", "schema", "self",
     "os_hash_algo", "os_hash_value", "os_hidden", "stores", "glint_transfer_id"}
)  # fmt: skip
HASH_CHUNK = 1 << 20
Progress = Callable[[int, int], None]  # (bytes hashed, size)


def parse_property(text: str) -> tuple[str, str]:
    """``k=v`` from the command line or the UI; one clear error for anything else."""
    key, sep, value = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UsageError(f"--property {escape(text)!r}: write it as KEY=VALUE")
    if key in RESERVED:
        raise UsageError(f"--property {escape(key)}: set by Glance or glint, not a property")
    if not key.isprintable() or not value.isprintable() or len(key) > 255:
        raise UsageError(f"--property {escape(key)!r}: keys and values are one printable line")
    return key, value


def sniff_disk_format(path: Path) -> str:
    """The format a file's first bytes announce (qcow2, vmdk, vhdx, vdi, iso), else raw.

    Only the well-known magic numbers are read; nothing is probed or parsed (Glance 33
    checks the bytes match the disk format, so a wrong guess is refused there)."""
    with open(path, "rb") as f:
        head = f.read(0x8006)
    if head[:4] == b"QFI\xfb":
        return "qcow2"
    if head[:4] == b"KDMV":
        return "vmdk"
    if head[:8] == b"vhdxfile":
        return "vhdx"
    if head[0x40:0x44] == b"\x7f\x10\xda\xbe":
        return "vdi"
    if head[0x8001:0x8006] == b"CD001":
        return "iso"
    return "raw"


def hash_file(path: Path, progress: Progress | None = None) -> tuple[str, int]:
    """(``sha512:<hex>``, size) of *path*, read once; *progress* hears the bytes so far."""
    try:
        size = os.stat(path).st_size
        digest = hashlib.sha512()
        done = 0
        with open(path, "rb") as f:
            while block := f.read(HASH_CHUNK):
                digest.update(block)
                done += len(block)
                if progress is not None:
                    progress(done, size)
    except FileNotFoundError:
        raise UsageError(f"{escape(str(path))}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{escape(str(path))}: a directory, not an image file") from None
    except OSError as e:
        raise UsageError(f"{escape(str(path))}: cannot read: {e.strerror}") from None
    return f"sha512:{digest.hexdigest()}", size


def plan_upload(
    matrix: Matrix,
    path: Path,
    name: str,
    targets: list[ProjectRef],
    content_key: str,
    size: int,
    disk_format: str,
    properties: dict[str, str] | None = None,
    visibility: str = "private",
) -> tuple[Plan, list[tuple[ProjectRef, str]]]:
    """The plan that puts the file at *targets* (each refused where it cannot go), and
    the (target, image id) pairs that already hold it under that name (left as they are)."""
    if not name.strip() or not name.isprintable():
        raise UsageError("--name: an image name is one printable line")
    if disk_format not in DISK_FORMATS:
        raise UsageError(f"--disk-format {escape(disk_format)!r}: one of {', '.join(DISK_FORMATS)}")
    plan = Plan()
    places: list[CopyTarget] = []
    already: list[tuple[ProjectRef, str]] = []
    for ref in dict.fromkeys(targets):
        status = matrix.status.get(ref)
        if status is None:
            raise UsageError(f"{ref} is not a configured REPO:PROJECT")
        if not status.ok:
            plan.refusals.append(
                _refusal(name, content_key, ref, f"cannot list {ref}: {status.error}")
            )
            continue
        there = [r for r in matrix.rows if r.name == name and r.cell(ref).present]
        same = [r for r in there if r.content_key == content_key]
        if same:
            already.append((ref, ", ".join(same[0].cell(ref).ids)))
        elif there:
            ids = ", ".join(i for r in there for i in r.cell(ref).ids)
            why = f"an image named {name!r} with other bytes is there ({ids}): choose another name"
            plan.refusals.append(_refusal(name, content_key, ref, why))
        else:
            target = CopyTarget(ref, name)
            places.append(
                replace(target, cloud=matrix.cloud_of(ref), project_id=matrix.project_id(ref))
            )
    if places:
        plan.copies.append(
            CopyAction(
                id=uuid.uuid4().hex[:12],
                name=name,
                content_key=content_key,
                size=size,
                source=None,
                source_image_id=None,
                targets=tuple(places),
                disk_format=disk_format,
                visibility=visibility,
                source_file=str(path.resolve()),
                file_image=FileImage(properties=dict(properties or {})),
            )
        )
    return plan, already


def plan_file(
    listing: Callable[[], Matrix],
    path: Path,
    name: str,
    targets: list[ProjectRef],
    disk_format: str | None = None,
    properties: dict[str, str] | None = None,
    visibility: str = "private",
    on_hash: Progress | None = None,
) -> tuple[Plan, list[tuple[ProjectRef, str]]]:
    """Hash *path*, take its disk format (given, else what it announces), then list the
    targets (``listing()``: after the hash, which may take a while) and plan it."""
    content_key, size = hash_file(path, on_hash)
    fmt = disk_format or sniff_disk_format(path)
    matrix = listing()
    return plan_upload(matrix, path, name, targets, content_key, size, fmt, properties, visibility)


def _refusal(name: str, content_key: str, ref: ProjectRef, reason: str) -> Refusal:
    return Refusal("copy", name, content_key, ref, reason)
