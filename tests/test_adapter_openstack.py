"""The OpenStack adapter against real Keystone + Glance (the sandbox clouds).

Every test creates its own uniquely named images and deletes them; none relies on
another test's leftovers. Failure mapping lives in test_adapter_errors.py.
"""

from __future__ import annotations

import hashlib
import io
import tracemalloc
from collections.abc import Iterator

import pytest

from glint_tui.core import errors
from glint_tui.core.clouds.base import CloudSession, ImageSpec
from glint_tui.core.clouds.openstack import OpenStackSession
from tests.helpers import random_bytes, sha512, unique, upload_image, wait_for

pytestmark = pytest.mark.sandbox
MiB = 1 << 20


@pytest.fixture
def alice(sandbox) -> Iterator[OpenStackSession]:
    with sandbox.session("c1:alpha") as session:
        yield session


@pytest.fixture
def bob(sandbox) -> Iterator[OpenStackSession]:
    with sandbox.session("c1:beta") as session:
        yield session


@pytest.fixture
def cleanup(alice: OpenStackSession) -> Iterator[list[str]]:
    """Image ids to delete (as alice) after the test, whatever happened."""
    ids: list[str] = []
    yield ids
    for image_id in ids:
        wait_for(lambda i=image_id: _deleted(alice, i), 60, f"image {image_id} deleted", 0.5)


def _deleted(session: OpenStackSession, image_id: str) -> bool:
    """Delete; False while Glance is still busy with an aborted upload (it answers 500)."""
    try:
        session.delete_image(image_id)
    except errors.ImageNotFound:
        return True
    except errors.ServerError:
        return False
    return True


class PatternReader:
    """A length-aware reader that repeats one 1 MiB block: it never holds the whole image,
    so any whole-image buffer in memory would be the adapter's."""

    BLOCK = bytes(i % 251 for i in range(MiB))

    def __init__(self, size: int):
        self.size = size
        self.pos = 0
        self.sha512 = hashlib.sha512()
        self.largest_read = 0

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.pos if n < 0 else min(n, self.size - self.pos, MiB)
        self.largest_read = max(self.largest_read, n)
        data = self.BLOCK if n == MiB else self.BLOCK[:n]
        self.pos += n
        self.sha512.update(data)
        return data


def test_session_satisfies_the_protocol(alice: OpenStackSession) -> None:
    assert isinstance(alice, CloudSession)


def test_member_sees_only_their_project_admin_sees_all(alice, sandbox) -> None:
    alice.check()
    projects = alice.list_projects()
    assert [p.name for p in projects] == ["alpha"]
    assert projects[0].id == alice.project_id
    with sandbox.admin_session("c1") as admin:
        assert {"admin", "alpha", "beta"} <= {p.name for p in admin.list_projects()}


def test_listing_fetches_every_page_and_hidden_images(alice, cleanup) -> None:
    prefix = unique("page")
    for i in range(5):
        cleanup.append(alice.create_image(ImageSpec(name=f"{prefix}-{i}", disk_format="raw")).id)
    hidden = alice.update_image(cleanup[0], hidden=True)
    assert hidden.hidden

    alice.page_size = 2  # Glance returns 2 per page: the listing must follow `next` links
    mine = {r.id: r for r in alice.list_images() if r.name.startswith(prefix)}

    assert set(mine) == set(cleanup)
    assert mine[cleanup[0]].hidden and not mine[cleanup[1]].hidden
    all_ids = [r.id for r in alice.list_images()]
    assert len(all_ids) == len(set(all_ids)), "an image was listed twice"


def test_record_carries_glance_metadata_and_only_user_properties(alice, cleanup) -> None:
    data = random_bytes(300_000)
    props = {"os_distro": "cirros", "hep_role": "worker", "owner_specified.openstack.md5": "x"}
    spec = ImageSpec(
        name=unique("rec"), disk_format="raw", min_disk=2, min_ram=128, tags=["a", "b"],
        properties=props,
    )  # fmt: skip
    created = alice.create_image(spec)
    cleanup.append(created.id)
    assert created.status == "queued" and created.size is None

    alice.upload(created.id, io.BytesIO(data), len(data))
    rec = alice.get_image(created.id)

    assert rec.name == spec.name and rec.status == "active"
    assert rec.owner == alice.project_id and rec.visibility == "private"
    assert (rec.disk_format, rec.container_format) == ("raw", "bare")
    assert (rec.min_disk, rec.min_ram, sorted(rec.tags)) == (2, 128, ["a", "b"])
    assert rec.properties == props  # no stores, locations, os_hash_*, self, file, schema …
    assert rec.size == len(data)
    assert rec.checksum == hashlib.md5(data).hexdigest()
    assert (rec.os_hash_algo, rec.os_hash_value) == ("sha512", sha512(data))
    assert rec.content_key == f"sha512:{sha512(data)}"
    assert rec.created_at and rec.updated_at and not rec.protected and not rec.hidden


def test_create_with_a_chosen_id(alice, cleanup) -> None:
    import uuid

    wanted = str(uuid.uuid4())
    rec = alice.create_image(ImageSpec(name=unique("id"), disk_format="raw", image_id=wanted))
    cleanup.append(rec.id)
    assert rec.id == wanted == alice.get_image(wanted).id


def test_upload_download_round_trip_in_chunks(alice, cleanup) -> None:
    data = random_bytes(5 * MiB + 123)
    rec = upload_image(alice, unique("trip"), data)
    cleanup.append(rec.id)

    download = alice.download(rec.id, chunk_size=256 * 1024)
    try:
        assert download.size == len(data)
        chunks = list(download)
    finally:
        download.close()

    assert len(chunks) > 1 and max(len(c) for c in chunks) <= 256 * 1024
    assert sha512(b"".join(chunks)) == sha512(data) == rec.os_hash_value


def test_upload_streams_from_the_reader_without_buffering(alice, cleanup) -> None:
    size = 8 * MiB
    rec = alice.create_image(ImageSpec(name=unique("stream"), disk_format="raw"))
    cleanup.append(rec.id)
    reader = PatternReader(size)

    tracemalloc.start()
    try:
        alice.upload(rec.id, reader, size)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 3 * MiB, f"upload held {peak} bytes at once for an {size}-byte image"
    assert reader.largest_read <= alice.upload_chunk_size
    after = alice.get_image(rec.id)
    assert (after.size, after.os_hash_value) == (size, reader.sha512.hexdigest())


def test_update_by_id_keeps_the_other_properties(alice, cleanup) -> None:
    rec = upload_image(
        alice, unique("upd"), b"x" * 1000, glint_a="1", glint_b="2",
        **{"owner_specified.openstack.md5": "m"},
    )  # fmt: skip
    cleanup.append(rec.id)

    updated = alice.update_image(rec.id, glint_a="9", name=rec.name + "-renamed", tags=["t"])

    assert updated.properties == {
        "glint_a": "9", "glint_b": "2", "owner_specified.openstack.md5": "m",
    }  # fmt: skip
    assert updated.name == rec.name + "-renamed" and updated.tags == ("t",)
    assert alice.get_image(rec.id).properties == updated.properties
    removed = alice.update_image(rec.id, glint_b=None)
    assert "glint_b" not in removed.properties and removed.properties["glint_a"] == "9"


def test_update_refuses_glance_owned_attributes(alice, cleanup) -> None:
    rec = alice.create_image(ImageSpec(name=unique("ro"), disk_format="raw"))
    cleanup.append(rec.id)
    with pytest.raises(errors.BadRequest):
        alice.update_image(rec.id, checksum="0" * 32)


def test_delete_removes_the_image(alice) -> None:
    rec = upload_image(alice, unique("del"), b"y" * 2048)
    alice.delete_image(rec.id)
    with pytest.raises(errors.ImageNotFound):
        alice.get_image(rec.id)
    with pytest.raises(errors.ImageNotFound):
        alice.delete_image(rec.id)
    assert rec.id not in {r.id for r in alice.list_images()}


def test_sharing_with_another_project(alice, bob, cleanup) -> None:
    data = random_bytes(100_000)
    rec = upload_image(alice, unique("share"), data, visibility="shared")
    cleanup.append(rec.id)

    member = alice.add_member(rec.id, bob.project_id)
    assert member.member_id == bob.project_id and member.status == "pending"
    # a pending share is listed for bob (member_status=all), not owned by him
    seen = {r.id: r for r in bob.list_images()}
    assert rec.id in seen and seen[rec.id].owner == alice.project_id

    accepted = bob.update_member_status(rec.id, bob.project_id, "accepted")
    assert accepted.status == "accepted"
    assert [(m.member_id, m.status) for m in alice.list_members(rec.id)] == [
        (bob.project_id, "accepted")
    ]
    download = bob.download(rec.id)
    try:
        assert sha512(b"".join(download)) == sha512(data)
    finally:
        download.close()
    with pytest.raises(errors.PermissionDenied):
        bob.delete_image(rec.id)


def test_admin_lists_other_projects_only_when_asked(alice, sandbox, cleanup) -> None:
    rec = alice.create_image(ImageSpec(name=unique("adm"), disk_format="raw"))
    cleanup.append(rec.id)
    with sandbox.admin_session("c1") as admin:
        assert rec.id not in {r.id for r in admin.list_images()}
        everything = {r.id: r for r in admin.list_images(all_projects=True)}
        assert everything[rec.id].owner == alice.project_id


def test_upload_of_data_that_does_not_match_the_format_is_an_error(alice, cleanup) -> None:
    rec = alice.create_image(ImageSpec(name=unique("fmt"), disk_format="qcow2"))
    cleanup.append(rec.id)
    data = random_bytes(200_000)
    with pytest.raises(errors.BadRequest) as info:
        alice.upload(rec.id, io.BytesIO(data), len(data))
    assert "qcow2" in str(info.value)


def test_short_reader_fails_and_the_image_can_be_uploaded_again(alice, cleanup) -> None:
    rec = alice.create_image(ImageSpec(name=unique("short"), disk_format="raw"))
    cleanup.append(rec.id)
    data = random_bytes(3 * MiB)
    with pytest.raises(errors.DataMismatch, match="ended after"):
        alice.upload(rec.id, io.BytesIO(data[: MiB + 5]), len(data))

    # Glance notices the aborted upload in its own time (saving -> queued); until then a new
    # upload gets 409, or 410 when Glance's clean-up of the aborted one races with it.
    def upload_again() -> bool:
        try:
            alice.upload(rec.id, io.BytesIO(data), len(data))
        except (errors.Conflict, errors.ServerError):
            return False
        return True

    wait_for(upload_again, 60, "Glance to accept the upload again", every=0.5)
    assert alice.get_image(rec.id).os_hash_value == sha512(data)


def test_reader_errors_are_not_disguised_as_network_errors(alice, cleanup) -> None:
    rec = alice.create_image(ImageSpec(name=unique("rerr"), disk_format="raw"))
    cleanup.append(rec.id)

    class Broken:
        def read(self, n: int = -1) -> bytes:
            raise OSError("spool disk failed")

    with pytest.raises(OSError, match="spool disk failed"):
        alice.upload(rec.id, Broken(), 1000)


def test_corrupted_store_data_is_detected_on_download(alice, sandbox, cleanup) -> None:
    data = random_bytes(2 * MiB)
    rec = upload_image(alice, unique("rot"), data)
    cleanup.append(rec.id)
    stored = sandbox.cloud("c1").image_store / rec.id
    raw = bytearray(stored.read_bytes())
    raw[MiB] ^= 0xFF
    stored.write_bytes(bytes(raw))

    download = alice.download(rec.id)
    try:
        with pytest.raises(errors.DataMismatch, match="sha512"):
            for _ in download:
                pass
    finally:
        download.close()


def test_missing_store_data_is_detected_on_download(alice, sandbox, cleanup) -> None:
    rec = upload_image(alice, unique("gone"), random_bytes(100_000))
    cleanup.append(rec.id)
    (sandbox.cloud("c1").image_store / rec.id).unlink()

    download = alice.download(rec.id)
    try:
        with pytest.raises(errors.DataMismatch, match="0 of 100000"):
            list(download)
    finally:
        download.close()


def test_download_of_an_image_without_data_is_a_conflict(alice, cleanup) -> None:
    rec = alice.create_image(ImageSpec(name=unique("nodata"), disk_format="raw"))
    cleanup.append(rec.id)
    with pytest.raises(errors.Conflict, match="queued"):
        alice.download(rec.id)
