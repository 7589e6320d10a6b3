"""Glint's own records: what every layer above the cloud adapters speaks.

Adapters translate provider objects into these, so the engine, the UI and the backup
tool never see an openstacksdk object.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import asdict, dataclass, field
from enum import Enum
from functools import total_ordering
from typing import Any

CLOUD_TYPES = ("openstack", "ec2")
AUTH_TYPES = ("password", "application_credential", "access_key", "profile", "environment")
"""How a ``Credential`` logs in. OpenStack: user name + password, or application credential
id + secret. EC2: an access key id + secret (``access_key``), a named profile of the AWS
config files (``profile``: ``username`` is the profile's name), or boto3's own search of
the environment (``environment``); the last two keep no secret of glint's."""
AUTH_TYPES_BY_CLOUD = {
    "openstack": ("password", "application_credential"),
    "ec2": ("access_key", "profile", "environment"),
}
SECRETLESS_AUTH_TYPES = frozenset({"profile", "environment"})
"""Auth types whose secret is somewhere else (the AWS config files, the environment):
nothing goes to glint's keyring for them."""
INTERFACES = ("public", "internal", "admin")
VISIBILITIES = ("private", "shared", "community", "public")
CONVERTED_FROM_PROPERTY = "glint_converted_from"  # the source's format, on a converted copy
SOURCE_SHA512_PROPERTY = "glint_source_sha512"  # the source's sha512, on a converted copy
_SHA512 = re.compile(r"^[0-9a-fA-F]{128}$")


@dataclass(frozen=True)
class Repository:
    """A cloud glint manages images on (the original Glint called these repositories).

    An ``openstack`` repository is found by its Keystone ``auth_url`` (and an optional
    ``region``). An ``ec2`` repository has no auth URL: it names its ``regions`` (one
    column per region and account) and optionally an ``endpoint_url`` for an
    EC2-compatible cloud or an emulator (none: AWS's own regional endpoints). A session
    on one of its regions gets the repository with ``region`` set to that region.
    """

    name: str
    auth_url: str
    cloud_type: str = "openstack"
    description: str = ""
    region: str | None = None
    interface: str = "public"
    ca_bundle: str | None = None
    insecure: bool = False
    regions: tuple[str, ...] = ()
    endpoint_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as saved; the EC2-only fields only when set (an OpenStack
        repository's entry reads as it always did)."""
        d = asdict(self)
        d["regions"] = list(self.regions)
        for key in ("regions", "endpoint_url"):
            if not d[key]:
                del d[key]
        return d

    def columns(self, project: str) -> list[ProjectRef]:
        """The matrix columns one credential of *project* gives: one per region of an
        EC2 repository, else the plain ``REPO:PROJECT``."""
        if self.regions:
            return [ProjectRef(self.name, project, r) for r in self.regions]
        return [ProjectRef(self.name, project)]


@dataclass(frozen=True)
class Credential:
    """How to log in to one project of one repository. The secret lives in the keyring.

    ``auth_type`` is one of ``AUTH_TYPES``: ``password`` (username + password) or
    ``application_credential`` (``username`` then holds the application credential id;
    the secret is its secret). For EC2, ``project`` is the account id (learnt from the
    login) and ``username`` the access key id, the profile name, or ``environment``.
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


def resolve_column(text: str, columns: list[ProjectRef]) -> ProjectRef:
    """The column of *columns* that *text* names, for options like ``--to``.

    ``REPO:PROJECT`` / ``REPO/REGION:PROJECT`` name one exactly. Where it is unambiguous,
    shorter forms do too: ``REPO`` (its only column), ``REPO/REGION`` (that region's only
    column) and ``REPO:REGION`` (an EC2 repository's region: its only account there).
    Text that parses but is not configured comes back as parsed (callers say it is not
    configured); ValueError when nothing matches or several columns do.
    """
    exact: ProjectRef | None = None
    with contextlib.suppress(ValueError):
        exact = ProjectRef.parse(text)
    if exact is not None and exact in columns:
        return exact
    if not isinstance(text, str) or not text.isprintable():
        raise ValueError(f"expected {REF_SYNTAX} (e.g. mycloud:alpha), got {text!r}")
    where, colon, after = text.partition(":")
    repo, slash, region = where.partition("/")
    if slash and colon:
        found: list[ProjectRef] = []
    elif slash:
        found = [c for c in columns if c.repository == repo and c.region == region]
    elif colon:
        found = [c for c in columns if c.repository == repo and c.region == after]
    else:
        found = [c for c in columns if c.repository == repo]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        names = ", ".join(map(str, found))
        raise ValueError(f"{text!r} may be any of {names}: name one")
    if exact is not None:
        return exact
    return ProjectRef.parse(text)  # raises: the one parser's own message


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

    @property
    def converted_from(self) -> str | None:
        """The source's disk format when glint converted these bytes on this host (the
        image carries ``glint_converted_from`` and ``glint_source_sha512``), else None."""
        props = self.properties or {}
        fmt, source = props.get(CONVERTED_FROM_PROPERTY), props.get(SOURCE_SHA512_PROPERTY)
        if isinstance(fmt, str) and fmt and isinstance(source, str) and _SHA512.match(source):
            return fmt
        return None

    @property
    def identity_key(self) -> str | None:
        """The content this image is a copy of, for the matrix's rows: its own content key,
        or for a converted copy the source's sha512 (its own bytes differ by design)."""
        if self.converted_from is not None and self.content_key is not None:
            return f"sha512:{str(self.properties[SOURCE_SHA512_PROPERTY]).lower()}"
        return self.content_key

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
