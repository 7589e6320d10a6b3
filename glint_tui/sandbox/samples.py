"""Generated sample image data: real enough for Glance's format checks, no downloads.

Glance 33 inspects uploads and refuses bytes that do not match ``disk_format``, so a
qcow2 sample needs a genuine qcow2 header and an ISO a genuine volume descriptor.
Data is derived from a seed so every sandbox gets the same content keys.
"""

from __future__ import annotations

import random
import struct

MiB = 1 << 20
_CLUSTER = 1 << 16


def payload(seed: str, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def raw_image(seed: str, size: int) -> bytes:
    return payload(seed, size)


def qcow2_image(seed: str, size: int, virtual_size: int = 1 << 30) -> bytes:
    """A qcow2 v2 file: header, refcount table/block, one L1 table, then unreferenced data."""
    l2_entries = _CLUSTER // 8
    l1_size = -(-virtual_size // (_CLUSTER * l2_entries))
    header = struct.pack(
        ">4sIQIIQIIQQIIQ",
        b"QFI\xfb",
        2,  # version
        0,  # backing_file_offset
        0,  # backing_file_size
        16,  # cluster_bits: 64 KiB clusters
        virtual_size,
        0,  # crypt_method
        l1_size,
        3 * _CLUSTER,  # l1_table_offset
        1 * _CLUSTER,  # refcount_table_offset
        1,  # refcount_table_clusters
        0,  # nb_snapshots
        0,  # snapshots_offset
    )
    image = bytearray(4 * _CLUSTER)
    image[: len(header)] = header
    image[_CLUSTER : _CLUSTER + 8] = struct.pack(">Q", 2 * _CLUSTER)  # refcount block at 2
    for cluster in range(4):  # the four metadata clusters are in use
        image[2 * _CLUSTER + 2 * cluster : 2 * _CLUSTER + 2 * cluster + 2] = struct.pack(">H", 1)
    image += payload(seed, max(0, size - len(image)))
    return bytes(image)


def iso_image(seed: str, size: int) -> bytes:
    """An ISO 9660 file: 32 KiB system area, a primary volume descriptor, a terminator."""
    sector = 2048
    blocks = max(18, size // sector)
    pvd = bytearray(sector)
    pvd[0] = 1
    pvd[1:6] = b"CD001"
    pvd[6] = 1
    pvd[40:72] = b"GLINT_SANDBOX".ljust(32)
    pvd[80:88] = struct.pack("<I", blocks) + struct.pack(">I", blocks)
    pvd[128:132] = struct.pack("<H", sector) + struct.pack(">H", sector)
    terminator = bytearray(sector)
    terminator[0] = 255
    terminator[1:6] = b"CD001"
    terminator[6] = 1
    image = bytearray(16 * sector) + pvd + terminator
    image += payload(seed, blocks * sector - len(image))
    return bytes(image)


BUILDERS = {"raw": raw_image, "qcow2": qcow2_image, "iso": iso_image}
