"""Conversion with the real qemu-img (Debian's qemu-utils; `.ci/run` installs it): the
bytes come out right with their own sha512, a bad or dangerous source leaves nothing, and
a missing qemu-img is one line naming the package."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from glint_tui.core.catalog.convert import ConversionFailed, ToolMissing, convert
from glint_tui.core.catalog.fetch import fetch
from glint_tui.core.catalog.upstream import resolve
from glint_tui.core.catalog.web import get_text
from glint_tui.core.spool import PARTIAL_PREFIX
from tests.catalog_helpers import catalog, entry_yaml
from tests.mirror import Mirror

MiB = 1 << 20


@pytest.fixture(autouse=True)
def _qemu_img_installed() -> None:
    """Not skipped when missing: CI installs it (`.ci/run`), and a skip would hide that."""
    assert shutil.which("qemu-img"), "qemu-img is missing: apt-get install qemu-utils"


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


@pytest.fixture
def disk(tmp_path: Path) -> tuple[Path, bytes]:
    """A qcow2 made by qemu-img from 4 MiB of random data with a hole in the middle."""
    data = os.urandom(2 * MiB) + bytes(MiB) + os.urandom(MiB)
    raw = tmp_path / "source.raw"
    raw.write_bytes(data)
    qcow2 = tmp_path / "source.qcow2"
    qemu_img("convert", "-f", "raw", "-O", "qcow2", str(raw), str(qcow2))
    raw.unlink()
    return qcow2, data


def test_a_qcow2_becomes_raw_with_the_same_disk_and_its_own_sha512(disk, tmp_path):
    qcow2, data = disk
    out = convert(qcow2, "qcow2", "raw", tmp_path / "spool" / "converted.img")
    assert out.path.read_bytes() == data  # the disk a VM sees is unchanged
    assert out.sha512 == hashlib.sha512(data).hexdigest() and out.size == len(data)
    assert out.content_key == f"sha512:{out.sha512}" and out.virtual_size == len(data)
    assert out.disk_format == "raw"
    assert sorted(p.name for p in out.path.parent.iterdir()) == ["converted.img"]


def test_raw_to_qcow2_and_back_round_trips(disk, tmp_path):
    qcow2, data = disk
    raw = convert(qcow2, "qcow2", "raw", tmp_path / "a.raw")
    again = convert(raw.path, "raw", "qcow2", tmp_path / "b.qcow2")
    assert again.path.read_bytes()[:4] == b"QFI\xfb" and again.sha512 != raw.sha512
    assert convert(again.path, "qcow2", "raw", tmp_path / "c.raw").sha512 == raw.sha512


def test_bytes_that_are_not_the_claimed_format_are_refused_and_nothing_is_left(tmp_path):
    fake = tmp_path / "fake.qcow2"
    fake.write_bytes(os.urandom(MiB))
    dest = tmp_path / "spool" / "out.img"
    with pytest.raises(ConversionFailed) as info:
        convert(fake, "qcow2", "raw", dest)
    assert "cannot read fake.qcow2 as qcow2" in str(info.value) and "\n" not in str(info.value)
    assert not dest.exists() and not list(tmp_path.glob(f"**/{PARTIAL_PREFIX}*"))


def test_a_qcow2_with_a_backing_file_is_refused_so_no_other_file_is_read(disk, tmp_path):
    qcow2, _ = disk
    overlay = tmp_path / "overlay.qcow2"
    qemu_img("create", "-f", "qcow2", "-b", str(qcow2), "-F", "qcow2", str(overlay))
    with pytest.raises(ConversionFailed) as info:
        convert(overlay, "qcow2", "raw", tmp_path / "out.img")
    assert "has a backing file: refused" in str(info.value)
    assert not (tmp_path / "out.img").exists()


def test_a_missing_qemu_img_is_one_line_naming_the_package(disk, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(ToolMissing) as info:
        convert(disk[0], "qcow2", "raw", tmp_path / "out.img")
    message = str(info.value)
    assert "qemu-img not found" in message and "apt-get install qemu-utils" in message
    assert "\n" not in message and info.value.exit_code == 1


def test_formats_qemu_img_cannot_write_are_refused_before_it_runs(disk, tmp_path):
    with pytest.raises(ConversionFailed, match="cannot convert iso images"):
        convert(disk[0], "qcow2", "iso", tmp_path / "out.iso")


def test_the_newest_version_in_sha512sums_is_fetched_verified_and_converted(disk, tmp_path):
    """The bytes path of one catalog version, end to end on a loopback mirror: the
    checksum file names the newest file, the fetch checks it, qemu-img converts it once."""
    qcow2, data = disk
    image = qcow2.read_bytes()
    with Mirror() as mirror:
        mirror.files["d/img-20261120.qcow2"] = image
        mirror.files["d/SHA512SUMS"] = (
            f"{hashlib.sha512(b'old').hexdigest()}  img-20261101.qcow2\n"
            f"{hashlib.sha512(image).hexdigest()}  img-20261120.qcow2\n"
        ).encode()
        source = {
            "checksums_url": mirror.url("d/SHA512SUMS"),
            "pattern": r"img-(?P<version>\d+)\.qcow2",
        }
        newest = resolve(catalog(entry_yaml(source=source)).entries[0], get_text).versions[0]
        spool = tmp_path / "spool"
        got = fetch(newest.url, spool / f"sha512-{newest.checksum.hex}.img", newest.checksum)
    raw = convert(got.path, "qcow2", "raw", spool / "converted.img")
    assert newest.version == "20261120" and got.content_key == f"sha512:{newest.checksum.hex}"
    assert raw.path.read_bytes() == data and raw.sha512 == hashlib.sha512(data).hexdigest()
