"""``glint upload FILE``: a new image from a file, to several places at once, verified at
each like a copy, with its properties; never over a different image of the same name;
bad input is one line, exit 2. On the real sandbox clouds."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from glint_tui.core.journal import TRANSFER_PROPERTY
from tests.helpers import at, glint, put, random_bytes, unique

MiB = 1 << 20


def _file(tmp_path: Path, size: int = 3 * MiB) -> tuple[Path, str]:
    path = tmp_path / "disk.raw"
    data = random_bytes(size)
    path.write_bytes(data)
    return path, hashlib.sha512(data).hexdigest()


def test_upload_puts_the_file_at_every_destination_verified_with_its_properties(sandbox, tmp_path):
    path, digest = _file(tmp_path)
    name = unique("uploaded")
    done = glint(sandbox, "upload", str(path), "--name", name, "--to", "c1:alpha",
                 "--to", "c2:beta", "--property", "os_distro=glinttest", "--property",
                 "note=made by a test")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "2 done, 0 failed, 0 refused" in done.stderr
    assert "to read from disk.raw on this host" in done.stderr, "a file is read, not downloaded"
    assert "to download" not in done.stderr
    for ref in ("c1:alpha", "c2:beta"):
        [image] = at(sandbox, ref, name)
        assert image.status == "active" and image.os_hash_value == digest
        assert image.disk_format == "raw" and image.size == path.stat().st_size
        assert image.properties["os_distro"] == "glinttest"
        assert image.properties["note"] == "made by a test"
        assert image.properties[TRANSFER_PROPERTY]  # journalled like every copy
    again = glint(sandbox, "upload", str(path), "--name", name, "--to", "c1:alpha")
    assert again.returncode == 0, again.stderr
    assert f"c1:alpha already has {name} with these bytes" in again.stderr
    assert len(at(sandbox, "c1:alpha", name)) == 1, "not uploaded twice"


def test_upload_never_goes_over_a_different_image_of_the_same_name(sandbox, tmp_path):
    name = unique("taken")
    other = put(sandbox, "c1:alpha", name)
    path, _ = _file(tmp_path, 1 * MiB)
    done = glint(sandbox, "upload", str(path), "--name", name, "--to", "c1:alpha")
    assert done.returncode == 1
    assert f"refused: copy {name} at c1:alpha: an image named '{name}' with other bytes" in (
        done.stderr
    )
    assert [i.id for i in at(sandbox, "c1:alpha", name)] == [other.id]


@pytest.mark.skipif(shutil.which("qemu-img") is None, reason="needs qemu-img (qemu-utils)")
def test_upload_takes_the_disk_format_the_file_announces(sandbox, tmp_path):
    path = tmp_path / "disk.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "16M"], check=True)
    name = unique("qcow")
    done = glint(sandbox, "upload", str(path), "--name", name, "--to", "c3:alpha")
    assert done.returncode == 0, done.stderr
    [image] = at(sandbox, "c3:alpha", name)
    assert image.disk_format == "qcow2" and image.status == "active"  # Glance checked it


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["missing.raw", "--name", "x", "--to", "c1:alpha"], "missing.raw: no such file"),
        (["FILE", "--name", "x", "--to", "c1:alpha", "--property", "size=3"], "--property size"),
        (["FILE", "--name", "x", "--to", "c1:alpha", "--property", "nokey"], "KEY=VALUE"),
        (["FILE", "--name", "x", "--to", "c9:alpha"], "c9:alpha is not a configured"),
    ],
    ids=["no-file", "reserved-property", "not-key-value", "unknown-place"],
)
def test_upload_bad_input_is_one_line_exit_2(sandbox, tmp_path, args, expected):
    path, _ = _file(tmp_path, 4096)
    args = [str(path) if a == "FILE" else str(tmp_path / a) if a.endswith(".raw") else a
            for a in args]  # fmt: skip
    done = glint(sandbox, "upload", *args)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "Traceback" not in done.stderr
