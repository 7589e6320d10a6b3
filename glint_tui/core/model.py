"""Glint's own records: what every layer above the cloud adapters speaks.

Adapters translate provider objects into these, so the engine, the UI and the backup
tool never see an openstacksdk object.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from functools import total_ordering
from typing import Any

CLOUD_TYPES = ("openstack",)
AUTH_TYPES = ("password", "application_credential")
"""How a ``Credential`` logs in: user name + password, or application credential id + secret."""
INTERFACES = ("public", "internal", "admin")
VISIBILITIES = ("private", "shared", "community", "public")


@dataclass(frozen=True)
class Repository:
    """A cloud glint manages images on (the original Glint called these repositories)."""

    name: str
    auth_url: str
    cloud_type: str = "openstack"
    description: str = ""
    region: str | None = None
    interface: str = "public"
    ca_bundle: str | None = None
    insecure: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Credential:
    """How to log in to one project of one repository. The secret lives in the keyring.

    ``auth_type`` is one of ``AUTH_TYPES``: ``password`` (username + password) or
    ``application_credential`` (``username`` then holds the application credential id;
    the secret is its secret).
    """

    repository: str
    project: str
    username: str
    auth_type: str = "password"
    user_domain: str = "Default"
    project_domain: str = "Default"

    @property
    def ref(self) -> ProjectRef:
        return ProjectRef(self.repository, self.project)

    @property
    def secret_key(self) -> str:
        """The keyring username under which this credential's secret is stored."""
        return f"{self.repository}:{self.project}:{self.username}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


REF_SYNTAX = "REPO:PROJECT"
"""How the CLI names a column; ``REPO/REGION:PROJECT`` when the column is one region."""


@total_ordering
@dataclass(frozen=True)
class ProjectRef:
    """One (repository, project) pair, optionally in one region: a column of the matrix.

    Written ``REPO:PROJECT``, or ``REPO/REGION:PROJECT`` when *region* is set (for
    repositories with several regions). Repository names never contain ``/`` or ``:``
    (``core.config`` checks), so the text form parses back to the same ref.
    """

    repository: str
    project: str
    region: str | None = None

    def __str__(self) -> str:
        where = self.repository if self.region is None else f"{self.repository}/{self.region}"
        return f"{where}:{self.project}"

    def _order(self) -> tuple[str, bool, str, str]:
        return (self.repository, self.region is not None, self.region or "", self.project)

    def __lt__(self, other: object) -> bool:
        """Columns sort by repository, then region (none first), then project."""
        if not isinstance(other, ProjectRef):
            return NotImplemented
        return self._order() < other._order()

    @classmethod
    def parse(cls, text: str) -> ProjectRef:
        """``REPO:PROJECT`` or ``REPO/REGION:PROJECT`` -> ProjectRef; ValueError otherwise.

        The project is everything after the first ``:`` (project names may hold one).
        Control and invisible characters are refused, so a parsed ref is safe to print
        (the error shows *text* as a repr: escaped).
        """
        where, sep, project = text.partition(":") if isinstance(text, str) else ("", "", "")
        repo, slash, region = where.partition("/")
        malformed = not sep or not repo or not project or (slash and not region)
        if malformed or not text.isprintable():
            raise ValueError(f"expected {REF_SYNTAX} (e.g. mycloud:alpha), got {text!r}")
        return cls(repo, project, region if slash else None)


@dataclass(frozen=True)
class ImageRecord:
    """One Glance image as glint sees it."""

    id: str
    name: str
    owner: str | None = None
    visibility: str = "private"
    protected: bool = False
    status: str = "active"
    size: int | None = None
    disk_format: str | None = None
    container_format: str | None = None
    min_disk: int = 0
    min_ram: int = 0
    tags: tuple[str, ...] = ()
    properties: dict[str, Any] = field(default_factory=dict)
    checksum: str | None = None
    os_hash_algo: str | None = None
    os_hash_value: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    hidden: bool = False
    stores: tuple[str, ...] = ()  # a multi-store Glance's stores holding the bytes

    @property
    def content_key(self) -> str | None:
        """Identity of the bytes: ``sha512:<hex>``, else ``md5:<hex>``, else None (no data)."""
        if self.os_hash_value and self.os_hash_algo:
            return f"{self.os_hash_algo}:{self.os_hash_value}"
        if self.checksum:
            return f"md5:{self.checksum}"
        return None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tags"] = list(self.tags)
        d["stores"] = list(self.stores)
        d["content_key"] = self.content_key
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ImageRecord:
        known = {f for f in cls.__dataclass_fields__}
        kw = {k: v for k, v in d.items() if k in known}
        kw["tags"] = tuple(kw.get("tags") or ())
        kw["stores"] = tuple(kw.get("stores") or ())
        kw["properties"] = dict(kw.get("properties") or {})
        return cls(**kw)


class CellState(str, Enum):
    """What one matrix cell (image row × repository:project column) shows.

    The UI renders each with a glyph AND a colour; the engine and inventory set them.
    """

    ABSENT = "absent"
    PRESENT = "present"
    LOCKED = "locked"  # present but not owned by the column's project (shared/public/community)
    INCOMPLETE = "incomplete"  # only half-made or unusable images here: not a copy (see below)
    WANTED = "wanted"  # copy planned
    UNWANTED = "unwanted"  # delete planned
    QUEUED = "queued"
    TRANSFERRING = "transferring"
    VERIFYING = "verifying"
    DELETING = "deleting"
    ERROR = "error"


USABLE_STATUSES = frozenset({"active"})
"""Glance statuses of an image whose bytes are there to download: only ``active``. Every
other one is half-made (``queued``, ``saving``, ``uploading``, ``importing``: an upload in
progress, or one that died and stays so) or unusable (``killed``, ``deactivated``)."""
