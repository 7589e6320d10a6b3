"""Cloud-side copies vs a streamed copy, in raw HTTP (no glint engine yet), side by side.

Starts its own shaped sandbox (c1 with RegionOne + RegionTwo, two file stores each) and, per
size and round, times four copies of one source image in RegionOne:

(a) glance-download: RegionTwo's Glance pulls the image (``POST …/import``), polled until
    the image is active and Glance's import task has finished;
(b) stream to RegionTwo: GET from RegionOne feeding a chunked PUT to RegionTwo, sha512 on
    the fly (what glint's engine does for one destination);
(c) copy-image: RegionOne's Glance adds its store ``second`` to the same image;
(d) stream to store ``second``: the same stream into a new image in store ``second``.

It prints wall seconds, bytes through this process (counted where they pass: response and
request bodies; ``/proc/self/io`` does not count socket traffic) and the ratios stream /
cloud-side, with medians over the rounds (rotated order, so a noisy neighbour hurts all
methods alike).

    .venv/bin/python bench/cloudside_raw.py --size 256M --size 1G --rounds 3
    .venv/bin/python bench/cloudside_raw.py --keep        # leave the clouds running
    .venv/bin/python bench/cloudside_raw.py --down        # stop and wipe them

The clouds live under ``--home`` (default ``$TMPDIR/glint-cloudside-bench``), never in the
operator's own profile. Stage 2 adds glint's own methods (``glint copy --method``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MiB = 1 << 20
CHUNK = 4 * MiB
DEFAULT_HOME = Path(tempfile.gettempdir()) / "glint-cloudside-bench"
METHODS = ("a", "b", "c", "d")
NAMES = {
    "a": "glance-download",
    "b": "stream to RegionTwo",
    "c": "copy-image",
    "d": "stream to store",
}


def parse_size(text: str) -> int:
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


class Counter:
    """Bytes of HTTP bodies this process read or wrote (image data and JSON alike)."""

    total = 0

    @classmethod
    def add(cls, n: int) -> None:
        cls.total += n


class Bed:
    """The shaped sandbox and an admin session scoped to project alpha (copy-image's policy)."""

    def __init__(self, home: Path) -> None:
        os.environ["GLINT_HOME"] = str(home)
        from glint_tui.core.paths import SANDBOX_PROFILE, paths_for
        from glint_tui.sandbox.manager import Sandbox

        self.sandbox = Sandbox(paths_for(SANDBOX_PROFILE))

    def up(self) -> None:
        from glint_tui.sandbox.shapes import Shape, shape_ports
        from tests.helpers import free_port_base

        shape = Shape(regions=2, stores=2)
        if not self.sandbox.running:
            if not self.sandbox.count:
                self.sandbox.port_base = free_port_base(1, shape_ports, shape)
            self.sandbox.up(1, seed=False, progress=print, shape=shape)
        from keystoneauth1 import session
        from keystoneauth1.identity import v3

        c1 = self.sandbox.cloud("c1")
        auth = v3.Password(
            auth_url=c1.keystone_url + "/v3",
            username="admin",
            password="admin-pass",
            project_name="alpha",
            user_domain_name="Default",
            project_domain_name="Default",
        )
        self.s = session.Session(auth=auth)
        self.r1, self.r2 = (g.url for g in c1.glances[:2])

    def create(self, url: str, name: str) -> str:
        body = {"name": name, "disk_format": "raw", "container_format": "bare"}
        return self.s.post(url + "/v2/images", json=body).json()["id"]

    def image(self, url: str, image_id: str) -> dict:
        r = self.s.get(url + f"/v2/images/{image_id}")
        Counter.add(len(r.content))
        return r.json()

    def post(self, url: str, body: dict) -> None:
        r = self.s.post(url, json=body)
        Counter.add(len(json.dumps(body)) + len(r.content))

    def upload_random(self, size: int) -> tuple[str, str]:
        image_id = self.create(self.r1, f"bench-src-{size}")
        block = os.urandom(CHUNK)
        digest = hashlib.sha512()

        def gen() -> Iterator[bytes]:
            for i in range(size // CHUNK):
                chunk = i.to_bytes(8, "little") + block[8:]
                digest.update(chunk)
                yield chunk

        headers = {"Content-Type": "application/octet-stream"}
        self.s.put(self.r1 + f"/v2/images/{image_id}/file", data=gen(), headers=headers)
        assert self.image(self.r1, image_id)["os_hash_value"] == digest.hexdigest()
        return image_id, digest.hexdigest()

    def wait_import(self, url: str, image_id: str, done: Callable[[dict], bool]) -> None:
        """Until *done* and Glance dropped its import lock (the task has finished)."""
        deadline = time.monotonic() + 1800
        while time.monotonic() < deadline:
            im = self.image(url, image_id)
            if im["status"] == "queued" and im.get("os_glance_failed_import"):
                raise SystemExit(f"import failed: {im}")
            if done(im) and not im.get("os_glance_import_task"):
                return
            time.sleep(0.2)
        raise SystemExit("import did not finish in 30 minutes")

    def stream(self, src_id: str, dst_url: str, store: str | None) -> str:
        dst_id = self.create(dst_url, "bench-stream")
        resp = self.s.get(self.r1 + f"/v2/images/{src_id}/file", stream=True)
        digest = hashlib.sha512()

        def gen() -> Iterator[bytes]:
            for chunk in resp.iter_content(CHUNK):
                digest.update(chunk)
                Counter.add(2 * len(chunk))  # read from the source, written to the destination
                yield chunk

        headers = {"Content-Type": "application/octet-stream"}
        if store:
            headers["X-Image-Meta-Store"] = store
        self.s.put(dst_url + f"/v2/images/{dst_id}/file", data=gen(), headers=headers)
        assert self.image(dst_url, dst_id)["os_hash_value"] == digest.hexdigest()
        return dst_id


def run_one(bed: Bed, method: str, src_id: str, sha: str) -> tuple[float, int]:
    t0, b0 = time.monotonic(), Counter.total
    if method == "a":
        dst = bed.create(bed.r2, "bench-gd")
        body = {
            "method": {
                "name": "glance-download",
                "glance_region": "RegionOne",
                "glance_image_id": src_id,
                "glance_service_interface": "public",
            }
        }
        bed.post(bed.r2 + f"/v2/images/{dst}/import", body)
        bed.wait_import(bed.r2, dst, lambda im: im["status"] == "active")
        url = bed.r2
    elif method == "c":
        body = {"method": {"name": "copy-image"}, "stores": ["second"]}
        bed.post(bed.r1 + f"/v2/images/{src_id}/import", body)
        bed.wait_import(bed.r1, src_id, lambda im: "second" in im["stores"].split(","))
        took, moved = time.monotonic() - t0, Counter.total - b0
        bed.s.delete(bed.r1 + f"/v2/stores/second/{src_id}")  # ready for the next round
        return took, moved
    else:
        url = bed.r2 if method == "b" else bed.r1
        dst = bed.stream(src_id, url, None if method == "b" else "second")
    took, moved = time.monotonic() - t0, Counter.total - b0
    assert bed.image(url, dst)["os_hash_value"] == sha
    bed.s.delete(url + f"/v2/images/{dst}")
    return took, moved


def arguments(doc: str, home: Path) -> argparse.ArgumentParser:
    """The options both cloud-side benches take (this one and ``bench/cloudside.py``)."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    ap.add_argument("--size", action="append", default=None, help="e.g. 256M, 1G (repeatable)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--home", type=Path, default=home)
    ap.add_argument("--keep", action="store_true", help="leave the clouds running")
    ap.add_argument("--down", action="store_true", help="stop and wipe the clouds, then exit")
    return ap


def main() -> None:
    args = arguments(__doc__, DEFAULT_HOME).parse_args()
    bed = Bed(args.home)
    if args.down:
        bed.sandbox.wipe(print)
        shutil.rmtree(args.home, ignore_errors=True)
        return
    started_here = not bed.sandbox.running
    bed.up()
    try:
        for size in [parse_size(s) for s in args.size or ["1G"]]:
            src_id, sha = bed.upload_random(size)
            results: dict[str, list[tuple[float, int]]] = {m: [] for m in METHODS}
            for r in range(args.rounds):
                order = METHODS[r % 4 :] + METHODS[: r % 4]
                for m in order:
                    results[m].append(run_one(bed, m, src_id, sha))
                line = "  ".join(f"{m} {results[m][-1][0]:6.1f}s" for m in METHODS)
                print(f"{size // MiB} MiB round {r + 1}: {line}", flush=True)
            report(size, results)
            bed.s.delete(bed.r1 + f"/v2/images/{src_id}")
    finally:
        if started_here and not args.keep:
            bed.sandbox.wipe(print)
            shutil.rmtree(args.home, ignore_errors=True)


def report(size: int, results: dict[str, list[tuple[float, int]]]) -> None:
    med = {m: statistics.median(t for t, _ in results[m]) for m in METHODS}
    moved = {m: max(b for _, b in results[m]) for m in METHODS}
    print(f"\n{size // MiB} MiB, median of {len(results['a'])} rounds")
    for m in METHODS:
        print(f"  ({m}) {NAMES[m]:<20} {med[m]:7.1f} s   {moved[m] / MiB:9.2f} MiB through us")
    print(f"  stream / glance-download: {med['b'] / med['a']:.2f}")
    print(f"  stream / copy-image:      {med['d'] / med['c']:.2f}\n", flush=True)


if __name__ == "__main__":
    main()
