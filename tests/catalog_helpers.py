"""Hand-built worlds for the catalog planner's tests: a catalog, upstream, a matrix.

The matrix is what ``inventory.refresh`` would have produced from these listings: every
image a column sees, with owner, visibility, status and glint's catalog properties. Each
cloud has its own identity (Keystone catalog URL), so physical images are counted as the
engine counts them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import textwrap
import uuid
from pathlib import Path

from glint_tui.core.catalog.entries import Catalog, Checksum
from glint_tui.core.catalog.loader import build_catalog
from glint_tui.core.catalog.naming import (
    CONVERTED_FROM,
    ENTRY,
    RETIRED_AT,
    SOURCE_CHECKSUM,
    SOURCE_SHA512,
    VERSION,
    versioned_name,
)
from glint_tui.core.catalog.planner import plan_catalog
from glint_tui.core.catalog.steps import CatalogPlan
from glint_tui.core.catalog.upstream import Resolution, UpstreamVersion
from glint_tui.core.catalog.yamlsafe import parse_yaml
from glint_tui.core.cloudid import CloudIdentity
from glint_tui.core.inventory import Listing, Matrix, build_matrix
from glint_tui.core.model import ImageRecord, ProjectRef
from tests.mirror import Mirror

A = ProjectRef("c1", "alpha")
B = ProjectRef("c1", "beta")
C2 = ProjectRef("c2", "alpha")
C3 = ProjectRef("c3", "alpha")
PID = {A: "p1a", B: "p1b", C2: "p2a", C3: "p3a"}
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
ENTRY_NAME = "debian-12"


def sha(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest()


def source_sha(version: str) -> str:
    """The sha512 upstream publishes for *version* of the test entry."""
    return sha(f"debian-12 {version} qcow2")


def catalog(yaml_text: str) -> Catalog:
    text = textwrap.dedent(yaml_text)
    return build_catalog(parse_yaml(text.encode(), "catalog.yaml"), "catalog.yaml")


def entry_yaml(**overrides: object) -> str:
    """The issue's example entry (to c1:alpha only unless told), with overrides."""
    keys: dict[str, object] = {
        "name": ENTRY_NAME,
        "disk_format": "qcow2",
        "source": {
            "checksums_url": "http://mirror.test/debian-12/SHA512SUMS",
            "pattern": r"debian-12-genericcloud-amd64-(?P<version>\d{8})\.qcow2",
        },
        "versions": "latest",
        "keep": 2,
        "retire": "hide",
        "to": ["c1:alpha"],
        "visibility": "shared",
        "properties": {"os_distro": "debian", "os_version": "12"},
    }
    keys.update(overrides)
    keys = {k: v for k, v in keys.items() if v is not None}
    lines = ["images:", "  - " + json.dumps(keys)]
    return "\n".join(lines) + "\n"


def upstream(*versions: str, entry: str = ENTRY_NAME) -> dict[str, Resolution]:
    ups = tuple(
        UpstreamVersion(
            v,
            f"http://mirror.test/debian-12/debian-12-genericcloud-amd64-{v}.qcow2",
            Checksum("sha512", source_sha(v)),
        )
        for v in sorted(versions, reverse=True)
    )
    return {entry: Resolution(entry, ups)}


def image(
    id_: str,
    version: str,
    ref: ProjectRef,
    *,
    name: str | None = None,
    disk_format: str = "qcow2",
    owner: str | None = None,
    hidden: bool = False,
    status: str = "active",
    protected: bool = False,
    visibility: str = "shared",
    retired_at: dt.datetime | None = None,
    digest: str | None = None,
    **props: str,
) -> ImageRecord:
    """A catalog image of the test entry as glint would have made it."""
    source = source_sha(version)
    content = source if disk_format == "qcow2" else sha(f"{version} as {disk_format}")
    properties = {
        ENTRY: ENTRY_NAME,
        VERSION: version,
        SOURCE_CHECKSUM: f"sha512:{source}",
        SOURCE_SHA512: source,
        "os_distro": "debian",
        "os_version": "12",
        **props,
    }
    if disk_format != "qcow2":
        properties[CONVERTED_FROM] = "qcow2"
    if retired_at is not None:
        properties[RETIRED_AT] = retired_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return ImageRecord(
        id=id_,
        name=name if name is not None else versioned_name(ENTRY_NAME, version),
        owner=owner if owner is not None else PID[ref],
        visibility=visibility,
        protected=protected,
        status=status,
        size=1000,
        disk_format=disk_format,
        container_format="bare",
        properties=properties,
        checksum="m" + content[:31],
        os_hash_algo="sha512",
        os_hash_value=digest or content,
        hidden=hidden,
    )


def foreign(id_: str, name: str, ref: ProjectRef) -> ImageRecord:
    """An image the catalog did not make (no glint properties)."""
    return ImageRecord(
        id=id_,
        name=name,
        owner=PID[ref],
        disk_format="qcow2",
        size=10,
        os_hash_algo="sha512",
        os_hash_value=sha(id_),
        checksum="f" * 32,
    )


def identity(ref: ProjectRef) -> CloudIdentity:
    url = f"http://{ref.repository}.test:9292"
    return CloudIdentity(url, frozenset({url}))


def matrix(
    placed: dict[ProjectRef, list[ImageRecord]],
    *,
    columns: tuple[ProjectRef, ...] = (A, B, C2, C3),
    errors: dict[ProjectRef, str] | None = None,
) -> Matrix:
    listings = []
    for ref in columns:
        err = (errors or {}).get(ref)
        images = [] if err else placed.get(ref, [])
        listings.append(Listing(ref, PID[ref], images, err, cloud=identity(ref)))
    return build_matrix(listings)


def plan(cat: Catalog, ups: dict[str, Resolution], m: Matrix, **kw: object) -> CatalogPlan:
    kw.setdefault("now", NOW)
    return plan_catalog(cat, ups, m, **kw)  # type: ignore[arg-type]


def reasons(p: CatalogPlan, kind: str | None = None) -> str:
    return " | ".join(r.reason for r in p.refusals if kind is None or r.kind == kind)


# --- a real upstream: generated qcow2 versions on a loopback mirror (tests/mirror.py) ---


def qcow2_of(data: bytes, workdir: Path) -> bytes:
    """A genuine qcow2 of the raw disk *data*, made by qemu-img (Glance checks formats)."""
    workdir.mkdir(parents=True, exist_ok=True)
    raw, qcow2 = workdir / f"{uuid.uuid4().hex}.raw", workdir / f"{uuid.uuid4().hex}.qcow2"
    raw.write_bytes(data)
    subprocess.run(
        ["qemu-img", "convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2)],
        check=True,
        capture_output=True,
    )
    out = qcow2.read_bytes()
    raw.unlink()
    qcow2.unlink()
    return out


class Upstream:
    """One catalog entry's mirror: versions published as ``NAME-<version>.qcow2`` with a
    ``SHA512SUMS`` beside them, and the catalog file that points there."""

    def __init__(self, mirror: Mirror, workdir: Path, name: str, disk_size: int = 2 << 20):
        self.mirror, self.workdir, self.name, self.disk_size = mirror, workdir, name, disk_size
        self.disks: dict[str, bytes] = {}  # version -> the raw disk (what a VM sees)
        self.files: dict[str, bytes] = {}  # version -> the qcow2 file upstream publishes

    def path(self, version: str) -> str:
        return f"{self.name}/{self.name}-{version}.qcow2"

    def publish(self, version: str, *, checksum_of: bytes | None = None) -> bytes:
        """A new version (random disk); SHA512SUMS lists it (with *checksum_of*'s sha512
        instead of the file's own, to publish a lie)."""
        disk = os.urandom(self.disk_size // 2) + bytes(self.disk_size // 2)
        self.disks[version] = disk
        self.files[version] = qcow2_of(disk, self.workdir)
        self.mirror.files[self.path(version)] = self.files[version]
        self._sums(version, checksum_of)
        return self.files[version]

    def _sums(self, changed: str | None = None, lie: bytes | None = None) -> None:
        lines = []
        for version, data in sorted(self.files.items()):
            digest = hashlib.sha512(lie if lie is not None and version == changed else data)
            lines.append(f"{digest.hexdigest()}  {self.name}-{version}.qcow2")
        self.sums = "\n".join(lines) + "\n"
        self.mirror.files[f"{self.name}/SHA512SUMS"] = self.sums.encode()

    def sha512(self, version: str) -> str:
        return hashlib.sha512(self.files[version]).hexdigest()

    def catalog_file(self, **overrides: object) -> Path:
        keys: dict[str, object] = {
            "name": self.name,
            "disk_format": "qcow2",
            "source": {
                "checksums_url": self.mirror.url(f"{self.name}/SHA512SUMS"),
                "pattern": re.escape(self.name) + r"-(?P<version>\d{8})\.qcow2",
            },
            "keep": 2,
            "to": ["c1:alpha"],
            "visibility": "shared",
            "properties": {"os_distro": "debian"},
        }
        keys.update(overrides)
        keys = {k: v for k, v in keys.items() if v is not None}
        path = self.workdir / f"{self.name}.yaml"
        path.write_text("images:\n  - " + json.dumps(keys) + "\n")
        return path
