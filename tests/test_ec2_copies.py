"""Copies between OpenStack (real Keystone + Glance) and EC2 (moto in server mode) through
`glint` itself: the matrix, plan, engine, journal and reconcile, unchanged.

What this proves against moto: the bytes an EC2 destination holds are the source's (glint
reads every block back and compares sha512 before it registers an AMI; moto itself checks
no block checksum), an EC2 source feeds Glance the right bytes (Glance's own sha512), a
sparse image sends only its data blocks, a delete removes AMI and snapshot, and a killed
upload is cleaned by reconcile. What it does not: that AWS accepts the same calls.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from glint_tui.core import journal as jn
from glint_tui.core.clouds.ec2.blocks import BLOCK
from glint_tui.core.services import Services
from tests.helpers import glint, put, random_bytes, sha512, unique, wait_for

EAST = "ec2/us-east-1"


@pytest.fixture(scope="module")
def ec2_column(sandbox, moto_ec2):
    """Repository ``ec2`` in the bed's profile for this module only (other tests' matrices
    keep their columns)."""
    sandbox.sandbox.register_ec2(moto_ec2.url)
    try:
        yield moto_ec2
    finally:
        Services(sandbox.paths).delete_repository("ec2")


def journal_entries(sandbox, name: str, kind: str) -> list[dict]:
    """The journal's *kind* entries of the transfers that made an image called *name*."""
    out = []
    for path in jn.journal_files(sandbox.paths):
        log = jn.read_run(path)
        ids = {e.get("transfer_id") for e in log.entries if e.get("name") == name}
        out += [e for e in log.entries if e["kind"] == kind and e.get("transfer_id") in ids]
    return out


def amis_named(bed, name: str, region: str = "us-east-1") -> list[dict]:
    tagged = [{"Name": "tag:glint_source_name", "Values": [name]}]
    return bed.client("ec2", region).describe_images(Owners=["self"], Filters=tagged)["Images"]


def test_openstack_to_moto_ec2_copy_is_read_back_by_glint_and_tagged_with_the_source_sha512(
    sandbox, ec2_column
):
    data = bytearray(9 * BLOCK + 777)  # sparse: 10 blocks, 3 hold data
    for i in (0, 4, 9):
        data[i * BLOCK : i * BLOCK + 4096] = random_bytes(4096)
    src = put(sandbox, "c1:alpha", unique("to-ec2"), bytes(data), hw_firmware_type="uefi")
    done = glint(sandbox, "copy", src.id, "--from", "c1:alpha", "--to", EAST)
    assert done.returncode == 0, done.stderr
    (ami,) = amis_named(ec2_column, src.name)
    tags = {t["Key"]: t["Value"] for t in ami["Tags"]}
    assert tags["glint_sha512"] == src.os_hash_value == sha512(bytes(data))
    assert tags["glint_size"] == str(len(data)) and tags["hw_firmware_type"] == "uefi"
    snapshot = tags["glint_snapshot_id"]
    verified = journal_entries(sandbox, src.name, jn.VERIFIED)
    assert [e["image_id"] for e in verified] == [ami["ImageId"]]  # the AMI, not the pending id
    blocks = ec2_column.client("ebs").list_snapshot_blocks(SnapshotId=snapshot)["Blocks"]
    assert sorted(b["BlockIndex"] for b in blocks) == [0, 4, 9]  # only the data blocks
    listed = glint(sandbox, "images", "--project", EAST)
    assert src.name in listed.stdout


def test_images_project_lists_an_ec2_region_column_by_each_of_its_names(sandbox, ec2_column):
    """`--project` takes the names glint prints for an EC2 column (against moto)."""
    for name in (EAST, "ec2:us-east-1"):
        r = glint(sandbox, "images", "--project", name, "--json")
        assert r.returncode == 0, r.stderr
        (column,) = json.loads(r.stdout)["columns"]
        assert column["ref"].startswith(f"{EAST}:") and column["error"] is None, column


def test_moto_ec2_to_openstack_copy_is_verified_by_glance_sha512(sandbox, ec2_column):
    data = random_bytes(3 * BLOCK + 5)
    src = put(sandbox, "c1:alpha", unique("roundtrip"), data)
    assert glint(sandbox, "copy", src.id, "--from", "c1:alpha", "--to", EAST).returncode == 0
    (ami,) = amis_named(ec2_column, src.name)
    done = glint(sandbox, "copy", ami["ImageId"], "--from", EAST, "--to", "c2:alpha")
    assert done.returncode == 0, done.stderr
    with sandbox.session("c2:alpha") as s:
        (copy,) = [i for i in s.list_images(name=src.name)]
    assert copy.os_hash_value == sha512(data)  # Glance hashed what EC2 gave glint


def qemu_img(*args: str) -> None:
    subprocess.run(["qemu-img", *args], check=True, capture_output=True)


def snapshot_bytes(bed, snapshot_id: str, size: int) -> bytes:
    """The first *size* bytes of a snapshot as EBS returns them (unlisted blocks: zeros)."""
    ebs = bed.client("ebs")
    listed = ebs.list_snapshot_blocks(SnapshotId=snapshot_id)
    out = bytearray(size)
    for block in listed["Blocks"]:
        got = ebs.get_snapshot_block(
            SnapshotId=snapshot_id, BlockIndex=block["BlockIndex"], BlockToken=block["BlockToken"]
        )
        start = block["BlockIndex"] * BLOCK
        out[start : start + BLOCK] = got["BlockData"].read()[: max(0, size - start)]
    return bytes(out[:size])


def test_a_qcow2_copied_to_c2_and_moto_ec2_in_one_run_is_converted_to_raw_only_for_ec2(
    sandbox, ec2_column, tmp_path
):
    """c2 gets the qcow2 bytes (Glance's sha512); EC2 gets an AMI whose blocks read back
    equal ``qemu-img convert -O raw`` of the same file (moto checks no block checksum:
    glint's own read-back and this test's are what prove it), tagged with the source's
    sha512, in the source's row of the matrix. The AMI is not counted as a copy of the
    qcow2 bytes: with c1's copy deleted, c2's is the last one."""
    raw = bytearray(3 * BLOCK)
    raw[:4096], raw[2 * BLOCK : 2 * BLOCK + 4096] = random_bytes(4096), random_bytes(4096)
    (tmp_path / "disk.raw").write_bytes(bytes(raw))
    qemu_img("convert", "-f", "raw", "-O", "qcow2", str(tmp_path / "disk.raw"), str(tmp_path / "q"))
    data = (tmp_path / "q").read_bytes()
    src = put(sandbox, "c1:alpha", unique("qcow"), data, disk_format="qcow2")
    done = glint(
        sandbox, "copy", src.id, "--from", "c1:alpha", "--to", EAST, "--to", "c2:alpha", "--json"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads(done.stdout)
    targets = {t["ref"]: t for c in doc["plan"]["copies"] for t in c["targets"]}
    (east_target,) = [t for ref, t in targets.items() if ref.startswith(EAST)]
    assert east_target["convert_to"] == "raw"
    assert east_target["method_note"] == "converted to raw on this host"
    assert targets["c2:alpha"]["convert_to"] is None
    assert "converting the spool's copy (checked)" in done.stderr  # c1 was read once
    assert doc["result"]["source_reads"] == 2  # c1 for c2 (teed to the spool), the raw file
    assert not list((sandbox.paths.spool_dir / "convert").glob("*.img"))  # cleaned up
    with sandbox.session("c2:alpha") as s:
        (copy,) = s.list_images(name=src.name)
    assert copy.os_hash_value == src.os_hash_value == sha512(data) and copy.disk_format == "qcow2"
    (ami,) = amis_named(ec2_column, src.name)
    tags = {t["Key"]: t["Value"] for t in ami["Tags"]}
    assert tags["glint_source_sha512"] == sha512(data) and tags["glint_converted_from"] == "qcow2"
    back = snapshot_bytes(ec2_column, tags["glint_snapshot_id"], int(tags["glint_size"]))
    assert back == bytes(raw) and tags["glint_sha512"] == sha512(bytes(raw))
    listed = glint(sandbox, "images", "--json")
    rows = [r for r in json.loads(listed.stdout)["rows"] if r["name"] == src.name]
    (row,) = rows  # one row: the converted AMI is not a stranger
    assert row["content_key"] == f"sha512:{sha512(data)}"
    (east,) = [c for ref, c in row["cells"].items() if ref.startswith(EAST)]
    assert east["images"][0]["converted_from"] == "qcow2"
    again = glint(sandbox, "copy", src.id, "--from", "c1:alpha", "--to", EAST)
    assert again.returncode == 0 and "nothing to do" in again.stderr
    gone = glint(sandbox, "delete", src.id, "--from", "c1:alpha", "--yes")
    assert gone.returncode == 0, gone.stdout + gone.stderr  # c2's copy keeps the content
    last = glint(sandbox, "delete", copy.id, "--from", "c2:alpha", "--yes")
    assert last.returncode == 1 and "last copy" in last.stderr  # the AMI is other bytes


def test_a_qcow2_copied_only_to_moto_ec2_without_the_cache_is_downloaded_checked_and_converted(
    sandbox, ec2_column, tmp_path
):
    """No spool (``--no-cache``) and no other destination: the conversion downloads the
    source itself into ``<spool>/convert/``, checks it, and removes it afterwards. (moto
    checks no block checksum; the read-back here compares the raw bytes.)"""
    raw = random_bytes(2 * BLOCK)
    (tmp_path / "disk.raw").write_bytes(raw)
    qemu_img("convert", "-f", "raw", "-O", "qcow2", str(tmp_path / "disk.raw"), str(tmp_path / "q"))
    data = (tmp_path / "q").read_bytes()
    src = put(sandbox, "c1:alpha", unique("qcow-nc"), data, disk_format="qcow2")
    done = glint(sandbox, "copy", src.id, "--from", "c1:alpha", "--to", EAST, "--no-cache")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "downloaded and checked for conversion" in done.stderr
    (ami,) = amis_named(ec2_column, src.name)
    tags = {t["Key"]: t["Value"] for t in ami["Tags"]}
    assert tags["glint_source_sha512"] == sha512(data)
    assert snapshot_bytes(ec2_column, tags["glint_snapshot_id"], len(raw)) == raw
    assert not list((sandbox.paths.spool_dir / "convert").glob("*.img"))


def test_delete_from_moto_ec2_deregisters_and_deletes_the_snapshot_while_a_copy_remains(
    sandbox, ec2_column
):
    src = put(sandbox, "c1:alpha", unique("del-ec2"), random_bytes(BLOCK))
    assert glint(sandbox, "copy", src.id, "--from", "c1:alpha", "--to", EAST).returncode == 0
    (ami,) = amis_named(ec2_column, src.name)
    snapshot = {t["Key"]: t["Value"] for t in ami["Tags"]}["glint_snapshot_id"]
    done = glint(sandbox, "delete", ami["ImageId"], "--from", EAST, "--yes")
    assert done.returncode == 0, done.stderr
    assert amis_named(ec2_column, src.name) == []
    left = ec2_column.client("ec2").describe_snapshots(OwnerIds=["self"])["Snapshots"]
    assert snapshot not in {s["SnapshotId"] for s in left}
    last = glint(sandbox, "delete", src.id, "--from", "c1:alpha", "--yes")
    assert last.returncode == 1 and "last copy" in last.stderr  # the EC2 copy is gone


def start_slow_copy(sandbox, image_id: str) -> subprocess.Popen:
    """`glint copy` of *image_id* to EC2 at 4 MiB/s, as a user runs it, in the background."""
    return subprocess.Popen(
        [sys.executable, "-m", "glint_tui", "copy", image_id, "--from", "c1:alpha", "--to", EAST,
         "--max-rate", "4M", "--no-cache"],
        env=sandbox.env(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def snapshots_of(bed, name: str) -> list[dict]:
    """The account's snapshots glint tagged as made from an image called *name*."""
    return bed.client("ec2").describe_snapshots(
        OwnerIds=["self"], Filters=[{"Name": "tag:glint_source_name", "Values": [name]}]
    )["Snapshots"]


def stop(proc: subprocess.Popen, sig: int) -> None:
    os.kill(proc.pid, sig)
    try:
        proc.wait(60)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


def test_a_killed_upload_to_moto_ec2_leaves_a_snapshot_that_reconcile_deletes(sandbox, ec2_column):
    src = put(sandbox, "c1:alpha", unique("killed"), random_bytes(48 << 20))
    proc = start_slow_copy(sandbox, src.id)
    try:
        wait_for(lambda: snapshots_of(ec2_column, src.name) or None, 60, "the upload's snapshot")
    finally:
        stop(proc, signal.SIGKILL)
    assert snapshots_of(ec2_column, src.name) and amis_named(ec2_column, src.name) == []
    done = glint(sandbox, "reconcile")
    assert done.returncode == 0, done.stdout + done.stderr
    assert snapshots_of(ec2_column, src.name) == []


def test_an_interrupted_upload_to_moto_ec2_deletes_its_snapshot_before_glint_exits(
    sandbox, ec2_column
):
    """SIGTERM (what Ctrl-C, ``kill`` or a container stop sends) cancels the copy: glint
    itself deletes the half-written snapshot, registers no AMI, and leaves reconcile
    nothing to do."""
    src = put(sandbox, "c1:alpha", unique("interrupted"), random_bytes(48 << 20))
    proc = start_slow_copy(sandbox, src.id)
    try:
        made = wait_for(lambda: snapshots_of(ec2_column, src.name) or None, 60, "a snapshot")
    finally:
        stop(proc, signal.SIGTERM)
    assert proc.returncode == 130, proc.stderr.read()
    assert snapshots_of(ec2_column, src.name) == []
    assert amis_named(ec2_column, src.name) == []
    done = glint(sandbox, "reconcile")
    assert done.returncode == 0, done.stdout + done.stderr
    assert not any(snap["SnapshotId"] in done.stdout for snap in made)  # glint had done it
