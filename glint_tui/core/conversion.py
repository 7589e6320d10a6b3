"""Whether a copy can be converted on this host for a column that takes one format only.

EC2 takes raw disks only; a qcow2 (or vmdk, vdi, vhd, vhdx) image bound there is converted
with ``qemu-img`` on this host first (``core.transfer.conversion`` does it in the run).
The plan asks here, before anything moves, so a missing ``qemu-img`` or a format it
cannot read is a refusal with one line saying why, never a failure halfway through.
"""

from __future__ import annotations

from collections.abc import Sequence

from glint_tui.core.catalog.convert import ToolMissing, qemu_img
from glint_tui.core.catalog.entries import CONVERTIBLE


def conversion_for(disk_format: str, takes: Sequence[str], content_key: str) -> str:
    """The format an image of *disk_format* is converted to for a column that takes only
    *takes* (raw where it is one of them), or a one-line reason it cannot be.

    The source must have a sha512 (*content_key*): the converted copy carries it as its
    identity (``ImageRecord.identity_key``)."""
    want = "raw" if "raw" in takes else takes[0]
    if disk_format not in CONVERTIBLE or want not in CONVERTIBLE:
        return f"qemu-img cannot convert {disk_format} images to {want}"
    if not content_key.startswith("sha512:"):
        return "the source has no sha512 for its converted copy to carry"
    try:
        qemu_img()
    except ToolMissing as e:
        return str(e)
    return want
