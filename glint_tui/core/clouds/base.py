"""The cloud session protocol: the only surface the engine, UI and backup tool use.

A cloud type (``openstack`` today) is a plug-in: a package providing ``open_session``
(``core.clouds.open_session`` picks it by ``Repository.cloud_type``). A session returns
glint records (``core.model``) and raises glint errors (``core.errors``); provider
exceptions never escape it. Two implementations exist: ``clouds.openstack`` (real
Keystone + Glance) and ``tests/fakecloud.py`` (in memory, for faults a real service cannot
be made to produce). This module alone is enough to write a third.

Rules every implementation keeps:

* Sessions are lazy: opening one sends nothing; the first call (or ``check()``) logs in.
* Every method may raise ``Unreachable`` (no answer in time, connection refused),
  ``AuthenticationFailed`` / ``ProjectNotFound`` (the login), ``ServerError`` (5xx, a
  dropped connection: transient, the engine retries) besides what it lists; errors name
  the place (``str(credential.ref)``) and never contain the secret.
* A session is used from one thread at a time; the engine opens one per thread.
* Close it: ``close()``, or ``with session:``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from glint_tui.core.cloudid import CloudIdentity
from glint_tui.core.importmethods import GlanceSide
from glint_tui.core.model import Credential, ImageRecord, Repository

ImportInfo = GlanceSide
"""What a cloud can do on its side (``core.importmethods.GlanceSide``): the import methods
it enables, its stores, the image endpoints of its Keystone's regions, the admin role. A
cloud without server-side imports answers one with no methods: every copy then streams."""


@dataclass(frozen=True)
class ProjectInfo:
    id: str
    name: str
    domain_id: str | None = None


MEMBER_STATUSES = ("pending", "accepted", "rejected")


@dataclass(frozen=True)
class Member:
    """A project an image is shared with, and whether it accepted (``MEMBER_STATUSES``)."""

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


@dataclass(frozen=True)
class ImportState:
    """An image import as a client can see it, at one moment.

    Glance shows no byte count while the destination pulls; what moves is the image's
    status, its ``os_glance_importing_to_stores`` / ``os_glance_failed_import`` lists, the
    lock (``os_glance_import_task``) and the newest import task's status, message and
    update time. ``signature()`` is all of that: the engine's no-progress deadline runs
    from the last moment it changed.
    """

    status: str
    importing: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    stores: tuple[str, ...] = ()
    locked: bool = False  # os_glance_import_task is set: an import holds the image
    task_status: str | None = None  # pending, processing, success, failure; None: no task
    task_message: str = ""
    task_updated: str | None = None

    def signature(self) -> tuple[Any, ...]:
        return (
            self.status,
            self.importing,
            self.failed,
            self.stores,
            self.locked,
            self.task_status,
            self.task_message,
            self.task_updated,
        )

    @property
    def finished(self) -> bool:
        """The task is over and has let go of the image (acting earlier gets 409s)."""
        return self.task_status in ("success", "failure") and not self.locked

    def describe(self) -> str:
        """One line for the operator: ``importing to local (task processing: Copied 64 MiB)``."""
        where = f" to {','.join(self.importing)}" if self.importing else ""
        failed = f", failed at {','.join(self.failed)}" if self.failed else ""
        task = ""
        if self.task_status:
            said = f": {self.task_message}" if self.task_message else ""
            task = f" (task {self.task_status}{said})"
        return f"{self.status}{where}{failed}{task}"


class Reader(Protocol):
    """A length-aware byte source for uploads (``read(n)`` returning b"" at the end)."""

    def read(self, size: int = -1) -> bytes: ...


class Download(Protocol):
    """An open, streamed image download. Iterating yields chunks (once); a size or hash
    mismatch raises ``DataMismatch`` after the last chunk when the download verifies.
    Always close it (``close()``, or use it as a context manager)."""

    size: int | None

    def __iter__(self) -> Iterator[bytes]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Download: ...

    def __exit__(self, *exc: object) -> None: ...


@runtime_checkable
class CloudSession(Protocol):
    """A session on one (repository, project): the credential's project is "the project"."""

    repository: Repository
    credential: Credential
    page_size: int | None  # images per listing request (None: the cloud's default)

    @property
    def project_id(self) -> str:
        """The id of the project the session is scoped to (logs in if needed).

        Raises:
            ProjectNotFound: the login is not scoped to a project.
        """
        ...

    def check(self) -> None:
        """Log in and reach the image service now.

        Raises:
            The precise glint error: wrong password vs. unknown project vs. no role
            (``AuthenticationFailed``, ``ProjectNotFound``), ``Unreachable``, or
            ``NoImageEndpoint`` (the catalog has no image service for the repository's
            interface and region).
        """
        ...

    def is_admin(self) -> bool:
        """Whether the login carries the cloud's admin role. An admin's listing would
        cover every project, so ``list_images`` narrows it unless asked not to."""
        ...

    def cloud_identity(self) -> CloudIdentity:
        """Which physical cloud this is, from what the cloud says (``core.cloudid``): the
        last-copy rule counts an image seen through two repositories of one cloud once.

        Raises:
            CloudError: the cloud does not say (the caller counts conservatively).
        """
        ...

    def list_projects(self) -> list[ProjectInfo]:
        """Projects this credential's user may scope to, sorted by name."""
        ...

    def list_images(
        self, *, all_projects: bool = False, name: str | None = None
    ) -> Iterator[ImageRecord]:
        """Every image the project sees, lazily, all pages: its own (any status, hidden
        ones too), shared with it (accepted or not yet), public and community images.

        Args:
            all_projects: admin only: every project's images, not just what this one sees.
            name: only images of exactly this name (compared after the cloud's filter).
        """
        ...

    def get_image(self, image_id: str) -> ImageRecord:
        """One image by id, as it is now.

        Raises:
            ImageNotFound: no such image, or the project cannot see it.
        """
        ...

    def download(
        self, image_id: str, chunk_size: int = 1 << 20, *, verify: bool = True
    ) -> Download:
        """Open a stream of the image's bytes (one chunk in memory at a time).

        Args:
            chunk_size: about how many bytes each iteration yields.
            verify: check size and hash at the end; callers that hash on the fly
                themselves pass False so nothing is hashed twice.
        Raises:
            Conflict: the image is not ``active`` (it has no data to read).
            ImageNotFound: no such image.
        """
        ...

    def create_image(self, spec: ImageSpec) -> ImageRecord:
        """Create the image record (status ``queued``) with no data yet.

        Returns:
            The new record (its ``id`` is what ``upload`` and ``delete_image`` take).
        Raises:
            BadRequest: a property names an attribute the cloud owns.
            PermissionDenied: e.g. a member asking for ``public`` visibility.
            QuotaExceeded: the project may not hold more.
        """
        ...

    def upload(self, image_id: str, reader: Reader, size: int, *, store: str | None = None) -> None:
        """Stream exactly *size* bytes from *reader* into a queued image, never buffering
        it whole; returns once the cloud accepted the data (the image may still be
        becoming ``active``: poll ``get_image``). *store*: the store of a multi-store
        cloud to write to (None: its default).

        Raises:
            DataMismatch: *reader* ended before *size* bytes.
            BadRequest: the cloud refused the data (e.g. not the declared disk format).
            ServerError: the connection dropped mid-upload (the image is left half-made:
                the caller deletes it). Any exception *reader* raises is re-raised as is.
        """
        ...

    def import_info(self) -> ImportInfo:
        """What this cloud can do on its side for the session's project: its import
        methods, stores and regions (``GET /v2/info/import``, ``/v2/info/stores``, the
        token's catalog and roles). A cloud that has none answers an empty ``ImportInfo``.

        Raises:
            CloudError: the cloud did not answer (the caller streams instead).
        """
        ...

    def image_regions(self) -> dict[str, str]:
        """Region -> image endpoint (normalized) of every region the token's catalog
        lists for this repository's interface: a repository with several is shown as one
        column per region. No request beyond the login."""
        ...

    def start_import(self, image_id: str, body: Mapping[str, Any]) -> None:
        """Ask the cloud to fill (or add a store to) *image_id* itself:
        ``POST /v2/images/{id}/import`` with *body* (``core.importmethods`` builds it).
        Returns once the cloud accepted; the import then runs on its side (poll
        ``import_state``).

        Raises:
            BadRequest: the method or its arguments are refused (not enabled, filtered URL,
                already in that store).
            Conflict: the image is not ``queued``, or another import holds it.
            PermissionDenied: policy refuses the method (copy-image is admin-only).
        """
        ...

    def import_state(self, image_id: str) -> ImportState:
        """How the import into *image_id* is going (the image and its newest task).

        Raises:
            ImageNotFound: the image is gone.
        """
        ...

    def stored_hashes(self, image: ImageRecord) -> dict[str, str]:
        """The hashes of what the cloud stored for *image*, by algorithm (``"sha512"``,
        ``"md5"``): what a copy is verified by. Glance reports them in the record (no
        request); a cloud that cannot (EC2) reads the data back and hashes it.

        Returns:
            Possibly empty: then nothing vouches for the copy and the engine deletes it.
        """
        ...

    def update_image(self, image_id: str, **attrs: Any) -> ImageRecord:
        """Set attributes (name, visibility, owner, protected, hidden, min_disk, min_ram,
        tags, disk_format, container_format) and properties by id; a property set to
        None is removed; every other property is left untouched.

        Raises:
            BadRequest: a key names an attribute the cloud owns (status, checksum …).
        """
        ...

    def delete_image(self, image_id: str) -> None:
        """Delete one image by id (never by name).

        Raises:
            ImageNotFound: it is gone already (callers cleaning up treat that as done).
            PermissionDenied: it is protected, or not the project's to delete.
        """
        ...

    def deactivate_image(self, image_id: str) -> None:
        """Make an ``active`` image ``deactivated``: its bytes stay, but nobody may boot
        or download it (the catalog's ``retire: deactivate``).

        Raises:
            PermissionDenied: the cloud's policy refuses it (often admin only).
            Conflict: the image is not ``active`` (or ``deactivated`` already).
        """
        ...

    def reactivate_image(self, image_id: str) -> None:
        """Make a ``deactivated`` image ``active`` again (the reverse of
        ``deactivate_image``).

        Raises:
            PermissionDenied: the cloud's policy refuses it.
            Conflict: the image is not ``deactivated``.
        """
        ...

    def image_in_use(self, image_id: str) -> bool | None:
        """Whether a server runs from *image_id*, asked of the cloud's compute service.

        Returns:
            True: a server this login can see runs from it. False: none does, and no
            server this login cannot see could (an admin asks every project; otherwise
            only for an image no other project can boot: private). None: the cloud has
            no compute service glint can ask, or the answer cannot be trusted (the call
            failed, or the image is visible to projects this login cannot see).
        """
        ...

    def list_members(self, image_id: str) -> list[Member]:
        """The projects a ``shared`` image is shared with, and their answers."""
        ...

    def add_member(self, image_id: str, project_id: str) -> Member:
        """Share a ``shared`` image with *project_id* (status ``pending`` until it answers).

        Raises:
            Conflict: already a member.
            PermissionDenied: the project does not own the image.
        """
        ...

    def update_member_status(self, image_id: str, member_id: str, status: str) -> Member:
        """Answer a share as the member project (*member_id* is this session's project):
        ``accepted`` lists the image for it, ``rejected`` hides it, ``pending`` undecided.

        Raises:
            ImageNotFound: the image is not shared with this project.
        """
        ...

    def close(self) -> None:
        """Release connections; the session is not used afterwards."""
        ...

    def __enter__(self) -> CloudSession:
        """``with open_session(...) as session:`` closes the session on the way out."""
        ...

    def __exit__(self, *exc: object) -> None: ...
