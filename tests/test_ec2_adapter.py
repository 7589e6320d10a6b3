"""The EC2 adapter against moto in server mode (there is no AWS here).

What these prove: glint's EBS direct API calls, RegisterImage arguments, tags and
DescribeImages handling are well formed for botocore and do what glint promises with
moto's answers. What they do not prove: that EC2 itself accepts them. moto stores blocks
without checking their checksums (so glint's own read-back is what catches bad blocks
here), keeps little of RegisterImage's arguments (the tests check what glint *sent*), and
copies no blocks in CopyImage.
"""

from __future__ import annotations

import hashlib
import io
import math

import pytest

from glint_tui.core.clouds.base import ImageSpec
from glint_tui.core.clouds.ec2.blocks import BLOCK, GiB
from glint_tui.core.errors import (
    BadRequest,
    Conflict,
    DataMismatch,
    ImageNotFound,
    PermissionDenied,
)
from glint_tui.core.inventory import Listing, build_matrix
from glint_tui.core.model import CellState, ProjectRef
from tests.ec2_helpers import DEFAULT_ACCOUNT, OTHER_ACCOUNT, PUBLIC_AMI, SHARED_AMI, count_calls
from tests.helpers import random_bytes, unique


def sparse_image(blocks: int, data_at: list[int], tail: int = 0) -> bytes:
    """*blocks* 512 KiB blocks (plus *tail* bytes) of zeros with random data in *data_at*."""
    out = bytearray(blocks * BLOCK + tail)
    for i in data_at:
        out[i * BLOCK : i * BLOCK + 1000] = random_bytes(1000)
    if tail:
        out[-tail:] = random_bytes(tail)
    return bytes(out)


def spec(name: str, **kw) -> ImageSpec:
    props = {"glint_transfer_id": unique("t"), **kw.pop("properties", {})}
    return ImageSpec(name, kw.pop("disk_format", "raw"), properties=props, **kw)


def upload(session, data: bytes, name: str | None = None, **kw):
    rec = session.create_image(spec(name or unique("img"), **kw))
    session.upload(rec.id, io.BytesIO(data), len(data))
    return session.get_image(rec.id)


def test_upload_is_read_back_then_registered_as_an_ami_tagged_with_its_sha512(moto_ec2):
    data = random_bytes(3 * BLOCK + 12345)
    with moto_ec2.session() as s:
        ami = upload(s, data)
        assert ami.id.startswith("ami-")
        assert ami.status == "active" and ami.owner == DEFAULT_ACCOUNT
        assert ami.content_key == "sha512:" + hashlib.sha512(data).hexdigest()
        assert ami.size == len(data) and ami.disk_format == "raw"
        assert s.uploads.counters.readbacks == 1  # read back before RegisterImage
        with s.download(ami.id) as stream:
            assert b"".join(stream) == data


def test_a_sparse_image_uploads_only_its_non_zero_blocks(moto_ec2):
    data = sparse_image(40, [0, 7, 39], tail=100)  # 41 blocks, 4 with data
    with moto_ec2.session() as s:
        puts = count_calls(s.clients.blocks, "PutSnapshotBlock")
        ami = upload(s, data)
        assert sorted(p["BlockIndex"] for p in puts) == [0, 7, 39, 40]
        assert all(p["DataLength"] == BLOCK and p["ChecksumAlgorithm"] == "SHA256" for p in puts)
        with s.download(ami.id) as stream:  # unlisted blocks read as zeros
            assert hashlib.sha512(b"".join(stream)).hexdigest() == ami.os_hash_value


def test_complete_snapshot_is_sent_the_linear_aggregate_of_the_block_checksums_moto_checks_none(
    moto_ec2,
):
    """moto ignores the aggregate: this checks what glint sends is SHA-256 over the raw
    block digests in block order, as the EBS direct API defines LINEAR."""
    import base64

    data = sparse_image(5, [1, 3])
    with moto_ec2.session() as s:
        puts = count_calls(s.clients.blocks, "PutSnapshotBlock")
        completes = count_calls(s.clients.ebs, "CompleteSnapshot")
        upload(s, data)
    digests = [base64.b64decode(p["Checksum"]) for p in sorted(puts, key=lambda p: p["BlockIndex"])]
    for p in puts:
        block = data[p["BlockIndex"] * BLOCK : (p["BlockIndex"] + 1) * BLOCK]
        assert base64.b64decode(p["Checksum"]) == hashlib.sha256(block).digest()
    (complete,) = completes
    assert complete["ChecksumAggregationMethod"] == "LINEAR"
    assert complete["ChangedBlocksCount"] == 2
    assert base64.b64decode(complete["Checksum"]) == hashlib.sha256(b"".join(digests)).digest()


def test_register_image_takes_boot_mode_ena_and_rounded_volume_from_glance_properties_as_sent(
    moto_ec2,
):
    """moto keeps none of these (it registers its own 15 GiB snapshot): the test reads
    what glint sent, and glint's own tags for what it reads back."""
    data = random_bytes(BLOCK + 1)
    props = {"hw_firmware_type": "uefi", "hw_vif_model": "virtio", "architecture": "aarch64"}
    with moto_ec2.session() as s:
        registers = count_calls(s.clients.ec2, "RegisterImage")
        starts = count_calls(s.clients.ebs, "StartSnapshot")
        ami = upload(s, data, properties=props, min_disk=3)
        small = upload(s, random_bytes(BLOCK), unique("small"))
    first = registers[0]
    assert first["VirtualizationType"] == "hvm"
    assert first["BootMode"] == "uefi" and first["EnaSupport"] is True
    assert first["Architecture"] == "arm64"
    root = first["BlockDeviceMappings"][0]
    assert root["DeviceName"] == first["RootDeviceName"]
    assert root["Ebs"]["VolumeSize"] == 3  # min_disk 3 GiB beats ceil(size / GiB) = 1
    assert starts[0]["VolumeSize"] == 3 and starts[1]["VolumeSize"] == 1
    assert "BootMode" not in registers[1] and registers[1]["EnaSupport"] is False
    assert ami.properties["hw_firmware_type"] == "uefi"  # carried as a tag
    assert ami.min_disk == 3 and small.min_disk == 0  # glint's tag, not moto's 15 GiB
    assert math.ceil(len(data) / GiB) == 1


def test_a_qcow2_source_is_refused_before_anything_is_created(moto_ec2):
    with moto_ec2.session() as s:
        starts = count_calls(s.clients.ebs, "StartSnapshot")
        with pytest.raises(BadRequest, match="raw disk images only.*qemu-img convert"):
            s.create_image(spec(unique("q"), disk_format="qcow2"))
        assert starts == []


def test_bytes_stored_other_than_sent_are_caught_by_the_read_back_and_never_registered(
    moto_ec2,
):
    """A fault EC2 itself would refuse (its checksum check) but moto accepts: one block's
    data is changed after glint computed its checksum. Only glint's read-back sees it."""
    data = random_bytes(2 * BLOCK)
    with moto_ec2.session() as s:
        registers = count_calls(s.clients.ec2, "RegisterImage")

        def corrupt(params, **_):
            if params["BlockIndex"] == 1:
                params["BlockData"] = b"\x01" + params["BlockData"][1:]

        s.clients.blocks.meta.events.register("provide-client-params.ebs.PutSnapshotBlock", corrupt)
        rec = s.create_image(spec(unique("rot")))
        with pytest.raises(DataMismatch, match="block 1 does not match its SHA-256"):
            s.upload(rec.id, io.BytesIO(data), len(data))
        assert registers == []
        assert s.get_image(rec.id).status == "saving"  # its snapshot, until discarded
        s.delete_image(rec.id)
        with pytest.raises(ImageNotFound):
            s.get_image(rec.id)


def test_a_block_that_fails_once_is_sent_again_alone(moto_ec2):
    """A 503 on one PutSnapshotBlock (injected: a fault moto cannot be made to produce)."""
    from botocore.awsrequest import AWSResponse

    data = random_bytes(4 * BLOCK)
    failed: list[int] = []
    with moto_ec2.session() as s:
        puts = count_calls(s.clients.blocks, "PutSnapshotBlock")

        def once(request, **_):
            if b"/blocks/2" in request.url.encode() and not failed:
                failed.append(2)
                return AWSResponse(request.url, 503, {}, io.BytesIO(b"{}"))
            return None

        s.clients.blocks.meta.events.register("before-send.ebs.PutSnapshotBlock", once)
        ami = upload(s, data)
    assert failed == [2]
    assert sorted(p["BlockIndex"] for p in puts) == [0, 1, 2, 2, 3]
    assert ami.content_key == "sha512:" + hashlib.sha512(data).hexdigest()
    assert s.uploads.counters.block_retries == 1


def test_an_aborted_upload_is_found_by_its_transfer_tag_and_discarded_with_its_snapshot(
    moto_ec2,
):
    class Dies(io.BytesIO):
        def read(self, size=-1):
            if self.tell() >= 2 * BLOCK:
                raise RuntimeError("upload aborted")
            return super().read(size)

    data = random_bytes(5 * BLOCK)
    with moto_ec2.session() as s:
        rec = s.create_image(spec(unique("abort")))
        with pytest.raises(RuntimeError):
            s.upload(rec.id, Dies(data), len(data))
    with moto_ec2.session() as other:  # another process: only the tag knows it
        half = other.get_image(rec.id)
        assert half.status == "saving"
        assert half.properties["glint_transfer_id"] == rec.properties["glint_transfer_id"]
        assert any(r.id == rec.id for r in other.list_images())  # an incomplete cell
        other.delete_image(rec.id)
        with pytest.raises(ImageNotFound):
            other.get_image(rec.id)
        snaps = moto_ec2.client("ec2").describe_snapshots(
            OwnerIds=["self"],
            Filters=[
                {"Name": "tag:glint_transfer_id", "Values": [half.properties["glint_transfer_id"]]}
            ],
        )["Snapshots"]
        assert snaps == []


def test_delete_deregisters_the_ami_and_deletes_its_snapshots(moto_ec2):
    with moto_ec2.session() as s:
        ami = upload(s, random_bytes(BLOCK))
        raw = s.ami(ami.id)
        snapshot = raw["Tags"] and s.uploads.root_snapshot(raw)
        s.delete_image(ami.id)
        with pytest.raises(ImageNotFound):
            s.get_image(ami.id)
    left = moto_ec2.client("ec2").describe_snapshots(OwnerIds=["self"])["Snapshots"]
    assert snapshot not in {x["SnapshotId"] for x in left}


def test_shared_and_public_amis_of_another_account_are_locked_and_never_deleted(moto_ec2):
    """The other account's AMIs come from moto's AMI list (moto keeps accounts apart); the
    share is a launch permission for our account, as on EC2."""
    moto_ec2.client("ec2").modify_image_attribute(
        ImageId=SHARED_AMI, LaunchPermission={"Add": [{"UserId": DEFAULT_ACCOUNT}]}
    )
    with moto_ec2.session() as s:
        seen = {r.id: r for r in s.list_images()}
        assert seen[SHARED_AMI].owner == OTHER_ACCOUNT
        assert seen[SHARED_AMI].visibility == "shared"
        assert seen[PUBLIC_AMI].visibility == "public"
        ref = ProjectRef("ec2", DEFAULT_ACCOUNT, "us-east-1")
        matrix = build_matrix([Listing(ref, DEFAULT_ACCOUNT, [seen[SHARED_AMI], seen[PUBLIC_AMI]])])
        assert {r.cell(ref).state for r in matrix.rows} == {CellState.LOCKED}
        with pytest.raises(PermissionDenied, match="belongs to account"):
            s.delete_image(SHARED_AMI)


def test_an_ami_without_glint_tags_has_no_content_key_and_its_own_row(moto_ec2):
    ec2 = moto_ec2.client("ec2")
    name = unique("handmade")
    a = ec2.register_image(Name=name, RootDeviceName="/dev/xvda")["ImageId"]
    with moto_ec2.session() as s:
        mine = [r for r in s.list_images(name=name)]
        assert [r.id for r in mine] == [a]
        assert mine[0].status == "active" and mine[0].content_key is None
        assert s.stored_hashes(mine[0]) == {}  # nothing to verify it by


def test_an_ami_name_taken_in_the_region_is_refused_before_any_bytes_move(moto_ec2):
    name = unique("taken")
    moto_ec2.client("ec2").register_image(Name=name, RootDeviceName="/dev/xvda")
    with moto_ec2.session() as s, pytest.raises(Conflict, match="unique per region"):
        s.create_image(spec(name))


def test_copy_between_regions_is_server_side_and_tagged_but_moto_cannot_read_the_copy_back(
    moto_ec2,
):
    """CopyImage moves no byte through glint; the copy carries the source's sha512 tag.
    moto copies no blocks, so reading the copy back fails there: glint then does not call
    it verified (on EC2 the copy's snapshot reads back like any other)."""
    data = random_bytes(2 * BLOCK)
    with moto_ec2.session("us-east-1") as east, moto_ec2.session("eu-west-1") as west:
        source = upload(east, data)
        puts = count_calls(west.clients.blocks, "PutSnapshotBlock")
        copy = west.copy_image_from("us-east-1", source.id, spec(source.name))
        assert copy.id != source.id and puts == []
        assert copy.content_key == source.content_key and copy.size == len(data)
        assert (
            west.get_image(copy.id).properties["glint_transfer_id"]
            != source.properties["glint_transfer_id"]
        )
        with pytest.raises(Exception):  # noqa: B017 - moto: no blocks behind the copy
            west.stored_hashes(copy)
        west.delete_image(copy.id)


def test_each_region_of_an_account_is_its_own_cloud(moto_ec2):
    with moto_ec2.session("us-east-1") as east, moto_ec2.session("eu-west-1") as west:
        a, b = east.cloud_identity(), west.cloud_identity()
        assert not a.same_cloud(b)
    again = moto_ec2.repository("us-east-1", name="ec2-again")
    from glint_tui.core.clouds import open_session

    with open_session(again, moto_ec2.credential(), "x") as twin:
        assert twin.cloud_identity().same_cloud(a)  # one account+region: one cloud


def test_an_ami_an_instance_runs_from_is_in_use_and_glint_never_deactivates_one(moto_ec2):
    """moto runs no instance: DescribeInstances answers from its records, which is what
    glint reads; whether AWS filters by image-id the same way is not proven here."""
    with moto_ec2.session() as s:
        ami = upload(s, random_bytes(BLOCK))
        assert s.image_in_use(ami.id) is False
        ec2 = moto_ec2.client("ec2")
        (instance,) = ec2.run_instances(ImageId=ami.id, MinCount=1, MaxCount=1)["Instances"]
        assert s.image_in_use(ami.id) is True
        ec2.terminate_instances(InstanceIds=[instance["InstanceId"]])
        assert s.image_in_use(ami.id) is False
        with pytest.raises(BadRequest, match="does not disable EC2 AMIs"):
            s.deactivate_image(ami.id)
