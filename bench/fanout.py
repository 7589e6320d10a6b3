"""Fan-out benchmark: one image to 3 destinations, three ways, on private sandbox clouds.

The source is on c1 and the destinations are c2, c3 and c4 (4 clouds are started).

    .venv/bin/python bench/fanout.py                 # 1 GiB
    .venv/bin/python bench/fanout.py --size 256M --size 1G --size 2G

(a) naive: download to a file, then upload it to each destination in turn (what an
    operator does by hand with the openstack CLI);
(b) bound: upload a local file to all 3 destinations at once (no download at all);
(c) ``glint copy`` as a subprocess (default options: spool on), timed end to end and by
    its journal (engine only), with its peak RSS from the kernel (``ru_maxrss``).

It starts its own 4 clouds in a temporary GLINT_HOME on free ports and wipes them at the
end; nothing of the operator's (or another sandbox's) is touched.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MiB = 1 << 20
# the source cloud is not a destination, and each destination is its own Glance: every
# Glance does one job, as when an operator spreads an image from a home cloud to others
DESTS = ("c2:alpha", "c3:alpha", "c4:alpha")
SOURCE = "c1:alpha"
CLOUDS = 4


def parse_size(text: str) -> int:
    t = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def free_port_base() -> int:
    for _ in range(200):
        base = random.randrange(30000, 60000, 100)
        ok = True
        for port in [base + 10 * i + k for i in range(CLOUDS + 1) for k in (0, 1)]:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise SystemExit("no free ports")


def write_random(path: Path, size: int) -> None:
    block = os.urandom(4 * MiB)
    with open(path, "wb") as f:
        left = size
        i = 0
        while left:
            # vary each block so no layer can deduplicate; cheap compared to urandom
            chunk = (i.to_bytes(8, "little") + block[8:])[: min(left, len(block))]
            f.write(chunk)
            left -= len(chunk)
            i += 1


class FileReader:
    def __init__(self, path: Path) -> None:
        self.f = open(path, "rb")  # noqa: SIM115

    def read(self, n: int = -1) -> bytes:
        return self.f.read(n)

    def close(self) -> None:
        self.f.close()


def upload_file(provider, ref: str, name: str, path: Path, size: int) -> str:
    from glint_tui.core.clouds.base import ImageSpec

    s = provider.open(ref)
    try:
        rec = s.create_image(ImageSpec(name=name, disk_format="raw"))
        reader = FileReader(path)
        try:
            s.upload(rec.id, reader, size)
        finally:
            reader.close()
        return rec.id
    finally:
        s.close()


def delete_named(provider, name: str) -> None:
    for ref in DESTS:
        s = provider.open(ref)
        try:
            for img in list(s.list_images()):
                if img.name == name:
                    s.delete_image(img.id)
        finally:
            s.close()


def naive(provider, image_id: str, name: str, size: int, workdir: Path) -> float:
    t0 = time.monotonic()
    path = workdir / "naive.img"
    s = provider.open(SOURCE)
    try:
        dl = s.download(image_id)
        with open(path, "wb") as f:
            for chunk in dl:
                f.write(chunk)
        dl.close()
    finally:
        s.close()
    for ref in DESTS:
        upload_file(provider, ref, name, path, size)
    took = time.monotonic() - t0
    path.unlink()
    return took


def bound(provider, path: Path, name: str, size: int) -> float:
    t0 = time.monotonic()
    errors: list[BaseException] = []

    def one(ref: str) -> None:
        try:
            upload_file(provider, ref, name, path, size)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=one, args=(r,)) for r in DESTS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return time.monotonic() - t0


def glint_copy(spec: str, env: dict, paths) -> tuple[float, float, int, float]:
    """(wall seconds, engine seconds from the journal, peak RSS bytes, CPU seconds)."""
    from glint_tui.core import journal as jn

    before = set(jn.journal_files(paths))
    args = [sys.executable, "-m", "glint_tui", "copy", spec, "-q", "--yes"]
    for d in DESTS:
        args += ["--to", d]
    t0 = time.monotonic()
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"glint copy failed ({proc.returncode}): {proc.stderr.read().decode()}")
    new = [p for p in jn.journal_files(paths) if p not in before]
    entries = jn.read_run(new[-1]).entries
    engine = entries[-1]["t"] - entries[0]["t"]
    return wall, engine, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", action="append", help="image size, e.g. 256M, 1G (repeatable)")
    ap.add_argument("--keep", action="store_true", help="leave the clouds running")
    opts = ap.parse_args()
    sizes = [parse_size(s) for s in (opts.size or ["1G"])]

    home = Path(tempfile.mkdtemp(prefix="glint-bench-"))
    os.environ["GLINT_HOME"] = str(home)
    os.environ["GLINT_PROFILE"] = "sandbox"
    from glint_tui.core.paths import paths_for
    from glint_tui.core.sessions import SessionProvider
    from glint_tui.sandbox.manager import Sandbox

    paths = paths_for("sandbox")
    sb = Sandbox(paths, port_base=free_port_base())
    results = []
    try:
        print(f"starting {CLOUDS} sandbox clouds in {home} …", flush=True)
        sb.up(CLOUDS, seed=False)
        provider = SessionProvider(paths)
        env = dict(os.environ)
        for size in sizes:
            label = f"{size / MiB:.0f} MiB"
            src_path = home / "source.img"
            write_random(src_path, size)
            name = f"bench-{size // MiB}m"
            src_id = upload_file(provider, SOURCE, name, src_path, size)
            s = provider.open(SOURCE)
            content = s.get_image(src_id).os_hash_value
            s.close()
            print(f"[{label}] source {src_id} on {SOURCE}; destinations {', '.join(DESTS)}")
            t_a = naive(provider, src_id, name, size, home)
            print(f"[{label}] (a) naive download then 3 uploads: {t_a:6.1f} s", flush=True)
            delete_named(provider, name)
            t_b = bound(provider, src_path, name, size)
            print(f"[{label}] (b) bound, 3 parallel uploads:      {t_b:6.1f} s", flush=True)
            delete_named(provider, name)
            src_path.unlink()
            wall, engine, rss, cpu = glint_copy(f"{name}@{content[:16]}", env, paths)
            print(
                f"[{label}] (c) glint copy: {wall:6.1f} s wall ({engine:.1f} s engine), "
                f"peak RSS {rss / MiB:.0f} MiB, CPU {cpu:.1f} s",
                flush=True,
            )
            delete_named(provider, name)
            shutil.rmtree(paths.spool_dir, ignore_errors=True)
            row = {
                "size": size,
                "naive_s": round(t_a, 2),
                "bound_s": round(t_b, 2),
                "glint_wall_s": round(wall, 2),
                "glint_engine_s": round(engine, 2),
                "glint_peak_rss_mib": round(rss / MiB, 1),
                "glint_cpu_s": round(cpu, 2),
                "glint_vs_bound": round(wall / t_b, 3),
                "naive_vs_glint": round(t_a / wall, 3),
            }
            results.append(row)
            print(
                f"[{label}] glint/bound = {row['glint_vs_bound']:.2f} (target <= 1.15), "
                f"naive/glint = {row['naive_vs_glint']:.2f} (target >= 2.5)",
                flush=True,
            )
        print(json.dumps(results, indent=2))
    finally:
        if opts.keep:
            print(f"clouds left running: GLINT_HOME={home} GLINT_PROFILE=sandbox")
        else:
            sb.wipe()
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
