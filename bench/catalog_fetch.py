"""Benchmark the catalog's fetcher against a plain streamed download, side by side.

A loopback HTTP server (this script starts it, 127.0.0.1 only) serves one generated file
of --size bytes from disk. Each round runs, in separate processes and in alternating
order, (a) ``catalog.fetch.fetch`` — locked partial, sha512 on the fly, verify, fsync,
rename — and (b) the baseline: ``requests`` streaming the same URL in 1 MiB chunks into a
file with sha512, fsync, rename. Each side's wall time and peak RSS (ru_maxrss) are
printed, then the median time ratio (fetch / baseline) and both peak RSS figures: the
fetcher must stay near the baseline, and its memory must not grow with the file.

    .venv/bin/python bench/catalog_fetch.py [--size 1G] [--rounds 3] [--dir /tmp]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 1 << 20


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*([\d.]+)\s*([kmgt]?)(i?b)?\s*", text.lower())
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (try 1G or 256M)")
    return int(float(m.group(1)) * 1024 ** " kmgt".index(m.group(2) or " "))


def one(kind: str, url: str, dest: Path, digest: str) -> None:
    """Run one side in this process; print its seconds and peak RSS as JSON."""
    start = time.perf_counter()
    if kind == "fetch":
        sys.path.insert(0, str(ROOT))
        from glint_tui.core.catalog.entries import Checksum
        from glint_tui.core.catalog.fetch import fetch

        got = fetch(url, dest, Checksum("sha512", digest))
        assert got.sha512 == digest
    else:
        import requests

        sha = hashlib.sha512()
        tmp = dest.with_name(dest.name + ".tmp")
        with requests.get(url, stream=True, timeout=(10, 120)) as r, open(tmp, "wb") as f:
            r.raise_for_status()
            for chunk in r.iter_content(CHUNK):
                sha.update(chunk)
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        assert sha.hexdigest() == digest
        os.replace(tmp, dest)
        fd = os.open(dest.parent, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    seconds = time.perf_counter() - start
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "rss": rss}))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def make_file(path: Path, size: int) -> str:
    sha = hashlib.sha512()
    block = os.urandom(CHUNK)
    with open(path, "wb") as f:
        left = size
        while left:
            piece = block[: min(CHUNK, left)]
            sha.update(piece)
            f.write(piece)
            left -= len(piece)
    return sha.hexdigest()


def run_side(kind: str, url: str, dest: Path, digest: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--one", kind, url, str(dest), digest],
        check=True,
        capture_output=True,
        text=True,
    )
    dest.unlink()
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("1G"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--one", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, url, dest, digest = args.one
        one(kind, url, Path(dest), digest)
        return
    work = Path(tempfile.mkdtemp(prefix="glint-catalog-fetch-", dir=args.dir))
    serve = work / "serve"
    serve.mkdir()
    digest = make_file(serve / "image.qcow2", args.size)
    handler = functools.partial(_Quiet, directory=str(serve))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/image.qcow2"
    results: dict[str, list[dict]] = {"fetch": [], "baseline": []}
    try:
        for n in range(args.rounds):
            order = ("fetch", "baseline") if n % 2 == 0 else ("baseline", "fetch")
            for kind in order:
                results[kind].append(run_side(kind, url, work / f"{kind}.img", digest))
            f, b = results["fetch"][-1], results["baseline"][-1]
            print(
                f"round {n + 1}: fetch {f['seconds']:.2f} s, baseline {b['seconds']:.2f} s, "
                f"ratio {f['seconds'] / b['seconds']:.2f}"
            )
    finally:
        server.shutdown()
        for p in sorted(work.rglob("*"), reverse=True):
            p.rmdir() if p.is_dir() else p.unlink()
        work.rmdir()
    pairs = zip(results["fetch"], results["baseline"], strict=True)
    ratio = statistics.median(f["seconds"] / b["seconds"] for f, b in pairs)
    mib = args.size / (1 << 20)
    best = min(r["seconds"] for r in results["fetch"])
    print(f"size {mib:.0f} MiB; fetch best {mib / best:.0f} MiB/s; median ratio {ratio:.2f}")
    for kind in ("fetch", "baseline"):
        peak = max(r["rss"] for r in results[kind]) / (1 << 20)
        print(f"peak RSS {kind}: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
