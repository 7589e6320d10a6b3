"""A FAKE cloud, in memory: the ``CloudSession`` protocol without a server, plus faults on
demand that a real Glance cannot be made to produce at a chosen byte.

``FakeCloud`` is one image store (like one Glance) with named projects; ``FakeSession``
implements every member of ``core.clouds.base.CloudSession`` on it; ``FakeSessionSource``
is the ``SessionSource`` the engine, inventory and reconcile take, over several fake
clouds. Images go ``queued`` -> ``active`` on a complete upload (``saving`` when the
connection dropped mid-way, like Glance), and each one's md5 and sha512 are computed from
the bytes the fake stored, so a corrupted upload really has a different hash.

Faults (each affects ``times`` calls, then it is spent; ``times=None``: until removed):

* ``cloud.fail(op, error)`` — the call raises *error* (a 5xx ``ServerError``, a 409
  ``Conflict``, ...); ops: ``login``, ``list``, ``get``, ``create``, ``upload``,
  ``download``, ``delete``;
* ``cloud.drop(op, after)`` — a stream (``upload`` received / ``download`` sent) breaks
  after *after* bytes, as a dropped connection (``ServerError``);
* ``cloud.stall(op, after, seconds)`` — a stream stops moving after *after* bytes until
  ``fault.release()`` or *seconds* pass, then fails as a no-progress deadline would (any
  other op: the call hangs that way);
* ``cloud.slow(op, rate)`` — a stream moves at *rate* bytes/s;
* ``cloud.corrupt(op, at)`` — one byte at offset *at* is flipped in the stream;
* ``cloud.rot(image_id)`` — one stored byte flips, the recorded hashes stay (disk rot);
* ``cloud.lose(image_id)`` — the image is still listed but get/download say not found
  (gone between list and get);
* ``cloud.down()`` / ``cloud.up()`` — every call is ``Unreachable`` meanwhile;
* ``cloud.servers`` — image ids servers run from (None: no compute service to ask);
  ``cloud.deactivate_allowed = False`` — policy refuses (de)activation (403).

Cloud-side imports (regions, stores, their faults): ``tests/fakeimports.py``. NOT proven
here: Glance itself — its status machine, HTTP errors and wording, listing rules, hashing,
real sockets; the real-cloud tests (``pytestmark = pytest.mark.sandbox``) prove those.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from glint_tui.core import errors
from glint_tui.core.cloudid import CloudIdentity, normalize_url
from glint_tui.core.clouds.base import (
    ImageSpec,
    ImportInfo,
    ImportState,
    Member,
    ProjectInfo,
    Reader,
)
from glint_tui.core.model import Credential, ImageRecord, ProjectRef, Repository
from tests import fakeimports
from tests.fakefaults import STREAM_OPS, Fault, FaultControls, stream_through

CORE_ATTRIBUTES = {
    "name", "visibility", "owner", "protected", "hidden", "min_disk", "min_ram", "tags",
    "disk_format", "container_format",
}  # fmt: skip
READ_ONLY = {"id", "status", "size", "checksum", "os_hash_algo", "os_hash_value", "created_at"}


@dataclass
class _Stored:
    record: ImageRecord
    data: bytearray = field(default_factory=bytearray)
    members: dict[str, str] = field(default_factory=dict)  # project id -> status


class FakeCloud(FaultControls):
    """One in-memory image store with projects (``name`` -> id), shared by its sessions."""

    def __init__(self, name: str, projects: tuple[str, ...] = ("alpha", "beta")) -> None:
        self.name = name
        self.projects = {p: uuid.uuid4().hex for p in projects}
        self.endpoint = f"https://{name}.fake.invalid:9292"
        self.images: dict[str, _Stored] = {}
        self.faults: list[Fault] = []
        self.lost: set[str] = set()
        self.is_down = False
        self.calls: list[tuple[str, str, str | None]] = []  # (op, project, image id)
        self.activated: list[ImageRecord] = []  # every image that ever became active
        self.servers: set[str] | None = None  # image ids servers run from (None: no compute)
        self.deactivate_allowed = True  # False: policy refuses (de)activation (403)
        self.lock = threading.RLock()
        # cloud-side imports (tests/fakeimports.py): none enabled unless a test says so
        self.methods: frozenset[str] = frozenset()
        self.store_ids: tuple[str, ...] = ("local",)
        self.region = "RegionOne"
        self.peers: list[FakeCloud] = [self]  # the regions of its Keystone
        self.web: dict[str, bytes] = {}  # what web-download can fetch
        self.admins: set[str] = set()  # projects whose sessions have the admin role

    # --- helpers for tests ----------------------------------------------------------------
    def put(
        self,
        project: str,
        name: str,
        data: bytes,
        *,
        visibility: str = "private",
        **properties: Any,
    ) -> ImageRecord:
        """An active image with *data*, owned by *project* (no faults apply)."""
        record = ImageRecord(
            id=str(uuid.uuid4()),
            name=name,
            owner=self.projects[project],
            visibility=visibility,
            disk_format="raw",
            container_format="bare",
            properties=dict(properties),
        )
        with self.lock:
            self.images[record.id] = _Stored(record, bytearray(data))
            return self._activate(record.id)

    def named(self, name: str, project: str | None = None) -> list[ImageRecord]:
        """Every image of that name (of *project* only, when given), any status."""
        owner = self.projects[project] if project else None
        with self.lock:
            return [
                s.record
                for s in self.images.values()
                if s.record.name == name and (owner is None or s.record.owner == owner)
            ]

    def ever_active(self, name: str) -> list[ImageRecord]:
        """Images of that name that were ``active`` at some moment, deleted since or not."""
        with self.lock:
            return [r for r in self.activated if r.name == name]

    def data(self, image_id: str) -> bytes:
        with self.lock:
            return bytes(self.images[image_id].data)

    def _activate(self, image_id: str) -> ImageRecord:
        stored = self.images[image_id]
        data = bytes(stored.data)
        stored.record = replace(
            stored.record,
            status="active",
            size=len(data),
            checksum=hashlib.md5(data, usedforsecurity=False).hexdigest(),
            os_hash_algo="sha512",
            os_hash_value=hashlib.sha512(data).hexdigest(),
            stores=stored.record.stores or self.store_ids[:1],
        )
        self.activated.append(stored.record)
        return stored.record


class _FakeDownload:
    def __init__(self, chunks: Iterator[bytes], size: int | None) -> None:
        self._chunks = chunks
        self.size = size
        self.closed = False

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> _FakeDownload:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FakeSession:
    """``CloudSession`` on one project of a ``FakeCloud`` (every protocol member)."""

    def __init__(self, cloud: FakeCloud, project: str, *, admin: bool = False) -> None:
        self.cloud = cloud
        self.project = project
        self.admin = admin
        url = f"https://{cloud.name}.fake.invalid:5000/v3"  # pinned: one column per fake
        self.repository, self.page_size = Repository(cloud.name, url, region=cloud.region), None
        self.credential = Credential(cloud.name, project, f"{project}-user")
        self.closed = False

    @property
    def where(self) -> str:
        return str(self.credential.ref)

    def _call(self, op: str, image_id: str | None = None) -> Fault | None:
        if self.closed:
            raise RuntimeError("the session was closed")
        fault = self.cloud._fault(op, self.project, image_id)
        if fault is not None and fault.error is not None:
            fault.started.set()
            raise fault.error
        if fault is not None and op not in STREAM_OPS and fault.stall_after is not None:
            fault.started.set()  # a call that hangs (until released or its deadline)
            if not fault.released.wait(fault.stall_seconds):
                raise errors.Unreachable(
                    f"no answer within {fault.stall_seconds:.1f} s (fake)", self.where
                )
        return fault

    @property
    def project_id(self) -> str:
        self._call("login")
        return self.cloud.projects[self.project]

    def check(self) -> None:
        self._call("login")

    def is_admin(self) -> bool:
        self._call("login")
        return self.admin

    def cloud_identity(self) -> CloudIdentity:
        url = normalize_url(self.cloud.endpoint)
        return CloudIdentity(url, frozenset({url}))

    def list_projects(self) -> list[ProjectInfo]:
        self._call("login")
        return sorted(
            (ProjectInfo(pid, name) for name, pid in self.cloud.projects.items()),
            key=lambda p: p.name,
        )

    def _sees(self, stored: _Stored) -> bool:
        record, me = stored.record, self.cloud.projects[self.project]
        return (
            record.owner == me
            or record.visibility in ("public", "community")
            or (record.visibility == "shared" and me in stored.members)
        )

    def list_images(
        self, *, all_projects: bool = False, name: str | None = None
    ) -> Iterator[ImageRecord]:
        self._call("list")
        with self.cloud.lock:
            found = [
                s.record
                for s in self.cloud.images.values()
                if (all_projects and self.admin or self._sees(s))
                and (name is None or s.record.name == name)
            ]
        yield from found

    def _stored(self, image_id: str) -> _Stored:
        with self.cloud.lock:
            stored = self.cloud.images.get(image_id)
            if stored is None or image_id in self.cloud.lost or not self._sees(stored):
                raise errors.ImageNotFound(f"cannot get image {image_id}", self.where, 404)
            return stored

    def get_image(self, image_id: str) -> ImageRecord:
        self._call("get", image_id)
        return self._stored(image_id).record

    def download(
        self, image_id: str, chunk_size: int = 1 << 20, *, verify: bool = True
    ) -> _FakeDownload:
        fault = self._call("download", image_id)
        stored = self._stored(image_id)
        if stored.record.status != "active":
            raise errors.Conflict(f"image {image_id} is {stored.record.status}", self.where)
        data, record = bytes(stored.data), stored.record

        def chunks() -> Iterator[bytes]:
            for i in range(0, len(data), chunk_size):
                yield data[i : i + chunk_size]

        def checked() -> Iterator[bytes]:
            hasher = hashlib.sha512()
            for chunk in stream_through(chunks(), fault, self.where):
                hasher.update(chunk)
                yield chunk
            if verify and hasher.hexdigest() != record.os_hash_value:
                raise errors.DataMismatch(f"image {image_id}: bytes do not match", self.where)

        return _FakeDownload(checked(), record.size)

    def create_image(self, spec: ImageSpec) -> ImageRecord:
        self._call("create")
        for key in spec.properties:
            if key in READ_ONLY or key in CORE_ATTRIBUTES:
                raise errors.BadRequest(f"{key!r} cannot be set on an image", self.where, 400)
        record = ImageRecord(
            id=spec.image_id or str(uuid.uuid4()),
            name=spec.name,
            owner=self.cloud.projects[self.project],
            visibility=spec.visibility,
            status="queued",
            disk_format=spec.disk_format,
            container_format=spec.container_format,
            min_disk=spec.min_disk,
            min_ram=spec.min_ram,
            tags=tuple(spec.tags),
            properties=dict(spec.properties),
        )
        with self.cloud.lock:
            self.cloud.images[record.id] = _Stored(record)
        return record

    def upload(self, image_id: str, reader: Reader, size: int, *, store: str | None = None) -> None:
        fault = self._call("upload", image_id)
        stored = self._stored(image_id)
        if store is not None:
            if store not in self.cloud.store_ids:
                raise errors.Conflict(f"Store for identifier {store} not found", self.where, 409)
            stored.record = replace(stored.record, stores=(store,))
        if stored.record.status != "queued":
            raise errors.Conflict(f"image {image_id} is {stored.record.status}", self.where, 409)

        def received() -> Iterator[bytes]:
            got = 0
            while got < size:
                chunk = reader.read(min(1 << 20, size - got))
                if not chunk:
                    raise errors.DataMismatch(
                        f"upload of image {image_id}: the source ended after {got} of {size} bytes",
                        self.where,
                    )
                got += len(chunk)
                yield chunk

        data = bytearray()
        try:
            for chunk in stream_through(received(), fault, self.where):
                with self.cloud.lock:
                    stored.record = replace(stored.record, status="saving")
                data += chunk
        except errors.DataMismatch:
            with self.cloud.lock:
                stored.record = replace(stored.record, status="queued")
            raise
        with self.cloud.lock:
            if image_id not in self.cloud.images:
                raise errors.ImageNotFound(f"image {image_id} was deleted", self.where, 404)
            stored.data = data
            self.cloud._activate(image_id)

    # cloud-side imports: tests/fakeimports.py
    def import_info(self) -> ImportInfo:
        return fakeimports.import_info(self)

    def image_regions(self) -> dict[str, str]:
        return fakeimports.image_regions(self)

    def start_import(self, image_id: str, body: Mapping[str, Any]) -> None:
        fakeimports.start_import(self, image_id, dict(body))

    def import_state(self, image_id: str) -> ImportState:
        return fakeimports.import_state(self, image_id)

    def stored_hashes(self, image: ImageRecord) -> dict[str, str]:
        hashes = {}
        if image.checksum:
            hashes["md5"] = image.checksum
        if image.os_hash_algo and image.os_hash_value:
            hashes[image.os_hash_algo] = image.os_hash_value
        return hashes

    def update_image(self, image_id: str, **attrs: Any) -> ImageRecord:
        self._call("update", image_id)
        with self.cloud.lock:
            stored = self._stored(image_id)
            record = stored.record
            properties = dict(record.properties)
            changes: dict[str, Any] = {}
            for key, value in attrs.items():
                if key in CORE_ATTRIBUTES:
                    changes[key] = tuple(value) if key == "tags" else value
                elif key in READ_ONLY:
                    raise errors.BadRequest(f"{key!r} cannot be set on an image", self.where)
                elif value is None:
                    properties.pop(key, None)
                else:
                    properties[key] = value
            stored.record = replace(record, properties=properties, **changes)
            return stored.record

    def delete_image(self, image_id: str) -> None:
        self._call("delete", image_id)
        with self.cloud.lock:
            stored = self._stored(image_id)
            if stored.record.owner != self.cloud.projects[self.project]:
                raise errors.PermissionDenied(f"not allowed to delete {image_id}", self.where)
            if stored.record.protected:
                raise errors.PermissionDenied(f"{image_id} is protected", self.where, 403)
            del self.cloud.images[image_id]

    def _set_active(self, image_id: str, frm: str, to: str) -> None:
        self._call("update", image_id)
        with self.cloud.lock:
            stored = self._stored(image_id)
            if not self.cloud.deactivate_allowed:
                raise errors.PermissionDenied(f"not allowed to {to} {image_id}", self.where, 403)
            if stored.record.status != frm:
                raise errors.Conflict(f"image {image_id} is {stored.record.status}", self.where)
            stored.record = replace(stored.record, status=to)

    def deactivate_image(self, image_id: str) -> None:
        self._set_active(image_id, "active", "deactivated")

    def reactivate_image(self, image_id: str) -> None:
        self._set_active(image_id, "deactivated", "active")

    def image_in_use(self, image_id: str) -> bool | None:
        self._call("get", image_id)
        servers = self.cloud.servers
        return None if servers is None else image_id in servers

    def list_members(self, image_id: str) -> list[Member]:
        stored = self._stored(image_id)
        return [Member(pid, status) for pid, status in sorted(stored.members.items())]

    def add_member(self, image_id: str, project_id: str) -> Member:
        with self.cloud.lock:
            stored = self._stored(image_id)
            if stored.record.owner != self.cloud.projects[self.project]:
                raise errors.PermissionDenied(f"not allowed to share {image_id}", self.where)
            if project_id in stored.members:
                raise errors.Conflict(f"{project_id} is already a member", self.where, 409)
            stored.members[project_id] = "pending"
        return Member(project_id, "pending")

    def update_member_status(self, image_id: str, member_id: str, status: str) -> Member:
        with self.cloud.lock:
            stored = self.cloud.images.get(image_id)
            if stored is None or member_id not in stored.members:
                raise errors.ImageNotFound(f"image {image_id} is not shared with you", self.where)
            stored.members[member_id] = status
        return Member(member_id, status)

    def close(self) -> None:
        self.closed = True

    def __enter__(self) -> FakeSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class FakeSessionSource:
    """A ``SessionSource`` over fake clouds: ``REPO:PROJECT`` -> a new ``FakeSession``."""

    def __init__(self, *clouds: FakeCloud) -> None:
        self.clouds = {c.name: c for c in clouds}
        self.opened: list[ProjectRef] = []

    def refs(self) -> list[ProjectRef]:
        return sorted(ProjectRef(c.name, p) for c in self.clouds.values() for p in c.projects)

    def open(self, ref: ProjectRef) -> FakeSession:
        cloud = self.clouds.get(ref.repository)
        if cloud is None or ref.project not in cloud.projects:
            raise errors.ConfigError(f"{ref} is not a configured REPO:PROJECT")
        self.opened.append(ref)
        return FakeSession(cloud, ref.project, admin=ref.project in cloud.admins)

    def session(self, ref: str) -> FakeSession:
        return self.open(ProjectRef.parse(ref))
