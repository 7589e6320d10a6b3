"""OpenStack -> EC2 throughput: ``glint copy`` against a plain boto3 PutSnapshotBlock loop.

One private sandbox cloud (c1, real Keystone + Glance) and the EC2 emulator (moto in server
mode) on loopback, in a temporary GLINT_HOME; an image of random bytes (every block has
data, so both sides send every block) is put on c1:alpha, then, side by side:

(a) boto3 loop: StartSnapshot, one PutSnapshotBlock per 512 KiB block (SHA-256 each),
    CompleteSnapshot, sequentially, from a local file (no download, no read-back, no AMI):
    the same block calls with nothing else around them;
(b) ``glint copy IMAGE --from c1:alpha --to ec2/us-east-1`` as a subprocess, end to end:
    Glance download, sha512 of the stream, blocks in parallel, read-back of every block,
    RegisterImage.

    .venv/bin/python bench/ec2.py                 # 1 GiB, 1 round
    .venv/bin/python bench/ec2.py --size 256M --rounds 3

moto keeps every block in memory (about size x (rounds x 2) in RAM). What it measures is
the client side on this machine against moto, not AWS.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MiB = 1 << 20
BLOCK = 512 * 1024


def parse_size(text: str) -> int:
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def boto3_loop(url: str, path: Path, size: int) -> float:
    import boto3

    from glint_tui.sandbox.ec2 import DUMMY_KEY_ID, DUMMY_SECRET

    keys = {"aws_access_key_id": DUMMY_KEY_ID, "aws_secret_access_key": DUMMY_SECRET}
    ebs = boto3.client("ebs", region_name="us-east-1", endpoint_url=url, **keys)
    start = time.monotonic()
    snap = ebs.start_snapshot(VolumeSize=max(1, -(-size // (1 << 30))))["SnapshotId"]
    digests = []
    with open(path, "rb") as f:
        index = 0
        while block := f.read(BLOCK):
            block = block.ljust(BLOCK, b"\0")
            digest = hashlib.sha256(block).digest()
            ebs.put_snapshot_block(SnapshotId=snap, BlockIndex=index, BlockData=block,
                                   DataLength=BLOCK, ChecksumAlgorithm="SHA256",
                                   Checksum=base64.b64encode(digest).decode())  # fmt: skip
            digests.append(digest)
            index += 1
    total = base64.b64encode(hashlib.sha256(b"".join(digests)).digest()).decode()
    ebs.complete_snapshot(
        SnapshotId=snap,
        ChangedBlocksCount=len(digests),
        Checksum=total,
        ChecksumAlgorithm="SHA256",
        ChecksumAggregationMethod="LINEAR",
    )
    return time.monotonic() - start


def glint_copy(env: dict[str, str], image_id: str) -> float:
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "glint_tui", "copy", image_id, "--from", "c1:alpha",
         "--to", "ec2/us-east-1", "--no-cache", "-q"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"glint copy failed: {done.stderr}")
    took = time.monotonic() - start
    gone = subprocess.run(  # the next round copies again
        [sys.executable, "-m", "glint_tui", "delete", "bench-ec2", "--from", "ec2/us-east-1",
         "--yes", "-q"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if gone.returncode != 0:
        raise SystemExit(f"glint delete failed: {gone.stderr}")
    return took


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="1G")
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    size = parse_size(args.size)
    home = Path(tempfile.mkdtemp(prefix="glint-ec2-bench-"))
    os.environ.update(GLINT_HOME=str(home), GLINT_PROFILE="sandbox")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from glint_tui.core.clouds import open_session
    from glint_tui.core.clouds.base import ImageSpec
    from glint_tui.core.paths import paths_for
    from glint_tui.sandbox.manager import Sandbox
    from tests.helpers import free_port_base

    sb = Sandbox(paths_for("sandbox"), port_base=free_port_base(1))
    try:
        sb.up(1, seed=False, progress=lambda line: print(line, file=sys.stderr))
        sb.up_ec2(lambda line: print(line, file=sys.stderr))
        data_file = home / "image.raw"
        with open(data_file, "wb") as f:
            for _ in range(size // MiB):
                f.write(os.urandom(MiB))
        cred, secret = sb.member_credentials(sb.cloud("c1"))[0]
        with open_session(sb.repository(sb.cloud("c1")), cred, secret) as s:
            rec = s.create_image(ImageSpec("bench-ec2", "raw"))
            with open(data_file, "rb") as f:
                s.upload(rec.id, f, size)
        a_times, b_times = [], []
        for round_ in range(args.rounds):
            a_times.append(boto3_loop(sb.moto.url, data_file, size))
            b_times.append(glint_copy(dict(os.environ), rec.id))
            print(f"round {round_ + 1}: boto3 loop {a_times[-1]:.1f} s, glint copy "
                  f"{b_times[-1]:.1f} s", file=sys.stderr)  # fmt: skip
        a, b = statistics.median(a_times), statistics.median(b_times)
        mib = size / MiB
        print(f"size {mib:.0f} MiB, {args.rounds} round(s), medians:")
        print(f"  (a) boto3 PutSnapshotBlock loop, local file : {a:6.1f} s  {mib / a:7.1f} MiB/s")
        print(f"  (b) glint copy c1:alpha -> ec2/us-east-1    : {b:6.1f} s  {mib / b:7.1f} MiB/s")
        print(f"  glint / loop time ratio: {b / a:.2f}")
    finally:
        sb.down()
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
