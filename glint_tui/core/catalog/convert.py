"""Converting a spooled image with ``qemu-img`` (a cloud that wants raw, say Ceph-backed).

Once per target format: the converted file is written next to the source in the spool
(a locked partial, renamed when complete) and its own sha512 computed — that is its
content key at the clouds that get it; it still carries the source's sha512 as a property
(``naming.image_properties``). The source format is always passed with ``-f`` (qemu-img
never guesses it from the bytes), and a source with a backing file or an external data
file is refused: either would make qemu-img read another file on this host.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glint_tui.core.catalog.entries import CONVERTIBLE
from glint_tui.core.catalog.partial import Partial, PartialBusy, hash_file
from glint_tui.core.errors import GlintError
from glint_tui.core.safetext import escape

QEMU_NAMES = {"vhd": "vpc"}
"""Glance disk format -> qemu-img's name for it, where they differ."""

INSTALL_HINT = (
    "install qemu-img: Debian/Ubuntu `apt-get install qemu-utils`, "
    "Fedora/RHEL `dnf install qemu-img`"
)


class ToolMissing(GlintError):
    """``qemu-img`` is not installed (or not on PATH)."""


class ConversionFailed(GlintError):
    """``qemu-img`` refused or failed; the message has its last line of complaint."""


@dataclass(frozen=True)
class Converted:
    """A converted file: where, its size and sha512, its format."""

    path: Path
    size: int
    sha512: str
    disk_format: str
    virtual_size: int | None = None

    @property
    def content_key(self) -> str:
        return f"sha512:{self.sha512}"


def qemu_img() -> str:
    """The ``qemu-img`` executable, or ToolMissing saying how to install it."""
    tool = shutil.which("qemu-img")
    if tool is None:
        raise ToolMissing(f"qemu-img not found: glint needs it to convert images; {INSTALL_HINT}")
    return tool


def _run(argv: list[str], what: str, timeout: float | None) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except FileNotFoundError:
        raise ToolMissing(f"{argv[0]} not found; {INSTALL_HINT}") from None
    except subprocess.TimeoutExpired:
        raise ConversionFailed(f"{what}: qemu-img took longer than {timeout:g} s") from None
    if done.returncode != 0:
        lines = [ln for ln in (done.stderr or "").splitlines() if ln.strip()]
        why = escape(lines[-1].strip()) if lines else f"exit status {done.returncode}"
        raise ConversionFailed(f"{what}: {why}")
    return done.stdout


def inspect(path: Path, disk_format: str, tool: str, timeout: float | None = 60) -> dict[str, Any]:
    """``qemu-img info`` of *path* read as *disk_format*; refuses backing and data files."""
    what = f"cannot read {path.name} as {disk_format}"
    out = _run(
        [tool, "info", "-f", QEMU_NAMES.get(disk_format, disk_format), "--output=json", str(path)],
        what,
        timeout,
    )
    try:
        info = json.loads(out)
    except ValueError:
        raise ConversionFailed(f"{what}: qemu-img info did not print JSON") from None
    if not isinstance(info, dict):
        raise ConversionFailed(f"{what}: qemu-img info printed no image description")
    data = (info.get("format-specific") or {}).get("data") or {}
    if info.get("backing-filename") or info.get("full-backing-filename"):
        raise ConversionFailed(
            f"{path.name} has a backing file: refused (it would read another file)"
        )
    if isinstance(data, dict) and data.get("data-file"):
        raise ConversionFailed(f"{path.name} has an external data file: refused")
    return info


def convert(
    src: Path,
    src_format: str,
    dst_format: str,
    dest: Path,
    *,
    tool: str | None = None,
    timeout: float | None = None,
) -> Converted:
    """Convert *src* (in *src_format*) to *dst_format* at *dest*; its sha512 computed.

    Raises:
        ToolMissing: qemu-img is not installed.
        ConversionFailed: the source is not a valid *src_format* image, has a backing
            file, or qemu-img failed (disk full, …); nothing is left at *dest*.
    """
    for fmt in (src_format, dst_format):
        if fmt not in CONVERTIBLE:
            raise ConversionFailed(f"qemu-img cannot convert {fmt} images")
    if src_format == dst_format:
        raise ValueError("nothing to convert: the formats are the same")
    tool = tool or qemu_img()
    info = inspect(Path(src), src_format, tool)
    partial = Partial(Path(dest), "convert")
    try:
        partial.open()
    except PartialBusy:
        raise ConversionFailed(f"another glint run is converting to {dest} now") from None
    try:
        _run(
            [
                tool,
                "convert",
                "-q",
                "-f",
                QEMU_NAMES.get(src_format, src_format),
                "-O",
                QEMU_NAMES.get(dst_format, dst_format),
                str(src),
                str(partial.path),
            ],
            f"cannot convert {Path(src).name} from {src_format} to {dst_format}",
            timeout,
        )
        size = os.stat(partial.path).st_size
        sha512 = hash_file(partial.path).hex("sha512")
        path = partial.publish()
    except BaseException:
        partial.discard()
        raise
    virtual = info.get("virtual-size")
    return Converted(path, size, sha512, dst_format, virtual if isinstance(virtual, int) else None)
