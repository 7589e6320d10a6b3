"""An AMI as glint's ``ImageRecord``, and the tags glint writes on what it makes.

An AMI has no content hash. Every AMI (and snapshot) glint makes carries tags naming the
bytes: ``glint_sha512`` of the image, its ``glint_size``, the source's disk and container
formats and name, glint's transfer id. From those the record gets ``os_hash_algo`` /
``os_hash_value`` (its content key), ``size`` and formats; an AMI without ``glint_sha512``
has no content key (``content_key`` is None while it is ``active``): the matrix gives it a
row of its own, it is never matched with another image and never deleted by name.

Ownership: ``owner`` is the AMI's account. An AMI of another account (shared with this one
through a launch permission, or public) is "shared" or "public": a locked cell.
"""

from __future__ import annotations

import json
from typing import Any

from glint_tui.core.journal import TRANSFER_PROPERTY
from glint_tui.core.model import ImageRecord

SHA512_TAG = "glint_sha512"
SIZE_TAG = "glint_size"
DISK_FORMAT_TAG = "glint_disk_format"
CONTAINER_FORMAT_TAG = "glint_container_format"
SOURCE_NAME_TAG = "glint_source_name"
SNAPSHOT_TAG = "glint_snapshot_id"  # the snapshot glint wrote (where an emulator loses it)
MIN_RAM_TAG = "glint_min_ram"
MIN_DISK_TAG = "glint_min_disk"  # the source's min_disk (the root volume is whole GiB)
IMAGE_TAGS_TAG = "glint_image_tags"  # the Glance image's own tags, as a JSON list
TRANSFER_TAG = TRANSFER_PROPERTY
IDENTITY_TAGS = frozenset(
    {
        SHA512_TAG,
        SIZE_TAG,
        DISK_FORMAT_TAG,
        CONTAINER_FORMAT_TAG,
        SOURCE_NAME_TAG,
        SNAPSHOT_TAG,
        MIN_RAM_TAG,
        MIN_DISK_TAG,
        IMAGE_TAGS_TAG,
    }
)
"""Tags that are fields of the record, not properties (the transfer id stays a property:
reconcile matches on it)."""

MAX_TAGS = 50  # AWS: tags per resource
TAG_KEY_MAX, TAG_VALUE_MAX = 128, 256

# AMI states -> the Glance statuses the rest of glint knows (only "active" is a copy)
STATES = {
    "available": "active",
    "pending": "saving",
    "transient": "saving",
    "failed": "killed",
    "error": "killed",
    "invalid": "killed",
    "deregistered": "deleted",
    "disabled": "deactivated",
}
# snapshot states (a glint upload before its AMI exists)
SNAPSHOT_STATES = {"pending": "saving", "completed": "saving", "error": "killed"}


def tag_dict(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tags or [] if "Key" in t}


def tag_list(tags: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": str(v)} for k, v in tags.items()]


def fits(key: str, value: Any) -> bool:
    """Whether a property can travel as an AWS tag (length limits, no ``aws:`` prefix)."""
    text = str(value)
    return (
        0 < len(key) <= TAG_KEY_MAX
        and len(text) <= TAG_VALUE_MAX
        and not key.lower().startswith("aws:")
    )


def root_mapping(image: dict[str, Any]) -> dict[str, Any]:
    """The block device mapping of the AMI's root device ({} when it has none)."""
    root = image.get("RootDeviceName")
    maps = image.get("BlockDeviceMappings") or []
    for m in maps:
        if m.get("DeviceName") == root and "Ebs" in m:
            return m
    return next((m for m in maps if "Ebs" in m), {})


def _int(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _visibility(image: dict[str, Any], owned: bool) -> str:
    if image.get("Public"):
        return "public"
    return "private" if owned else "shared"


def image_record(image: dict[str, Any], account: str | None) -> ImageRecord:
    """A DescribeImages entry as glint's record, seen from *account*."""
    tags = tag_dict(image.get("Tags"))
    sha512 = tags.get(SHA512_TAG) or None
    owner = image.get("OwnerId")
    ebs = root_mapping(image).get("Ebs", {})
    volume_gib = int(ebs.get("VolumeSize") or 0)
    try:
        image_tags = tuple(json.loads(tags.get(IMAGE_TAGS_TAG) or "[]"))
    except ValueError:
        image_tags = ()
    properties = {k: v for k, v in tags.items() if k not in IDENTITY_TAGS}
    for key, field in (("BootMode", "boot_mode"), ("Architecture", "architecture")):
        if image.get(key):
            properties.setdefault(f"ec2_{field}", image[key])
    return ImageRecord(
        id=image["ImageId"],
        name=image.get("Name") or "",
        owner=owner,
        visibility=_visibility(image, owner == account),
        protected=str(image.get("DeregistrationProtection", "disabled")) != "disabled",
        status=STATES.get(image.get("State", ""), "killed"),
        size=_int(tags.get(SIZE_TAG)),
        disk_format=tags.get(DISK_FORMAT_TAG) or "raw",
        container_format=tags.get(CONTAINER_FORMAT_TAG) or "bare",
        min_disk=_int(tags.get(MIN_DISK_TAG)) if MIN_DISK_TAG in tags else volume_gib,
        min_ram=_int(tags.get(MIN_RAM_TAG)) or 0,
        tags=tuple(str(t) for t in image_tags),
        properties=properties,
        os_hash_algo="sha512" if sha512 else None,
        os_hash_value=sha512,
        created_at=image.get("CreationDate"),
    )


def snapshot_record(
    snapshot: dict[str, Any], pending_id: str, name: str | None = None
) -> ImageRecord:
    """A glint upload whose AMI does not exist yet, as a half-made image."""
    tags = tag_dict(snapshot.get("Tags"))
    return ImageRecord(
        id=pending_id,
        name=name or tags.get(SOURCE_NAME_TAG, ""),
        owner=snapshot.get("OwnerId"),
        status=SNAPSHOT_STATES.get(snapshot.get("State", ""), "killed"),
        size=_int(tags.get(SIZE_TAG)),
        disk_format=tags.get(DISK_FORMAT_TAG),
        container_format=tags.get(CONTAINER_FORMAT_TAG),
        properties={TRANSFER_TAG: tags.get(TRANSFER_TAG, "")},
    )
