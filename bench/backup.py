"""Benchmark glint-backup on its own sandbox cloud (own GLINT_HOME and ports).

1. N small images (default 1000): time of a no-op incremental run (target <= 3 s), the
   whole `glint-backup` process as cron starts it.
2. One 1 GiB image: throughput of the backup run that fetches it, against a plain
   streamed download hashed with sha512 into a file (target >= 0.8x).

    GLINT_SERVER_VENV=... .venv/bin/python bench/backup.py [--images 1000] [--gib 1]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--gib", type=float, default=1.0)
    ap.add_argument("--keep", action="store_true", help="leave the bench sandbox running")
    opts = ap.parse_args()

    home = Path(tempfile.mkdtemp(prefix="glint-backup-bench-"))
    os.environ["GLINT_HOME"] = str(home)
    os.environ["GLINT_PROFILE"] = "sandbox"
    sys.path.insert(0, str(ROOT))
    from glint_tui.core.clouds import open_session
    from glint_tui.core.clouds.base import ImageSpec
    from glint_tui.core.errors import ServerError
    from glint_tui.core.paths import paths_for
    from glint_tui.sandbox.cloud import ADMIN_PASSWORD
    from glint_tui.sandbox.manager import Sandbox

    sb = Sandbox(paths_for("sandbox"), port_base=free_port_base())
    results: dict[str, object] = {}
    try:
        t = time.monotonic()
        sb.up(1, seed=False)
        cloud = sb.clouds[0]
        print(f"sandbox up in {time.monotonic() - t:.1f}s (GLINT_HOME={home})", flush=True)
        cred, secret = sb.admin_credential(cloud)
        repo = sb.repository(cloud)

        def make(i: int) -> None:
            s = sessions[i % len(sessions)]
            data = f"bench image {i}\n".encode() * 64
            for attempt in range(5):  # Glance on SQLite answers 500 on lock contention
                rec = s.create_image(ImageSpec(name=f"bench-{i:04d}", disk_format="raw"))
                try:
                    s.upload(rec.id, io.BytesIO(data), len(data))
                    return
                except ServerError:
                    with contextlib.suppress(ServerError):
                        s.delete_image(rec.id)
                    time.sleep(0.2 * (attempt + 1))
            raise SystemExit(f"could not create bench image {i}")

        sessions = [open_session(repo, cred, secret) for _ in range(2)]
        t = time.monotonic()
        with ThreadPoolExecutor(1) as pool:  # Glance's SQLite: 500s under concurrent writes
            list(pool.map(make, range(opts.images)))
        print(f"created {opts.images} images in {time.monotonic() - t:.1f}s", flush=True)

        pw = home / "pw"
        pw.write_text(ADMIN_PASSWORD)
        pw.chmod(0o600)
        store = home / "store"
        store.mkdir()
        conf = home / "glint-backup.json"
        conf.write_text(json.dumps({
            "glint_backup_auth_URL": cloud.keystone_url + "/v2.0",
            "glint_backup_admin_user": "admin",
            "glint_backup_admin_tenant": "admin",
            "glint_backup_admin_pw_file": str(pw),
            "glint_backup_dir": str(store),
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

        full, summary = timed_run()
        print(f"full run of {summary['images']} images: {full:.2f}s", flush=True)
        noops = [timed_run() for _ in range(3)]
        assert all(not s["changed"] for _, s in noops)
        best = min(e for e, _ in noops)
        results["images"] = summary["images"]
        results["first_full_run_s"] = round(full, 2)
        results["noop_run_s"] = [round(e, 2) for e, _ in noops]
        results["noop_target_met"] = best <= 3.0
        print(f"no-op runs: {results['noop_run_s']} (target <= 3 s)", flush=True)

        # 1 GiB image
        size = int(opts.gib * (1 << 30))
        big = sessions[0].create_image(ImageSpec(name="bench-big", disk_format="raw"))
        chunk = os.urandom(1 << 20)

        class Source:
            def __init__(self) -> None:
                self.left = size

            def read(self, n: int = -1) -> bytes:
                n = min(n if n > 0 else 1 << 20, self.left, len(chunk))
                self.left -= n
                return chunk[:n]

        t = time.monotonic()
        sessions[0].upload(big.id, Source(), size)
        print(f"uploaded {size} bytes in {time.monotonic() - t:.1f}s", flush=True)

        def plain() -> float:
            target = home / "plain.bin"
            s = sessions[1]
            t0 = time.monotonic()
            h = hashlib.sha512()
            d = s.download(big.id, 1 << 20, verify=False)
            with open(target, "wb") as f:
                for c in d:
                    h.update(c)
                    f.write(c)
            d.close()
            elapsed = time.monotonic() - t0
            target.unlink()
            return size / elapsed / 1e6

        baseline = max(plain() for _ in range(2))
        backup_rates, data_rates = [], []
        for _ in range(2):
            for sub in (store / "objects").iterdir():  # forget the big object: fetch again
                for f in sub.iterdir():
                    if f.stat().st_size == size:
                        f.unlink()
            elapsed, s = timed_run()
            assert s["downloaded"] == 1, s
            backup_rates.append(size / elapsed / 1e6)
            data_rates.append(size / s["fetch_seconds"] / 1e6)
        rate = max(backup_rates)
        results["plain_download_sha512_MBps"] = round(baseline, 1)
        results["backup_run_MBps"] = round(rate, 1)
        results["ratio"] = round(rate / baseline, 2)
        results["backup_data_path_MBps"] = round(max(data_rates), 1)
        results["data_path_ratio"] = round(max(data_rates) / baseline, 2)
        results["throughput_target_met"] = rate / baseline >= 0.8
        print(f"1 GiB: plain {baseline:.0f} MB/s, backup run {rate:.0f} MB/s "
              f"(ratio {rate / baseline:.2f}, target >= 0.8; the run includes process start, "
              f"login, listing {summary['images']} images and fsync)", flush=True)  # fmt: skip
        for s in sessions:
            s.close()
    finally:
        if not opts.keep:
            sb.down()
            shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
