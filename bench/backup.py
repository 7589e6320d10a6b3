"""Benchmark glint-backup on its own sandbox cloud (own GLINT_HOME and ports).

1. N small images (default 1000, ``shared`` like Glance's default, so the members of every
   one are read): the time of a no-op incremental run, the whole `glint-backup` process as
   cron starts it, with members from per-project listings and with one GET per image,
   alternating with a process that lists the same images with openstacksdk and with one
   `openstack image list --long` (bench/noop.py); the median ratios are printed.
2. One big image (default 1 GiB): glint-backup's download-and-store against a plain
   streamed download hashed with sha512 into a file (target >= 0.8x). The machine is
   shared and noisy, so the two run side by side, alternating (the order flips every
   round), for --rounds rounds; each pair and the median ratio are printed. Both sides do
   the same work: one download at the same chunk size, sha512, write, fsync, rename, fsync
   of the directory. The whole `glint-backup` run that re-fetches the image is timed too
   (it adds process start, login and listing every image).

The bench sandbox and its images live in --home (default /tmp/glint-backup-bench) and are
reused by the next run, so reruns skip the slow image creation; --wipe starts over.

    GLINT_SERVER_VENV=... .venv/bin/python bench/backup.py [--images 1000] [--size 1G]
        [--rounds 3] [--noop-runs 3] [--no-osc] [--profile] [--keep] [--wipe]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import hashlib
import io
import json
import os
import pstats
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_HOME = Path(tempfile.gettempdir()) / "glint-backup-bench"
SMALL = re.compile(r"bench-(\d{4,})$")
BIG_NAME = "bench-big"


def parse_size(text: str) -> int:
    """'1G', '256M', '1.5GiB', '1048576' -> bytes (binary units)."""
    m = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]?)(i?b)?\s*", text.lower())
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 1G or 256M)")
    return int(float(m.group(1)) * 1024 ** " kmgt".index(m.group(2) or " "))


def free_port_base() -> int:
    for base in range(41000, 60000, 100):
        ok = True
        for port in (base + 10, base + 11, base + 20, base + 21):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
        if ok:
            return base
    raise SystemExit("no free ports")


def mbps(size: int, seconds: float) -> float:
    return size / seconds / 1e6


# -- the bench cloud and its images ---------------------------------------------------------
def start_sandbox(home: Path) -> Any:
    """The bench sandbox in *home*: restarted if it exists (same ports), else created."""
    from glint_tui.core.paths import paths_for
    from glint_tui.sandbox.manager import Sandbox

    paths = paths_for("sandbox")
    existing = (paths.data_dir / "clouds" / "sandbox.json").exists()
    sb = Sandbox(paths, port_base=None if existing else free_port_base())
    t = time.monotonic()
    sb.up(1, seed=False)
    print(
        f"sandbox {'restarted' if existing else 'created'} in {time.monotonic() - t:.1f}s "
        f"(home {home}, Keystone {sb.clouds[0].keystone_url})",
        flush=True,
    )
    return sb


def ensure_small_images(
    session: Any, wanted: int, records: list[Any], visibility: str = "shared"
) -> None:
    """Create the missing bench-NNNN images (reruns reuse the ones already there), all of
    *visibility* (Glance's default, ``shared``: a backup lists the members of each)."""
    from glint_tui.core.clouds.base import ImageSpec
    from glint_tui.core.errors import ServerError

    have = {int(m.group(1)) for r in records if r.status == "active" and (m := SMALL.match(r.name))}
    missing = [i for i in range(wanted) if i not in have]
    extra = len(have) - (wanted - len(missing))
    if extra > 0:
        print(f"note: {extra} more bench images exist than --images asks; they stay listed "
              "(use --wipe for an exact count)", flush=True)  # fmt: skip
    t = time.monotonic()
    for i in missing:
        data = f"bench image {i}\n".encode() * 64
        for attempt in range(5):  # Glance on SQLite answers 500 on lock contention
            rec = session.create_image(
                ImageSpec(name=f"bench-{i:04d}", disk_format="raw", visibility=visibility)
            )
            try:
                session.upload(rec.id, io.BytesIO(data), len(data))
                break
            except ServerError:
                with contextlib.suppress(ServerError):
                    session.delete_image(rec.id)
                time.sleep(0.2 * (attempt + 1))
        else:
            raise SystemExit(f"could not create bench image {i}")
    changed = 0
    for r in records:
        if SMALL.match(r.name) and r.status == "active" and r.visibility != visibility:
            session.update_image(r.id, visibility=visibility)
            changed += 1
    print(f"small images ({visibility}): {len(have)} reused ({changed} made {visibility}), "
          f"{len(missing)} created in {time.monotonic() - t:.1f}s", flush=True)  # fmt: skip


def ensure_big_image(session: Any, size: int, records: list[Any]) -> Any:
    """The active bench-big image of exactly *size* bytes (reused, else uploaded)."""
    from glint_tui.core.clouds.base import ImageSpec

    keep = None
    for r in records:
        if r.name == BIG_NAME:
            if keep is None and r.status == "active" and r.size == size:
                keep = r
            else:
                session.delete_image(r.id)
    if keep is not None:
        print(f"big image: reused {keep.id} ({size} bytes)", flush=True)
        return keep
    rec = session.create_image(ImageSpec(name=BIG_NAME, disk_format="raw"))
    block = os.urandom(1 << 20)

    class Source:
        def __init__(self) -> None:
            self.left = size

        def read(self, n: int = -1) -> bytes:
            n = min(n if n > 0 else len(block), self.left, len(block))
            self.left -= n
            return block[:n]

    t = time.monotonic()
    session.upload(rec.id, Source(), size)
    print(f"big image: uploaded {size} bytes in {time.monotonic() - t:.1f}s", flush=True)
    return session.get_image(rec.id)


# -- the two sides of the throughput comparison ----------------------------------------------
def plain_download(session: Any, image_id: str, chunk: int, directory: Path) -> tuple[float, float]:
    """The baseline: streamed download, sha512, write, fsync, rename, fsync dir.

    Returns (wall seconds, CPU seconds of this process): CPU time is far less disturbed by
    the other engineers' load than wall time, so it shows a per-byte cost difference.

    Like the store side, it deletes its previous copy just before it starts, and keeps the
    new one: on this VM, writing 1 GiB into pages just freed is far faster than into pages
    the host took back, so the two sides must treat memory alike to be comparable.
    """
    from glint_tui.core.fsutil import fsync_dir

    tmp, final = directory / "plain.part", directory / "plain.bin"
    final.unlink(missing_ok=True)
    t0, c0 = time.monotonic(), time.process_time()
    h = hashlib.sha512()
    d = session.download(image_id, chunk, verify=False)
    try:
        with open(tmp, "wb") as f:
            for c in d:
                h.update(c)
                f.write(c)
            os.fsync(f.fileno())
    finally:
        d.close()
    h.hexdigest()
    os.replace(tmp, final)
    fsync_dir(directory)
    return time.monotonic() - t0, time.process_time() - c0


def store_download(session: Any, store: Any, record: Any) -> tuple[float, float]:
    """glint-backup's own data path for one image (what a run does per new object)."""
    from glint_backup import backup

    sha = record.os_hash_value
    if store.has(sha):
        store.remove(sha)
    t0, c0 = time.monotonic(), time.process_time()
    got = backup._fetch(session, store, record)
    elapsed = time.monotonic() - t0, time.process_time() - c0
    assert got.sha512 == sha, (got, sha)
    return elapsed


# -- main -------------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=1000, help="small images (default 1000)")
    ap.add_argument("--size", type=parse_size, default=parse_size("1G"), help="big image")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    ap.add_argument("--noop-runs", type=int, default=3)
    ap.add_argument("--visibility", default="shared", choices=("shared", "private"),
                    help="of the small images (default shared, Glance's default)")  # fmt: skip
    ap.add_argument("--home", type=Path, default=DEFAULT_HOME, help=f"default {DEFAULT_HOME}")
    ap.add_argument("--skip-noop", action="store_true")
    ap.add_argument("--no-osc", action="store_true",
                    help="skip the `openstack image list --long` baseline (PyPI once)")  # fmt: skip
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--profile", action="store_true", help="cProfile one store download")
    ap.add_argument("--keep", action="store_true", help="leave the bench sandbox running")
    ap.add_argument("--wipe", action="store_true", help="delete the bench home first")
    opts = ap.parse_args()

    home = opts.home.resolve()
    if opts.wipe and home.exists():
        os.environ["GLINT_HOME"] = str(home)
        sys.path.insert(0, str(ROOT))
        from glint_tui.core.paths import paths_for
        from glint_tui.sandbox.manager import Sandbox

        Sandbox(paths_for("sandbox")).down()
        shutil.rmtree(home)
    home.mkdir(parents=True, exist_ok=True)
    os.environ["GLINT_HOME"] = str(home)
    os.environ["GLINT_PROFILE"] = "sandbox"
    sys.path.insert(0, str(ROOT))
    import noop  # bench/noop.py, beside this script

    from glint_backup import backup
    from glint_backup import config as cfg
    from glint_backup.repository import open_store
    from glint_tui.core.clouds import open_session
    from glint_tui.sandbox.cloud import ADMIN_PASSWORD

    sb = start_sandbox(home)
    results: dict[str, Any] = {}
    try:
        cloud = sb.clouds[0]
        cred, secret = sb.admin_credential(cloud)
        session = open_session(sb.repository(cloud), cred, secret)
        session.page_size = 1000
        records = list(session.list_images(all_projects=True))
        ensure_small_images(session, opts.images, records, opts.visibility)
        noop.every_project_role(cloud)
        big = None
        if not opts.skip_throughput:
            big = ensure_big_image(session, opts.size, records)

        pw = home / "pw"
        pw.write_text(ADMIN_PASSWORD)
        pw.chmod(0o600)
        store_dir = home / "store"
        store_dir.mkdir(exist_ok=True)
        conf = home / "glint-backup.json"
        conf.write_text(json.dumps({
            "glint_backup_auth_URL": cloud.keystone_url + "/v2.0",
            "glint_backup_admin_user": "admin",
            "glint_backup_admin_tenant": "admin",
            "glint_backup_admin_pw_file": str(pw),
            "glint_backup_dir": str(store_dir),
            "glint_backup_logfile": str(home / "backup.log"),
            "glint_backup_page_size": 1000,
        }))  # fmt: skip
        cmd = [sys.executable, "-m", "glint_backup", "-c", str(conf), "--allow-root", "--json"]

        def timed_run() -> tuple[float, dict]:
            t0 = time.monotonic()
            done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
            elapsed = time.monotonic() - t0
            if done.returncode != 0:
                raise SystemExit(f"backup failed ({done.returncode}): {done.stderr}")
            return elapsed, json.loads(done.stdout)

        # a run that brings the store up to date (a full run on a fresh home)
        first, summary = timed_run()
        print(f"catch-up run: {summary['images']} images, {summary['downloaded']} downloaded "
              f"({summary['downloaded_bytes']} bytes) in {first:.2f}s", flush=True)  # fmt: skip
        results["images"] = summary["images"]

        if not opts.skip_noop:
            results.update(noop.compare(home, ROOT, conf, cloud.keystone_url, ADMIN_PASSWORD,
                                        opts.noop_runs, osc=not opts.no_osc))  # fmt: skip

        if big is not None:
            size = big.size
            store = open_store(cfg.load(conf))
            scratch = store_dir / "tmp"  # the same file system and directory as the store's

            if opts.profile:
                prof = cProfile.Profile()
                prof.enable()
                store_download(session, store, big)
                prof.disable()
                pstats.Stats(prof).sort_stats("tottime").print_stats(15)

            pairs: list[dict[str, float]] = []
            for rnd in range(opts.rounds):
                sides = ["plain", "store"] if rnd % 2 == 0 else ["store", "plain"]
                took: dict[str, float] = {}
                cpu: dict[str, float] = {}
                for side in sides:
                    if side == "plain":
                        took[side], cpu[side] = plain_download(
                            session, big.id, backup.CHUNK, scratch
                        )
                    else:
                        took[side], cpu[side] = store_download(session, store, big)
                (scratch / "plain.bin").unlink(missing_ok=True)
                store.remove(big.os_hash_value)  # the whole run must fetch it again
                run_s, s = timed_run()
                assert s["downloaded"] == 1, s
                pair = {
                    "plain_MBps": round(mbps(size, took["plain"]), 1),
                    "store_MBps": round(mbps(size, took["store"]), 1),
                    "ratio": round(took["plain"] / took["store"], 3),
                    "plain_cpu_s": round(cpu["plain"], 2),
                    "store_cpu_s": round(cpu["store"], 2),
                    "run_s": round(run_s, 2),
                    "run_fetch_s": s["fetch_seconds"],
                    "run_ratio": round(took["plain"] / run_s, 3),
                    "run_fetch_ratio": round(took["plain"] / s["fetch_seconds"], 3),
                }
                pairs.append(pair)
                print(f"round {rnd + 1} ({' then '.join(sides)}): plain {pair['plain_MBps']} MB/s "
                      f"({took['plain']:.2f}s), store {pair['store_MBps']} MB/s "
                      f"({took['store']:.2f}s), ratio {pair['ratio']:.2f}, client CPU "
                      f"{cpu['plain']:.2f}s vs {cpu['store']:.2f}s; whole glint-backup "
                      f"run {run_s:.2f}s, ratio {pair['run_ratio']:.2f} (its own fetch "
                      f"{s['fetch_seconds']:.2f}s, ratio {pair['run_fetch_ratio']:.2f})",
                      flush=True)  # fmt: skip
            med = statistics.median(p["ratio"] for p in pairs)
            run_med = statistics.median(p["run_ratio"] for p in pairs)
            fetch_med = statistics.median(p["run_fetch_ratio"] for p in pairs)
            cpu_plain = statistics.median(p["plain_cpu_s"] for p in pairs)
            cpu_store = statistics.median(p["store_cpu_s"] for p in pairs)
            results["big_image_bytes"] = size
            results["chunk_bytes"] = backup.CHUNK
            results["pairs"] = pairs
            results["median_ratio"] = round(med, 3)
            results["median_run_ratio"] = round(run_med, 3)
            results["median_run_fetch_ratio"] = round(fetch_med, 3)
            results["median_cpu_s"] = {"plain": cpu_plain, "store": cpu_store}
            results["throughput_target_met"] = med >= 0.8
            print(f"median store/plain ratio {med:.2f} (target >= 0.8); whole-run ratio "
                  f"{run_med:.2f} (includes process start, login, listing "
                  f"{summary['images']} images); the run's own fetch ratio {fetch_med:.2f}; "
                  f"median client CPU plain {cpu_plain:.2f}s, store {cpu_store:.2f}s",
                  flush=True)  # fmt: skip
        session.close()
    finally:
        if not opts.keep:
            sb.down()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
