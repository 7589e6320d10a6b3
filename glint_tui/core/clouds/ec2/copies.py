"""CopyImage: an AMI of one region copied into another region of the same account.

EC2 moves the bytes itself (nothing crosses this host). The copy carries the source's
glint tags (sha512, size, formats, name) and a transfer id of its own, so the journal and
``glint reconcile`` know it like an upload; it is verified by its tag *and* by reading its
snapshot back (``Uploads.stored_hashes``), once EC2 reports it ``available``.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TYPE_CHECKING

from glint_tui.core import errors
from glint_tui.core.clouds.base import ImageSpec
from glint_tui.core.clouds.ec2 import records
from glint_tui.core.clouds.ec2.register import ami_name
from glint_tui.core.model import ImageRecord

if TYPE_CHECKING:
    from glint_tui.core.clouds.ec2.uploads import Uploads


def copy_image(uploads: Uploads, source_region: str, image_id: str, spec: ImageSpec) -> ImageRecord:
    """CopyImage of *image_id* from *source_region* into this region (EC2 copies the
    bytes itself), tagged like an upload: the source's glint tags and a new transfer
    id. Returns the new AMI's record (``pending`` until EC2 finishes: poll it)."""
    source = uploads.s.clients.ec2_in(source_region)
    with uploads.s.calls(f"find AMI {image_id} in region {source_region}"):
        found = source.describe_images(ImageIds=[image_id]).get("Images") or []
    if not found:
        raise errors.ImageNotFound(f"no AMI {image_id} in {source_region}", uploads.s.where)
    carried = records.tag_dict(found[0].get("Tags"))
    if not carried.get(records.SHA512_TAG):
        raise errors.BadRequest(
            f"{image_id} carries no glint sha512 tag: its copy could not be verified",
            uploads.s.where,
        )
    transfer_id = str(spec.properties.get(records.TRANSFER_TAG) or uuid.uuid4().hex)
    tags = {k: v for k, v in carried.items() if k != records.SNAPSHOT_TAG}
    tags[records.TRANSFER_TAG] = transfer_id
    with uploads.s.calls("copy the AMI (ec2:CopyImage)"):
        copy = uploads.s.clients.ec2.copy_image(
            SourceImageId=image_id,
            SourceRegion=source_region,
            Name=ami_name(spec.name),
            Description=f"glint copy of {spec.name}"[:255],
            ClientToken=transfer_id[:64],
            TagSpecifications=[{"ResourceType": "image", "Tags": records.tag_list(tags)}],
        )["ImageId"]
    uploads.ensure_tags(copy, tags)
    return replace(uploads.s.get_image(copy), properties={**tags})
