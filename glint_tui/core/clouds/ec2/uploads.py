"""Making AMIs: upload (EBS direct APIs -> read back -> RegisterImage), CopyImage between
regions of one account, download, and removing what glint made.

An upload, step by step (each AWS call under the session's error translation):

1. ``create`` (no cloud call): refuse what EC2 cannot boot from a block copy (anything but
   a ``raw``/``bare`` image: a qcow2 must be converted first) and a name an AMI already has
   in the region (AMI names are unique per region: better now than after the bytes);
   returns the pending id ``upload-<transfer id>``;
2. ``StartSnapshot`` of ``volume_gib(size, min_disk)`` GiB, tagged with the transfer id;
3. ``BlockUploader`` streams the non-zero blocks; ``CompleteSnapshot`` with the LINEAR
   aggregate checksum; wait until the snapshot is ``completed``;
4. read the snapshot back and compare its sha512 with the sha512 of what was sent: EC2
   reports no hash of its own, and an emulator stores blocks unchecked;
5. ``RegisterImage`` with the tags naming the bytes (``records``).

A failure or a cancel at any step leaves a tagged snapshot at most, and the engine (or
``glint reconcile``, from the journal's pending id) deletes it through ``discard``.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from glint_tui.core import errors
from glint_tui.core.clouds.base import ImageSpec, Reader
from glint_tui.core.clouds.ec2 import records
from glint_tui.core.clouds.ec2.blocks import BLOCK, BlockUploader, volume_gib
from glint_tui.core.clouds.ec2.readback import BlockStream, Ec2Download, list_tokens, sha512_of
from glint_tui.core.clouds.ec2.register import ami_name, register_arguments
from glint_tui.core.model import ImageRecord

if TYPE_CHECKING:
    from glint_tui.core.clouds.ec2.session import Ec2Session

PENDING_PREFIX = "upload-"
SNAPSHOT_TIMEOUT_MINUTES = 30  # EBS cancels a started snapshot idle this long
FORMATS = ("raw",)


@dataclass
class Pending:
    """An upload of this session: its spec, and what exists of it so far."""

    spec: ImageSpec
    transfer_id: str
    snapshot_id: str | None = None
    ami_id: str | None = None


@dataclass
class Counters:
    """What this session sent and read (tests and the benchmark read them)."""

    blocks_put: int = 0
    blocks_skipped: int = 0
    blocks_read: int = 0
    block_retries: int = 0
    readbacks: int = 0
    notes: list[str] = field(default_factory=list)

    def count_reads(self, blocks: int) -> None:
        self.blocks_read += blocks


class Uploads:
    """The AMI-making half of ``Ec2Session`` (see the module docstring)."""

    workers = 8  # PutSnapshotBlock calls in flight (memory: 2 x workers x 512 KiB)
    read_workers = 4
    complete_timeout = 1800.0  # seconds a completed snapshot may take to become usable
    poll = 1.0

    def __init__(self, session: Ec2Session) -> None:
        self.s = session
        self.pending: dict[str, Pending] = {}
        self.verified: dict[str, str] = {}  # AMI id -> sha512 read back by this session
        self.counters = Counters()

    # -- finding what glint made --------------------------------------------------------------
    def _snapshots(self, what: str, **params: Any) -> list[dict[str, Any]]:
        with self.s.calls(what):
            pages = self.s.clients.ec2.get_paginator("describe_snapshots").paginate(
                OwnerIds=["self"], **params
            )
            return [snap for page in pages for snap in page.get("Snapshots") or []]

    def _made(self, transfer_id: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(AMIs, snapshots) carrying *transfer_id*."""
        tagged = [{"Name": f"tag:{records.TRANSFER_TAG}", "Values": [transfer_id]}]
        amis = list(self.s.describe("find glint's AMIs", Owners=["self"], Filters=tagged))
        snaps = self._snapshots("find glint's snapshots", Filters=tagged)
        return amis, snaps

    def pending_record(self, pending_id: str) -> ImageRecord:
        """The pending upload as it is now: its AMI once registered, else its snapshot (a
        half-made image), else "queued" when only this session knows of it."""
        transfer_id = pending_id[len(PENDING_PREFIX) :]
        amis, snaps = self._made(transfer_id)
        if amis:
            amis.sort(key=lambda a: a.get("State") != "available")
            return self.s.record(amis[0])
        if snaps:
            return records.snapshot_record(snaps[0], pending_id)
        mine = self.pending.get(pending_id)
        if mine is None:
            raise errors.ImageNotFound(f"nothing of upload {pending_id} is left", self.s.where)
        return ImageRecord(
            pending_id,
            mine.spec.name,
            owner=self.s.project_id,
            status="queued",
            properties={records.TRANSFER_TAG: transfer_id},
        )

    def half_made(self, exclude: set[str]) -> list[ImageRecord]:
        """glint's snapshots with no AMI (uploads in flight, or left by a dead run)."""
        found = self._snapshots(
            "list glint's snapshots",
            Filters=[{"Name": "tag-key", "Values": [records.TRANSFER_TAG]}],
        )
        out = []
        for snap in found:
            transfer_id = records.tag_dict(snap.get("Tags")).get(records.TRANSFER_TAG, "")
            if transfer_id and transfer_id not in exclude:
                out.append(records.snapshot_record(snap, PENDING_PREFIX + transfer_id))
        return out

    # -- removing --------------------------------------------------------------------------
    def discard(self, pending_id: str) -> None:
        """Delete everything upload *pending_id* made: its AMI(s), its snapshot(s)."""
        transfer_id = pending_id[len(PENDING_PREFIX) :]
        amis, snaps = self._made(transfer_id)
        mine = self.pending.pop(pending_id, None)
        if not amis and not snaps and mine is None:
            raise errors.ImageNotFound(f"nothing of upload {pending_id} is left", self.s.where)
        for ami in amis:
            self.deregister(ami)
        for snap in snaps:
            self._delete_snapshot(snap["SnapshotId"])

    def deregister(self, image: dict[str, Any]) -> None:
        """DeregisterImage, then DeleteSnapshot of its snapshots that this account owns
        (a snapshot another AMI still uses stays)."""
        image_id = image["ImageId"]
        snapshots = {
            m["Ebs"]["SnapshotId"]
            for m in image.get("BlockDeviceMappings") or []
            if m.get("Ebs", {}).get("SnapshotId")
        }
        glints = self._glint_snapshot(image)
        if glints:
            snapshots.add(glints)
        with self.s.calls(f"deregister {image_id} (ec2:DeregisterImage)"):
            self.s.clients.ec2.deregister_image(ImageId=image_id)
        for snapshot_id in sorted(snapshots):
            try:
                self._delete_snapshot(snapshot_id)
            except (errors.Conflict, errors.PermissionDenied) as e:
                self.counters.notes.append(f"kept snapshot {snapshot_id}: {e}")

    def _delete_snapshot(self, snapshot_id: str) -> None:
        try:
            with self.s.calls(f"delete snapshot {snapshot_id} (ec2:DeleteSnapshot)"):
                self.s.clients.ec2.delete_snapshot(SnapshotId=snapshot_id)
        except errors.ImageNotFound:
            pass

    def _glint_snapshot(self, image: dict[str, Any]) -> str | None:
        """The snapshot glint's tag names, if it is glint's own for this AMI (same transfer
        id): where an emulator registers an AMI on a snapshot of its own instead of the
        one glint gave (on AWS it is the root mapping's, so nothing changes there)."""
        tags = records.tag_dict(image.get("Tags"))
        snapshot_id, transfer_id = tags.get(records.SNAPSHOT_TAG), tags.get(records.TRANSFER_TAG)
        if not snapshot_id or not transfer_id:
            return None
        found = self._snapshots("find glint's snapshot", SnapshotIds=[snapshot_id])
        if (
            found
            and records.tag_dict(found[0].get("Tags")).get(records.TRANSFER_TAG) == transfer_id
        ):
            return snapshot_id
        return None

    def root_snapshot(self, image: dict[str, Any]) -> str:
        """The snapshot holding the AMI's bytes: glint's own (see ``_glint_snapshot``) when
        it differs from the root mapping's, else the root mapping's."""
        mapped = records.root_mapping(image).get("Ebs", {}).get("SnapshotId")
        tagged = records.tag_dict(image.get("Tags")).get(records.SNAPSHOT_TAG)
        if tagged and tagged != mapped and self._glint_snapshot(image):
            return tagged
        if not mapped:
            raise errors.BadRequest(f"{image['ImageId']} has no EBS root snapshot", self.s.where)
        return mapped

    # -- creating ----------------------------------------------------------------------------
    def create(self, spec: ImageSpec) -> ImageRecord:
        """Check the spec and return a pending record (nothing is created yet)."""
        account = self.s.project_id
        if spec.disk_format not in FORMATS or spec.container_format not in ("bare", None, ""):
            raise errors.BadRequest(
                f"EC2 takes raw disk images only, not {spec.disk_format}/{spec.container_format}"
                f" ({spec.name!r}): convert it to raw first (qemu-img convert -O raw)",
                self.s.where,
            )
        name = ami_name(spec.name)
        taken = list(
            self.s.describe(
                "look for an AMI of the same name",
                Owners=["self"],
                Filters=[{"Name": "name", "Values": [name]}],
            )
        )
        if taken:
            raise errors.Conflict(
                f"an AMI named {name!r} already exists in region {self.s.region} "
                f"({taken[0]['ImageId']}): AMI names are unique per region",
                self.s.where,
            )
        transfer_id = str(spec.properties.get(records.TRANSFER_TAG) or uuid.uuid4().hex)
        pending_id = PENDING_PREFIX + transfer_id
        self.pending[pending_id] = Pending(spec, transfer_id)
        return ImageRecord(
            pending_id,
            spec.name,
            owner=account,
            status="queued",
            disk_format=spec.disk_format,
            container_format=spec.container_format,
            properties={records.TRANSFER_TAG: transfer_id},
        )

    def identity_tags(self, spec: ImageSpec, transfer_id: str, size: int) -> dict[str, Any]:
        return {
            records.TRANSFER_TAG: transfer_id,
            records.SOURCE_NAME_TAG: spec.name[: records.TAG_VALUE_MAX],
            records.SIZE_TAG: size,
            records.DISK_FORMAT_TAG: spec.disk_format,
            records.CONTAINER_FORMAT_TAG: spec.container_format or "bare",
        }

    def upload(self, pending_id: str, reader: Reader, size: int) -> None:
        """Steps 2-5 of the module docstring."""
        mine = self.pending.get(pending_id)
        if mine is None:
            raise errors.BadRequest(f"{pending_id} is not an upload of this session", self.s.where)
        spec, transfer_id = mine.spec, mine.transfer_id
        gib = volume_gib(size, spec.min_disk)
        if gib * (1 << 30) > max(size, 1) and spec.min_disk > 0 and gib == spec.min_disk:
            self.counters.notes.append(f"root volume {gib} GiB: the image's min_disk")
        tags = self.identity_tags(spec, transfer_id, size)
        ebs = self.s.clients.ebs
        with self.s.calls("start a snapshot (ebs:StartSnapshot)"):
            started = ebs.start_snapshot(
                VolumeSize=gib,
                Tags=records.tag_list(tags),
                Description=f"glint upload of {spec.name}"[:255],
                Timeout=SNAPSHOT_TIMEOUT_MINUTES,
                ClientToken=transfer_id[:64],
            )
        snapshot_id = mine.snapshot_id = started["SnapshotId"]
        sent = BlockUploader(self._put(snapshot_id), self.s.where, workers=self.workers).run(
            reader, size
        )
        self.counters.blocks_put += sent.blocks_put
        self.counters.blocks_skipped += sent.blocks_skipped
        self.counters.block_retries += sent.retries
        with self.s.calls(f"complete snapshot {snapshot_id} (ebs:CompleteSnapshot)"):
            ebs.complete_snapshot(
                SnapshotId=snapshot_id,
                ChangedBlocksCount=sent.blocks_put,
                Checksum=sent.aggregate,
                ChecksumAlgorithm="SHA256",
                ChecksumAggregationMethod="LINEAR",
            )
        self._wait_completed(snapshot_id)
        back = self.read_back(snapshot_id, size)
        if back != sent.sha512:
            raise errors.DataMismatch(
                f"snapshot {snapshot_id} holds other bytes than glint sent (read back, its "
                "sha512 differs); nothing registered",
                self.s.where,
            )
        tags[records.SHA512_TAG] = back
        with self.s.calls(f"tag snapshot {snapshot_id}"):
            self.s.clients.ec2.create_tags(
                Resources=[snapshot_id], Tags=records.tag_list({records.SHA512_TAG: back})
            )
        mine.ami_id = self._register(
            spec, snapshot_id, gib, {**tags, records.SNAPSHOT_TAG: snapshot_id}
        )
        self.verified[mine.ami_id] = back

    def _put(self, snapshot_id: str):
        blocks = self.s.clients.blocks

        def put(index: int, data: bytes, checksum: str) -> None:
            with self.s.calls(f"write block {index} (ebs:PutSnapshotBlock)"):
                blocks.put_snapshot_block(
                    SnapshotId=snapshot_id,
                    BlockIndex=index,
                    BlockData=data,
                    DataLength=BLOCK,
                    Checksum=checksum,
                    ChecksumAlgorithm="SHA256",
                )

        return put

    def _wait_completed(self, snapshot_id: str) -> None:
        deadline = time.monotonic() + self.complete_timeout
        while True:
            found = self._snapshots("wait for the snapshot", SnapshotIds=[snapshot_id])
            state = found[0].get("State") if found else "missing"
            if state == "completed":
                return
            if state in ("error", "missing", "recoverable"):
                raise errors.ServerError(f"snapshot {snapshot_id} is {state}", self.s.where)
            if time.monotonic() > deadline:
                raise errors.ServerError(
                    f"snapshot {snapshot_id} still {state} after {self.complete_timeout:.0f} s",
                    self.s.where,
                )
            time.sleep(self.poll)

    def _register(self, spec: ImageSpec, snapshot_id: str, gib: int, tags: dict[str, Any]) -> str:
        tags = {**tags, **self._carried(spec, len(tags))}
        arguments = register_arguments(
            spec.name, snapshot_id, gib, spec.properties, f"glint copy of {spec.name}"
        )
        with self.s.calls("register the AMI (ec2:RegisterImage)"):
            ami = self.s.clients.ec2.register_image(
                **arguments,
                TagSpecifications=[{"ResourceType": "image", "Tags": records.tag_list(tags)}],
            )["ImageId"]
        self.ensure_tags(ami, tags)
        if spec.visibility == "public":
            with self.s.calls(f"make {ami} public"):
                self.s.clients.ec2.modify_image_attribute(
                    ImageId=ami, LaunchPermission={"Add": [{"Group": "all"}]}
                )
        return ami

    def _carried(self, spec: ImageSpec, used: int) -> dict[str, Any]:
        """The Glance image's own metadata that fits in the AMI's remaining tags."""
        out: dict[str, Any] = {}
        if spec.min_ram:
            out[records.MIN_RAM_TAG] = spec.min_ram
        out[records.MIN_DISK_TAG] = spec.min_disk
        if spec.tags:
            import json

            text = json.dumps(list(spec.tags))
            if records.fits(records.IMAGE_TAGS_TAG, text):
                out[records.IMAGE_TAGS_TAG] = text
        for key, value in sorted(spec.properties.items()):
            if key == records.TRANSFER_TAG or key in records.IDENTITY_TAGS:
                continue
            if used + len(out) >= records.MAX_TAGS:
                self.counters.notes.append(f"property {key} not carried: no tag left")
                continue
            if records.fits(key, value):
                out[key] = value
            else:
                self.counters.notes.append(f"property {key} not carried: too long for a tag")
        return out

    def ensure_tags(self, ami: str, tags: dict[str, Any]) -> None:
        """The AMI's tags as glint gave them: an emulator may drop RegisterImage's
        TagSpecifications (AWS applies them with the AMI), so set what is missing."""
        have = records.tag_dict(self.s.ami(ami).get("Tags"))
        missing = {k: v for k, v in tags.items() if have.get(k) != str(v)}
        if missing:
            with self.s.calls(f"tag {ami}"):
                self.s.clients.ec2.create_tags(Resources=[ami], Tags=records.tag_list(missing))

    # -- reading back ------------------------------------------------------------------------
    def block_stream(self, snapshot_id: str, size: int) -> BlockStream:
        return BlockStream(
            list_tokens(self._block_pages(snapshot_id)),
            size,
            self._get(snapshot_id),
            self.s.where,
            workers=self.read_workers,
        )

    def _block_pages(self, snapshot_id: str):
        ebs = self.s.clients.ebs
        token = None
        while True:
            params: dict[str, Any] = {"SnapshotId": snapshot_id, "MaxResults": 10000}
            if token:
                params["NextToken"] = token
            with self.s.calls(f"list the blocks of {snapshot_id} (ebs:ListSnapshotBlocks)"):
                page = ebs.list_snapshot_blocks(**params)
            yield page
            token = page.get("NextToken")
            if not token:
                return

    def _get(self, snapshot_id: str):
        blocks = self.s.clients.blocks

        def get(index: int, token: str) -> tuple[bytes, str | None]:
            with self.s.calls(f"read block {index} (ebs:GetSnapshotBlock)"):
                answer = blocks.get_snapshot_block(
                    SnapshotId=snapshot_id, BlockIndex=index, BlockToken=token or "none"
                )
                data = answer["BlockData"].read()
            return data, answer.get("Checksum")

        return get

    def read_back(self, snapshot_id: str, size: int) -> str:
        """The sha512 of the first *size* bytes of *snapshot_id*, as EC2 returns them."""
        stream = self.block_stream(snapshot_id, size)
        digest, total = sha512_of(stream)
        self.counters.blocks_read += stream.blocks_read
        self.counters.readbacks += 1
        if total != size:
            raise errors.DataMismatch(f"read back {total} of {size} bytes", self.s.where)
        return digest

    def stored_hashes(self, image: ImageRecord) -> dict[str, str]:
        """{"sha512": …} of what the AMI's root snapshot holds (read back), {} when the
        record does not say how many bytes the image is (an AMI glint did not make)."""
        ami_id = image.id
        if ami_id.startswith(PENDING_PREFIX):
            ami_id = self.pending_record(ami_id).id
        if ami_id in self.verified:
            return {"sha512": self.verified[ami_id]}
        record = self.s.get_image(ami_id)
        if record.size is None:
            return {}
        digest = self.read_back(self.root_snapshot(self.s.ami(ami_id)), record.size)
        self.verified[ami_id] = digest
        return {"sha512": digest}

    def download(self, image_id: str, *, verify: bool = True) -> Ec2Download:  # noqa: D102
        """A stream of the AMI's bytes (``size`` from glint's tag: an AMI glint did not
        make has no known image size, so its whole root volume is streamed)."""
        record = self.s.get_image(image_id)
        if record.status != "active":
            raise errors.Conflict(f"{image_id} is {record.status}, not available", self.s.where)
        image = self.s.ami(record.id)
        size = record.size
        if size is None:
            size = int(records.root_mapping(image).get("Ebs", {}).get("VolumeSize") or 0) << 30
        stream = self.block_stream(self.root_snapshot(image), size)
        expected = record.os_hash_value if verify else None
        return Ec2Download(stream, size, expected, self.s.where, self.counters.count_reads)
