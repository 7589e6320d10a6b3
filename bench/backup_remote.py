"""glint-backup's data path into local, Swift and S3 repositories, each against a plain
upload of the same bytes with the same client, plus zstd on a sparse raw image.

For one big image in a sandbox Glance (default 1 GiB of random bytes), per round and in an
order that flips every round:

* local: glint-backup stores the image (sha512, temp file, fsync, rename) vs a plain
  streamed download into a file with the same fsync (as bench/backup.py does);
* swift: glint-backup stores it in a Swift container (sha512 on the fly, static large
  object above one segment) vs the same Glance stream PUT through openstacksdk's object
  store proxy (one chunked PUT, no hash);
* s3: glint-backup stores it through boto3 (sha512 on the fly, multipart) vs boto3's own
  managed ``upload_fileobj`` of the same Glance stream (multipart, threads, no hash).

Then a sparse raw image (default 1 GiB: a boot sector, one MiB of random data in every 16,
zeros elsewhere) is stored with compression off and auto, alternating: ratio and time.
Everything runs in its own sandbox home (default /tmp/glint-backup-bench-remote) with Swift
beside c1; medians are printed.

    .venv/bin/python bench/backup_remote.py [--size 1G] [--rounds 3] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.backup import (  # noqa: E402 - after the path is set
    ensure_big_image,
    parse_size,
    plain_download,
    start_sandbox,
)

DEFAULT_HOME = Path(tempfile.gettempdir()) / "glint-backup-bench-remote"
SPARSE_NAME = "bench-sparse-raw"


class GlanceReader:
    """``read(n)`` over a Glance download (what boto3's upload_fileobj wants)."""

    def __init__(self, download: Any):
        self._it = iter(download)
        self._buf = b""

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._buf) < n:
            try:
                self._buf += next(self._it)
            except StopIteration:
                break
        n = len(self._buf) if n < 0 else n
        out, self._buf = self._buf[:n], self._buf[n:]
        return out


def ensure_sparse_image(session: Any, size: int, records: list[Any]) -> Any:
    from glint_tui.core.clouds.base import ImageSpec

    for r in records:
        if r.name == SPARSE_NAME and r.status == "active" and r.size == size:
            return r
    rec = session.create_image(ImageSpec(name=SPARSE_NAME, disk_format="raw"))
    noise, zeros = os.urandom(1 << 20), bytes(1 << 20)

    class Source:
        def __init__(self) -> None:
            self.done = 0

        def read(self, n: int = -1) -> bytes:
            if self.done >= size:
                return b""
            # like a raw disk: a boot sector, then data in one MiB of every 16, zeros between
            block = noise if (self.done >> 20) % 16 == 8 else zeros
            if self.done == 0:
                block = noise[:512] + zeros[512:]
            piece = block[: min(len(block), size - self.done)]
            self.done += len(piece)
            return piece

    session.upload(rec.id, Source(), size)
    return session.get_image(rec.id)


def timed(fn, *args: Any) -> float:
    t0 = time.monotonic()
    fn(*args)
    return time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=parse_size, default=parse_size("1G"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--home", type=Path, default=DEFAULT_HOME)
    ap.add_argument("--keep", action="store_true", help="leave the bench sandbox running")
    ap.add_argument("--skip-throughput", action="store_true", help="only the sparse image")
    opts = ap.parse_args()
    home = opts.home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    os.environ.update(GLINT_HOME=str(home), GLINT_PROFILE="sandbox")

    from glint_backup import backup
    from glint_backup import config as cfg
    from glint_backup.repository import open_store
    from glint_tui.core.clouds import open_session
    from glint_tui.sandbox.cloud import ADMIN_PASSWORD
    from glint_tui.sandbox.identity import ec2_credentials

    sb = start_sandbox(home)
    swift = sb.start_swift(lambda line: print(line, flush=True))
    results: dict[str, Any] = {"size": opts.size}
    try:
        cloud = sb.clouds[0]
        cred, secret = sb.admin_credential(cloud)
        session = open_session(sb.repository(cloud), cred, secret)
        records = list(session.list_images(all_projects=True))
        big = ensure_big_image(session, opts.size, records)
        sparse = ensure_sparse_image(session, opts.size, records)
        access, key = ec2_credentials(cloud)
        pw = home / "pw"
        pw.write_text(ADMIN_PASSWORD + "\n")
        pw.chmod(0o600)
        creds = home / "s3creds"
        creds.write_text(f"[default]\naws_access_key_id = {access}\n"
                         f"aws_secret_access_key = {key}\n")  # fmt: skip
        creds.chmod(0o600)
        tag = uuid.uuid4().hex[:6]

        def conf(name: str, **extra: Any):
            doc = {"glint_backup_auth_URL": cloud.keystone_url + "/v3",
                   "glint_backup_admin_user": "admin", "glint_backup_admin_tenant": "admin",
                   "glint_backup_admin_pw_file": str(pw), "glint_backup_region": "RegionOne",
                   "glint_backup_s3_endpoint": swift.url,
                   "glint_backup_s3_credentials_file": str(creds), **extra}  # fmt: skip
            path = home / f"{name}.json"
            path.write_text(json.dumps(doc))
            return cfg.load(path)

        (home / "local").mkdir(exist_ok=True)
        (home / "sparse-off").mkdir(exist_ok=True)
        (home / "sparse-auto").mkdir(exist_ok=True)
        stores = {
            "local": open_store(conf("local", glint_backup_dir=str(home / "local")), create=True),
            "swift": open_store(conf("swift", glint_backup_repository=f"swift://bench-{tag}/r"),
                                create=True),
            "s3": open_store(conf("s3", glint_backup_repository=f"s3://bench-{tag}/r"),
                             create=True),
        }  # fmt: skip
        conn = stores["swift"].backend._session.conn
        s3 = stores["s3"].backend.client
        conn.object_store.put(f"/plain-{tag}")

        def glint(kind: str) -> None:
            store = stores[kind]
            store.remove(big.os_hash_value)
            got = backup._fetch(session, store, big)
            assert got.sha512 == big.os_hash_value

        def plain(kind: str) -> None:
            if kind == "local":
                plain_download(session, big.id, backup.CHUNK, home / "local" / "tmp")
                return
            download = session.download(big.id, backup.CHUNK, verify=False)
            try:
                if kind == "swift":
                    r = conn.object_store.put(f"/plain-{tag}/big", data=iter(download))
                    assert r.status_code == 201, r.status_code
                else:
                    s3.upload_fileobj(GlanceReader(download), f"bench-{tag}", "plain/big")
            finally:
                download.close()

        rows: dict[str, list[dict[str, float]]] = {k: [] for k in stores}
        for rnd in range(0 if opts.skip_throughput else opts.rounds):
            for kind in stores:
                order = ("plain", "glint") if rnd % 2 == 0 else ("glint", "plain")
                took = {side: timed(plain if side == "plain" else glint, kind) for side in order}
                row = {"plain_MBps": round(opts.size / took["plain"] / 1e6, 1),
                       "glint_MBps": round(opts.size / took["glint"] / 1e6, 1),
                       "ratio": round(took["plain"] / took["glint"], 3)}  # fmt: skip
                rows[kind].append(row)
                print(
                    f"round {rnd + 1} {kind}: plain {row['plain_MBps']} MB/s, glint-backup "
                    f"{row['glint_MBps']} MB/s, glint/plain speed {row['ratio']}",
                    flush=True,
                )
        for kind, got in rows.items():
            if not got:
                continue
            results[kind] = {
                "rounds": got,
                "median_ratio": statistics.median(r["ratio"] for r in got),
                "median_glint_MBps": statistics.median(r["glint_MBps"] for r in got),
                "median_plain_MBps": statistics.median(r["plain_MBps"] for r in got),
            }

        sparse_stores = {
            mode: open_store(conf(f"sparse-{mode}", glint_backup_dir=str(home / f"sparse-{mode}"),
                                  glint_backup_compression=mode), create=True)
            for mode in ("off", "auto")
        }  # fmt: skip
        comp: dict[str, list[tuple[float, int]]] = {"off": [], "auto": []}
        for rnd in range(opts.rounds):
            for mode in ("off", "auto") if rnd % 2 == 0 else ("auto", "off"):
                store = sparse_stores[mode]
                store.remove(sparse.os_hash_value)
                t0 = time.monotonic()
                got = backup._fetch(session, store, sparse)
                comp[mode].append((time.monotonic() - t0, got.stored))
        off_t = statistics.median(t for t, _ in comp["off"])
        auto_t = statistics.median(t for t, _ in comp["auto"])
        stored = comp["auto"][-1][1]
        results["sparse"] = {
            "bytes": opts.size,
            "stored_auto": stored,
            "ratio": round(opts.size / stored, 1),
            "seconds_off": round(off_t, 2),
            "seconds_auto": round(auto_t, 2),
        }
        print(
            f"sparse raw image: {opts.size} bytes stored in {comp['auto'][-1][1]} with zstd "
            f"auto (ratio {results['sparse']['ratio']}); {auto_t:.2f}s vs {off_t:.2f}s "
            "uncompressed",
            flush=True,
        )
        for store in [*stores.values(), *sparse_stores.values()]:
            store.close()
        session.close()
    finally:
        if not opts.keep:
            sb.down()
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
