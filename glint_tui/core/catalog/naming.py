"""How catalog images are named and marked in the clouds (docs/catalog.md, "Names").

* Every version is created under its versioned name, ``debian-12 (20261120)``, and keeps
  it for life — except the newest version of a column, which is renamed to the plain name
  ``debian-12`` once it verified there (and renamed back when a newer one takes over).
* Every image glint makes from the catalog carries the ``glint_catalog_*`` /
  ``glint_source_*`` properties below. Identity is read from them, never from the name:
  a rename changes the matrix row (rows are name + content) but never what the planner
  believes an image is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from glint_tui.core.catalog.entries import Checksum, Entry
from glint_tui.core.model import CONVERTED_FROM_PROPERTY, SOURCE_SHA512_PROPERTY, ImageRecord

ENTRY = "glint_catalog_entry"
VERSION = "glint_catalog_version"
SOURCE_SHA512 = SOURCE_SHA512_PROPERTY
SOURCE_CHECKSUM = "glint_source_checksum"
SOURCE_URL = "glint_source_url"
CONVERTED_FROM = CONVERTED_FROM_PROPERTY
RETIRED_AT = "glint_catalog_retired_at"
GLINT_PREFIX = "glint_"

RESERVED_PROPERTIES = frozenset(
    {
        "id", "name", "status", "visibility", "protected", "os_hidden", "owner", "size",
        "virtual_size", "checksum", "os_hash_algo", "os_hash_value", "disk_format",
        "container_format", "min_disk", "min_ram", "tags", "locations", "direct_url",
        "created_at", "updated_at", "file", "schema", "self", "stores",
    }
)  # fmt: skip
"""Image attributes Glance owns or that have their own catalog key: not ``properties``."""


def is_glint_property(key: str) -> bool:
    return key.startswith(GLINT_PREFIX)


def versioned_name(entry: str, version: str, disk_format: str | None = None) -> str:
    """``debian-12 (20261120)``; with *disk_format*, ``debian-12 (20261120, qcow2)``: the
    name a copy in a format the column no longer wants steps aside to."""
    return f"{entry} ({version}, {disk_format})" if disk_format else f"{entry} ({version})"


def image_properties(
    entry: Entry,
    version: str,
    url: str,
    checksum: Checksum,
    sha512: str | None,
    disk_format: str,
) -> dict[str, str]:
    """Everything a new image of *version* carries: the entry's properties, then glint's.

    ``sha512`` is the source file's sha512 when known (it is the upstream checksum when
    that is sha512; else glint learns it while fetching and the caller adds it then)."""
    props = dict(entry.properties)
    props.update({ENTRY: entry.name, VERSION: version, SOURCE_CHECKSUM: str(checksum)})
    props[SOURCE_URL] = url
    if sha512 or checksum.is_sha512:
        props[SOURCE_SHA512] = sha512 or checksum.hex
    if disk_format != entry.disk_format:
        props[CONVERTED_FROM] = entry.disk_format
    return props


@dataclass(frozen=True)
class CatalogMark:
    """What glint's properties say an image is."""

    entry: str
    version: str
    source_checksum: str | None
    source_sha512: str | None
    converted_from: str | None
    retired_at: str | None


def mark_of(image: ImageRecord) -> CatalogMark | None:
    """The catalog identity an image carries, or None when it is not a catalog image."""
    props = image.properties or {}
    entry, version = props.get(ENTRY), props.get(VERSION)
    if not isinstance(entry, str) or not isinstance(version, str) or not entry or not version:
        return None

    def text(key: str) -> str | None:
        value = props.get(key)
        return value.lower() if isinstance(value, str) and value else None

    return CatalogMark(
        entry,
        version,
        text(SOURCE_CHECKSUM),
        text(SOURCE_SHA512),
        text(CONVERTED_FROM),
        props.get(RETIRED_AT) if isinstance(props.get(RETIRED_AT), str) else None,
    )


def format_time(when: dt.datetime) -> str:
    """``2026-11-20T10:00:00Z``: how ``glint_catalog_retired_at`` is written (UTC)."""
    return when.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str | None) -> dt.datetime | None:
    """A ``format_time`` value back (any ISO 8601 with a zone); None if unreadable."""
    if not text:
        return None
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else None
