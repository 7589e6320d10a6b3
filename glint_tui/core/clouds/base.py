"""The cloud adapter protocol: the only surface the engine, UI and backup tool use.

A cloud type (``openstack`` today) is a plug-in: a module providing ``open_session``.
Adapters return glint records (``core.model``) and raise glint errors (``core.errors``);
provider exceptions never escape them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from glint_tui.core.cloudid import CloudIdentity
from glint_tui.core.model import Credential, ImageRecord, Repository
from glint_tui.core.timeouts import Timeouts


@dataclass(frozen=True)
class ProjectInfo:
    id: str
    name: str
    domain_id: str | None = None


@dataclass(frozen=True)
class Member:
    """A project an image is shared with, and whether it accepted."""

    member_id: str
    status: str


@dataclass
class ImageSpec:
    """What to create: everything but the bytes."""

    name: str
    disk_format: str
    container_format: str = "bare"
    visibility: str = "private"
    min_disk: int = 0
    min_ram: int = 0
    tags: list[str] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    image_id: str | None = None


class Reader(Protocol):
    """A length-aware byte source for uploads (``read(n)`` returning b"" at the end)."""

    def read(self, size: int = -1) -> bytes: ...


class Download(Protocol):
    """An open, streamed image download. Iterating yields chunks; always ``close()`` it."""

    size: int | None

    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...


@runtime_checkable
class CloudSession(Protocol):
    """A logged-in session on one (repository, project)."""

    repository: Repository
    credential: Credential
    page_size: int | None  # images per listing request (None: Glance's default)

    @property
    def project_id(self) -> str: ...

    def check(self) -> None:
        """Log in and find the image endpoint now; raise the precise glint error if not."""

    def cloud_identity(self) -> CloudIdentity:
        """Which physical cloud this is, from what the cloud says (``core.cloudid``): the
        last-copy rule counts an image seen through two repositories of one cloud once."""

    def list_projects(self) -> list[ProjectInfo]:
        """Projects this credential's user may scope to."""

    def list_images(
        self, *, all_projects: bool = False, name: str | None = None
    ) -> Iterator[ImageRecord]:
        """Every image visible to the project (all pages, ``visibility=all``, hidden too).

        ``all_projects`` (admin only) lists images of every project; ``name`` only the
        images of exactly that name.
        """

    def get_image(self, image_id: str) -> ImageRecord: ...

    def download(
        self, image_id: str, chunk_size: int = 1 << 20, *, verify: bool = True
    ) -> Download:
        """Stream the bytes; ``verify`` checks size and hash at the end (callers that hash
        on the fly themselves pass False so nothing is hashed twice)."""

    def create_image(self, spec: ImageSpec) -> ImageRecord:
        """Create the record (status ``queued``), no data yet."""

    def upload(self, image_id: str, reader: Reader, size: int) -> None:
        """Stream *size* bytes from *reader* into a queued image (size sent to Glance)."""

    def update_image(self, image_id: str, **attrs: Any) -> ImageRecord:
        """Set attributes/properties by id; others are left untouched."""

    def delete_image(self, image_id: str) -> None: ...

    def list_members(self, image_id: str) -> list[Member]: ...

    def add_member(self, image_id: str, project_id: str) -> Member: ...

    def close(self) -> None: ...


class SessionFactory(Protocol):
    def __call__(
        self,
        repository: Repository,
        credential: Credential,
        secret: str,
        *,
        timeouts: Timeouts | None = None,
    ) -> CloudSession: ...
