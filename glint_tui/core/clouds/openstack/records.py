"""Glance images as glint records, and glint's changes as Glance requests.

Property rule (``image_record``): ``properties`` holds every image attribute that is not a
Glance base attribute (``BASE_ATTRIBUTES``: the schema's core and read-only fields such as
id, status, size, checksum, os_hash_*, os_hidden, locations, direct_url, stores, file,
schema, self) and not in Glance's reserved ``os_glance_`` namespace. Everything else the
user (or a tool) set is kept, including ``owner_specified.*`` and well-known ones such as
``os_distro`` or ``hw_*``: they are what a faithful copy must carry.
"""

from __future__ import annotations

from typing import Any

from openstack.image.v2 import image as os_image

from glint_tui.core import errors
from glint_tui.core.clouds.base import ImageSpec
from glint_tui.core.model import ImageRecord

# Glance's own attributes (image schema core + read-only/computed ones). Anything else on an
# image is a user property and is copied with it.
BASE_ATTRIBUTES = frozenset(
    {
        "id", "name", "status", "visibility", "protected", "os_hidden", "owner",
        "checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size",
        "min_ram", "min_disk", "disk_format", "container_format", "tags",
        "created_at", "updated_at", "self", "file", "schema", "direct_url",
        "locations", "stores", "properties",
    }
)  # fmt: skip
RESERVED_PREFIXES = ("os_glance_",)

# Attributes update_image() accepts by glint name -> Glance name; other keys are properties.
PUBLIC_ISH = ("public", "community")  # visible to every project

CORE_UPDATES = {
    "name": "name",
    "visibility": "visibility",
    "owner": "owner",  # admin only: restore puts the original owner back
    "protected": "protected",
    "hidden": "os_hidden",
    "min_disk": "min_disk",
    "min_ram": "min_ram",
    "tags": "tags",
    "disk_format": "disk_format",
    "container_format": "container_format",
}


def image_record(image: os_image.Image | dict[str, Any]) -> ImageRecord:
    """glint's record for an openstacksdk Image or Glance's JSON for one (see the module
    docstring for which attributes count as properties)."""
    if isinstance(image, os_image.Image):  # (a Resource is also a dict: test it first)
        raw = image.to_dict(original_names=True, computed=False, headers=False)
    else:
        raw = dict(image)
    extra = dict(raw.get("properties") or {})
    extra.update(raw)
    properties = {
        key: value
        for key, value in extra.items()
        if value is not None
        and key not in BASE_ATTRIBUTES
        and not key.startswith(RESERVED_PREFIXES)
    }
    return ImageRecord(
        id=raw["id"],
        name=raw.get("name") or "",
        owner=raw.get("owner"),
        visibility=raw.get("visibility") or "private",
        protected=bool(raw.get("protected")),
        status=raw.get("status") or "",
        size=raw.get("size"),
        disk_format=raw.get("disk_format"),
        container_format=raw.get("container_format"),
        min_disk=raw.get("min_disk") or 0,
        min_ram=raw.get("min_ram") or 0,
        tags=tuple(raw.get("tags") or ()),
        properties=properties,
        checksum=raw.get("checksum"),
        os_hash_algo=raw.get("os_hash_algo"),
        os_hash_value=raw.get("os_hash_value"),
        created_at=raw.get("created_at"),
        updated_at=raw.get("updated_at"),
        hidden=bool(raw.get("os_hidden")),
        stores=tuple(s for s in str(raw.get("stores") or "").split(",") if s),
    )


def _settable(key: str, where: str) -> None:
    if key in BASE_ATTRIBUTES or key.startswith(RESERVED_PREFIXES):
        raise errors.BadRequest(f"{key!r} cannot be set on an image", where)


def create_body(spec: ImageSpec, where: str) -> dict[str, Any]:
    """The JSON of ``POST /v2/images`` for *spec*: the record only, no data (openstacksdk's
    create_image would also upload, and add its own owner_specified.openstack.*).

    Raises:
        BadRequest: a property names a Glance attribute or the reserved namespace.
    """
    body: dict[str, Any] = {
        "name": spec.name,
        "disk_format": spec.disk_format,
        "container_format": spec.container_format,
        "visibility": spec.visibility,
        "min_disk": spec.min_disk,
        "min_ram": spec.min_ram,
        "tags": list(spec.tags),
    }
    if spec.image_id:
        body["id"] = spec.image_id
    for key, value in spec.properties.items():
        _settable(key, where)
        body[key] = value
    return body


def patch_ops(attrs: dict[str, Any], where: str) -> list[dict[str, Any]]:
    """A JSON patch setting *attrs* by glint name (``CORE_UPDATES``) or as properties
    (None removes one); every other property of the image is left as it is.

    Raises:
        BadRequest: a key names a Glance attribute glint may not set.
    """
    ops: list[dict[str, Any]] = []
    for key, value in attrs.items():
        if key in CORE_UPDATES:
            ops.append({"op": "replace", "path": f"/{CORE_UPDATES[key]}", "value": value})
            continue
        _settable(key, where)
        if value is None:
            ops.append({"op": "remove", "path": f"/{key}"})
        else:
            ops.append({"op": "add", "path": f"/{key}", "value": value})
    return ops


def stored_hashes(image: ImageRecord) -> dict[str, str]:
    """The hashes Glance computed of an image's data, by algorithm (md5 ``checksum`` and
    the ``os_hash_algo`` multihash, usually sha512)."""
    hashes: dict[str, str] = {}
    if image.checksum:
        hashes["md5"] = image.checksum
    if image.os_hash_algo and image.os_hash_value:
        hashes[image.os_hash_algo] = image.os_hash_value
    return hashes
