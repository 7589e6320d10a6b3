"""What a validated catalog holds: entries, their sources and explicit versions.

``loader.load_catalog`` builds these from the YAML file and is the only place that checks
values; everything downstream (upstream resolution, the planner, naming) trusts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from glint_tui.core.catalog.columns import ColumnPattern

ALGORITHMS = {"sha256": 64, "sha384": 96, "sha512": 128}
"""Checksum algorithms glint trusts for a download, and their hex lengths. md5 and sha1 are
refused: an upstream file is only as trustworthy as the hash that vouches for it."""

RETIRE_MODES = ("hide", "deactivate", "delete")
DISK_FORMATS = ("ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop")
CONTAINER_FORMATS = ("bare", "ovf", "aki", "ari", "ami", "ova", "docker", "compressed")
CONVERTIBLE = ("raw", "qcow2", "vmdk", "vdi", "vhd", "vhdx")
"""Glance disk formats ``qemu-img`` reads and writes (``vhd`` is qemu's ``vpc``)."""

VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~-]{0,47}$")
"""A version: what an upstream pattern captures or an operator writes. Kept plain because
it becomes part of image names (``debian-12 (20261120)``) and a property value."""

_HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True)
class Checksum:
    """A digest the bytes must have: ``algo`` (sha256/sha384/sha512) and lowercase hex."""

    algo: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algo}:{self.hex}"

    @property
    def is_sha512(self) -> bool:
        return self.algo == "sha512"

    @classmethod
    def parse(cls, text: Any) -> Checksum:
        """``"sha512:<128 hex>"`` (or sha256/sha384) -> Checksum; ValueError otherwise."""
        expected = "sha512:<128 hex digits> or sha256:<64 hex digits>"
        if not isinstance(text, str):
            raise ValueError(f"must be a string like {expected}")
        algo, sep, digest = text.strip().partition(":")
        algo, digest = algo.lower(), digest.lower()
        if not sep:
            raise ValueError(f"must name its algorithm: {expected}")
        if algo not in ALGORITHMS:
            raise ValueError(
                f"algorithm {algo!r} is not trusted for downloads (use sha512, sha384 or sha256)"
            )
        if len(digest) != ALGORITHMS[algo] or not _HEX.match(digest):
            raise ValueError(f"{algo} needs {ALGORITHMS[algo]} hex digits")
        return cls(algo, digest)


@dataclass(frozen=True)
class ExplicitVersion:
    """One version the operator listed: ``{version, url, checksum[, size]}``."""

    version: str
    url: str
    checksum: Checksum
    size: int | None = None


@dataclass(frozen=True)
class FileSource:
    """``source: {url, checksum, version}``: one file, its digest, the version it is."""

    url: str
    checksum: Checksum
    version: str


@dataclass(frozen=True)
class ChecksumsSource:
    """``source: {checksums_url, pattern[, url]}``: a SHA512SUMS-style file; the files whose
    names match ``pattern`` (its ``version`` group names the version) are the versions.
    ``base_url`` is what file names are relative to (default: the checksums file's URL)."""

    checksums_url: str
    pattern: re.Pattern[str]
    base_url: str | None = None

    @property
    def versioned(self) -> bool:
        """False for a pattern without a ``version`` group (Debian's ``latest/``: one file
        whose name never changes): each new file is then a version named by its checksum."""
        return "version" in self.pattern.groupindex


@dataclass(frozen=True)
class Entry:
    """One catalog image. Defaults are the documented ones (docs/catalog.md)."""

    name: str
    disk_format: str
    to: tuple[ColumnPattern, ...]
    source: FileSource | ChecksumsSource | None = None
    versions: tuple[ExplicitVersion, ...] | None = None  # None: "latest" from ``source``
    container_format: str = "bare"
    keep: int = 2
    retire: str = "hide"
    delete_after_days: int | None = None
    visibility: str = "shared"
    share_with: tuple[str, ...] = ()
    convert_to: dict[str, str] = field(default_factory=dict)
    min_disk: int = 0
    min_ram: int = 0
    properties: dict[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    line: int | None = None  # where the entry starts in the file, for messages

    def format_for(self, repository: str) -> str:
        """The disk format images of this entry have in *repository* (``convert_to``)."""
        return self.convert_to.get(repository, self.disk_format)

    @property
    def latest(self) -> bool:
        """True when versions come from the upstream source (``versions: latest``)."""
        return self.versions is None

    @property
    def versions_by_checksum(self) -> bool:
        """Versions are named after checksums: they order by upload time, not by name."""
        return isinstance(self.source, ChecksumsSource) and not self.source.versioned


@dataclass(frozen=True)
class Catalog:
    """A validated catalog file."""

    path: str
    entries: tuple[Entry, ...]

    def entry(self, name: str) -> Entry | None:
        return next((e for e in self.entries if e.name == name), None)
