"""Benchmark `glint catalog` against its baselines, side by side, on 4 sandbox clouds.

The clouds are bench/fanout.py's (its own GLINT_HOME, c1 the source, c2-c4 the targets);
a loopback HTTP mirror this script starts (127.0.0.1) serves the catalog's files.

1. **No-change plan**: --entries catalog entries (one small qcow2 version each, applied
   once to c2, c3 and c4 before timing). Alternating, --rounds times: (a) `glint catalog
   plan FILE` — it lists every column, reads every entry's checksum file and plans — and
   (b) `glint images`, the same listings of every column with no catalog. Medians, a / b.
2. **One new version to 3 clouds**: a --size random raw image. Alternating: (c) `glint
   catalog apply` of an entry whose only version it is (fetch from the mirror, verify,
   copy to c2-c4, rename) and (d) `glint copy` of the same bytes from c1 to c2-c4. Both
   sides start with an empty spool and end with their images deleted. Medians, c / d.

    .venv/bin/python bench/catalog_apply.py [--entries 50] [--size 1G] [--rounds 3]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fanout  # noqa: E402

TARGETS = fanout.DESTS
DEFAULT_HOME = Path(tempfile.gettempdir()) / "glint-catalog-bench"
VERSION = "20261101"


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def publish(root: Path, name: str, files: dict[str, Path]) -> None:
    """``root/name/`` holds *files* (file name -> source path, hard-linked) and SHA512SUMS."""
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for file_name, src in files.items():
        dest = folder / file_name
        if not dest.exists():
            os.link(src, dest)
        digest = hashlib.sha512()
        with open(dest, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        lines.append(f"{digest.hexdigest()}  {file_name}\n")
    (folder / "SHA512SUMS").write_text("".join(lines))


def entry(url: str, name: str, disk_format: str) -> dict:
    return {
        "name": name,
        "disk_format": disk_format,
        "source": {
            "checksums_url": f"{url}/{name}/SHA512SUMS",
            "pattern": name + r"-(?P<version>\d{8})\.img",
        },
        "keep": 1,
        "to": list(TARGETS),
        "visibility": "private",
    }


def write_catalog(path: Path, entries: list[dict]) -> Path:
    path.write_text("images:\n" + "".join(f"  - {json.dumps(e)}\n" for e in entries))
    return path


def glint(env: dict, *args: str) -> tuple[float, str]:
    t0 = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "glint_tui", *args], env=env, capture_output=True, text=True
    )
    took = time.monotonic() - t0
    if done.returncode != 0:
        raise SystemExit(f"glint {' '.join(args)} exited {done.returncode}: {done.stderr}")
    return took, done.stdout + done.stderr


def small_images(home: Path, count: int) -> list[tuple[str, Path]]:
    """*count* distinct small qcow2 files (qemu-img, a different virtual size each)."""
    out = []
    for n in range(count):
        path = home / f"small-{n:03d}.img"
        if not path.exists():
            size = f"{1024 + 64 * n}K"
            subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), size], check=True)
        out.append((f"bench-entry-{n:03d}", path))
    return out


def no_change_plan(env: dict, home: Path, root: Path, url: str, count: int, rounds: int) -> dict:
    entries = []
    for name, path in small_images(home, count):
        publish(root, name, {f"{name}-{VERSION}.img": path})
        entries.append(entry(url, name, "qcow2"))
    catalog = write_catalog(home / "catalog-50.yaml", entries)
    took, _ = glint(env, "catalog", "apply", str(catalog), "-q")
    print(f"[plan] {count} entries applied to {', '.join(TARGETS)} in {took:.1f} s", flush=True)
    per: dict[str, list[float]] = {"a": [], "b": []}
    for r in range(rounds):
        order = ("a", "b") if r % 2 == 0 else ("b", "a")
        for side in order:
            if side == "a":
                took, out = glint(env, "catalog", "plan", str(catalog))
                if "nothing to do" not in out:
                    raise SystemExit(f"the plan is not empty:\n{out}")
            else:
                took, _ = glint(env, "images")
            per[side].append(took)
        print(f"[plan] round {r + 1}: a {per['a'][-1]:.2f} s  b {per['b'][-1]:.2f} s", flush=True)
    a, b = (statistics.median(per[s]) for s in "ab")
    return {"entries": count, "plan_s": round(a, 2), "images_s": round(b, 2), "ratio": a / b}


def new_version(
    env: dict, paths, provider, home: Path, root: Path, url: str, size: int, rounds: int
) -> dict:
    name, _, digest, src = fanout.source_image(provider, home, size)
    entry_name = f"bench-new-{size >> 20}m"
    publish(root, entry_name, {f"{entry_name}-{VERSION}.img": src})
    catalog = write_catalog(home / "catalog-new.yaml", [entry(url, entry_name, "raw")])
    per: dict[str, list[float]] = {"c": [], "d": []}
    for r in range(rounds):
        order = ("c", "d") if r % 2 == 0 else ("d", "c")
        for side in order:
            shutil.rmtree(paths.spool_dir, ignore_errors=True)
            if side == "c":
                took, _ = glint(env, "catalog", "apply", str(catalog), "-q")
                fanout.delete_named(provider, entry_name)  # the plain name, once verified
                fanout.delete_named(provider, f"{entry_name} ({VERSION})")
            else:
                took = fanout.glint_copy(f"{name}@{digest[:16]}", env, paths)["s"]
                fanout.delete_named(provider, name)
            per[side].append(took)
        print(f"[new] round {r + 1}: c {per['c'][-1]:.1f} s  d {per['d'][-1]:.1f} s", flush=True)
    c, d = (statistics.median(per[s]) for s in "cd")
    return {
        "size": size,
        "catalog_apply_s": round(c, 2),
        "glint_copy_s": round(d, 2),
        "ratio": c / d,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--entries", type=int, default=50)
    ap.add_argument("--size", default="1G", help="the new version's size (e.g. 256M, 1G)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--home", type=Path, default=DEFAULT_HOME, help="where the clouds live")
    ap.add_argument("--keep", action="store_true", help="leave the clouds running for reruns")
    opts = ap.parse_args()
    home: Path = opts.home.resolve()
    home.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ["GLINT_HOME"] = str(home)
    os.environ["GLINT_PROFILE"] = "sandbox"
    from glint_tui.core.sessions import SessionProvider

    sb, paths, started = fanout.open_sandbox(home)
    root = home / "mirror"
    server, url = serve(root)
    try:
        env = dict(os.environ)
        provider = SessionProvider(paths)
        plan = no_change_plan(env, home, root, url, opts.entries, opts.rounds)
        print(
            f"[plan] medians: catalog plan {plan['plan_s']:.2f} s, glint images "
            f"{plan['images_s']:.2f} s, plan / images = {plan['ratio']:.2f}",
            flush=True,
        )
        size = fanout.parse_size(opts.size)
        new = new_version(env, paths, provider, home, root, url, size, opts.rounds)
        print(
            f"[new] medians: catalog apply {new['catalog_apply_s']:.1f} s, glint copy "
            f"{new['glint_copy_s']:.1f} s, apply / copy = {new['ratio']:.2f}",
            flush=True,
        )
        print(json.dumps({"no_change_plan": plan, "new_version": new}, indent=2))
    finally:
        server.shutdown()
        if opts.keep or not started:
            print(f"clouds left running in {home} (stop them: bench/fanout.py --down --home HOME)")
        else:
            sb.wipe()
            shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
