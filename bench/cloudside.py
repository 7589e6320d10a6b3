"""glint's cloud-side copies vs glint streaming through this host, side by side.

Starts its own shaped sandbox (c1: RegionOne + RegionTwo behind one Keystone, two file
stores in each Glance) and, per size and round, times four ``glint copy`` subprocesses of
one source image in RegionOne:

(a) ``--method glance-download`` to RegionTwo (RegionTwo's Glance pulls the image);
(b) ``--method stream`` to RegionTwo (the baseline for a): every byte through glint;
(c) ``--method copy-image --store second``: RegionOne's Glance adds its store ``second``
    to the same image (the sandbox admin, as Glance's policy wants);
(d) ``--method stream --store second``: the baseline for c, a streamed copy into store
    ``second`` (of project beta, so it is a new image, not a store added to the old one).

Each is the real command an operator runs (``glint copy … --yes -q --json``), verified by
glint as usual; between rounds the copy is removed again. Per run it records the wall
time, the bytes glint's process sent and received on its sockets (counted in that process
by wrapping ``socket.socket``'s send/recv: image data, Glance's and Keystone's JSON alike;
``/proc/<pid>/io`` does not count sockets), the bytes glint's engine says crossed this
host, and glint's peak RSS (``wait4``). It prints medians over the rounds (rotated order,
so a noisy neighbour hurts all methods alike) and the ratios stream / cloud-side.

    .venv/bin/python bench/cloudside.py --size 1G --rounds 3
    .venv/bin/python bench/cloudside.py --size 256M --rounds 1 --keep   # leave the clouds up
    .venv/bin/python bench/cloudside.py --down                          # stop and wipe them

The clouds live under ``--home`` (default ``$TMPDIR/glint-cloudside-bench2``), never in the
operator's own profile.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

import cloudside_raw  # noqa: E402  (the shaped sandbox and its raw admin session)

MiB = 1 << 20
CHUNK = 4 * MiB
DEFAULT_HOME = Path(tempfile.gettempdir()) / "glint-cloudside-bench2"
R1, R2 = "multi/RegionOne:alpha", "multi/RegionTwo:alpha"
ADMIN_ALPHA, ADMIN_BETA = "adm:alpha", "admb:beta"
RUNS = {
    "a": ("glance-download R1->R2", [R2], ["--from", R1, "--method", "glance-download"]),
    "b": ("stream R1->R2", [R2], ["--from", R1, "--method", "stream"]),
    "c": ("copy-image ->second", [ADMIN_ALPHA], ["--method", "copy-image", "--store", "second"]),
    "d": (
        "stream ->second",
        [ADMIN_BETA],
        ["--from", ADMIN_ALPHA, "--method", "stream", "--store", "second"],
    ),
}


# -- inside the glint subprocess: count its socket bytes ------------------------------------
def as_glint(out: str, argv: list[str]) -> None:
    """Run ``glint ARGV`` in this process, counting every byte its sockets move."""
    import atexit
    import runpy
    import socket

    moved = {"sent": 0, "received": 0}
    cls = socket.socket
    send, sendall, recv, recv_into = cls.send, cls.sendall, cls.recv, cls.recv_into

    def c_send(self, data, *a):
        n = send(self, data, *a)
        moved["sent"] += n
        return n

    def c_sendall(self, data, *a):
        moved["sent"] += len(memoryview(data).cast("B"))
        return sendall(self, data, *a)

    def c_recv(self, *a):
        data = recv(self, *a)
        moved["received"] += len(data)
        return data

    def c_recv_into(self, buf, *a):
        n = recv_into(self, buf, *a)
        moved["received"] += n
        return n

    cls.send, cls.sendall, cls.recv, cls.recv_into = c_send, c_sendall, c_recv, c_recv_into
    atexit.register(lambda: Path(out).write_text(json.dumps(moved)))
    sys.argv = ["glint", *argv]
    runpy.run_module("glint_tui", run_name="__main__")


# -- the bench ------------------------------------------------------------------------------
class Bed(cloudside_raw.Bed):
    """The raw bench's shaped sandbox and admin session, plus glint's profile in it."""

    def __init__(self, home: Path) -> None:
        super().__init__(home)
        from glint_tui.core.paths import SANDBOX_PROFILE

        self.home = home
        self.env = {**os.environ, "GLINT_HOME": str(home), "GLINT_PROFILE": SANDBOX_PROFILE}

    def up(self) -> None:
        super().up()
        self._configure()

    def _configure(self) -> None:
        """glint's repositories on c1: ``multi`` (alice, one column per region), ``adm``
        and ``admb`` (the sandbox admin in alpha and beta, who may copy-image)."""
        from dataclasses import replace

        from glint_tui.core.config import ConfigStore
        from glint_tui.core.model import Credential
        from glint_tui.core.secrets import SecretStore
        from glint_tui.sandbox.cloud import ADMIN_PASSWORD

        paths = self.sandbox.paths
        store, secrets = ConfigStore(paths), SecretStore(paths)
        c1 = self.sandbox.repository(self.sandbox.cloud("c1"))
        known = {r.name for r in store.repositories()}
        for name, project, user, password in (
            ("multi", "alpha", "alice", "alice-pass"),
            ("adm", "alpha", "admin", ADMIN_PASSWORD),
            ("admb", "beta", "admin", ADMIN_PASSWORD),
        ):
            if name in known:
                continue
            store.add_repository(
                replace(c1, name=name, region=None if name == "multi" else "RegionOne")
            )
            cred = Credential(name, project, user)
            secrets.set(cred.secret_key, password)
            store.add_credential(cred)

    def source(self, size: int) -> tuple[str, str]:
        """A random *size*-byte image in RegionOne (project alpha): its id and name."""
        image_id, _ = self.upload_random(size)
        return image_id, self.image(self.r1, image_id)["name"]

    def undo(self, run: str, src_id: str, outcome: dict) -> None:
        """Remove what the run made, so the next round copies again."""
        if run == "c":
            r = self.s.delete(self.r1 + f"/v2/stores/second/{src_id}", raise_exc=False)
        else:
            url = self.r2 if run in "ab" else self.r1
            r = self.s.delete(url + f"/v2/images/{outcome['image_id']}", raise_exc=False)
        if r.status_code >= 400:
            raise SystemExit(f"cleanup after ({run}) failed: {r.status_code} {r.text[:200]}")


def glint_copy(bed: Bed, run: str, name: str) -> dict:
    """One ``glint copy`` subprocess: wall, socket bytes, engine bytes, peak RSS."""
    from glint_tui.core.paths import paths_for

    _, dests, extra = RUNS[run]
    shutil.rmtree(paths_for("sandbox").spool_dir, ignore_errors=True)  # read the source
    io_file = bed.home / "io.json"
    io_file.unlink(missing_ok=True)
    argv = ["copy", name, *[x for d in dests for x in ("--to", d)], *extra, "--yes", "-q"]
    args = [sys.executable, __file__, "--as-glint", str(io_file), "--", *argv, "--json"]
    out_file, err_file = bed.home / "out.json", bed.home / "err.txt"
    with out_file.open("wb") as out, err_file.open("wb") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(args, env=bed.env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - t0
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"({run}) glint copy failed ({code}): {err_file.read_text()}")
    (outcome,) = json.loads(out_file.read_text())["result"]["outcomes"]
    moved = json.loads(io_file.read_text())
    return {
        "s": wall,
        "socket_mib": (moved["sent"] + moved["received"]) / MiB,
        "engine_mib": outcome["bytes"] / MiB,
        "method": outcome["method"],
        "outcome": outcome,
        "rss_mib": usage.ru_maxrss / 1024,
    }


def main() -> None:
    ap = cloudside_raw.arguments(__doc__, DEFAULT_HOME)
    ap.add_argument("--as-glint", metavar="OUT", help=argparse.SUPPRESS)
    args, rest = ap.parse_known_args()
    if args.as_glint:
        return as_glint(args.as_glint, [a for a in rest if a != "--"])
    bed = Bed(args.home)
    if args.down:
        bed.sandbox.wipe(print)
        shutil.rmtree(args.home, ignore_errors=True)
        return None
    started_here = not bed.sandbox.running
    bed.up()
    try:
        for size in [cloudside_raw.parse_size(s) for s in args.size or ["1G"]]:
            measure(bed, size, args.rounds)
    finally:
        if started_here and not args.keep:
            bed.sandbox.wipe(print)
            shutil.rmtree(args.home, ignore_errors=True)
    return None


def measure(bed: Bed, size: int, rounds: int) -> None:
    src_id, name = bed.source(size)
    results: dict[str, list[dict]] = {r: [] for r in RUNS}
    order = list(RUNS)
    try:
        for n in range(rounds):
            for run in order[n % 4 :] + order[: n % 4]:
                row = glint_copy(bed, run, name)
                results[run].append(row)
                bed.undo(run, src_id, row["outcome"])
            line = "  ".join(f"{r} {results[r][-1]['s']:6.1f}s" for r in RUNS)
            print(f"{size // MiB} MiB round {n + 1}: {line}", flush=True)
    finally:
        bed.s.delete(bed.r1 + f"/v2/images/{src_id}", raise_exc=False)
    report(size, results)


def report(size: int, results: dict[str, list[dict]]) -> None:
    med = {
        r: {k: statistics.median(x[k] for x in rows) for k in ("s",)} for r, rows in results.items()
    }
    print(f"\n{size // MiB} MiB, median of {len(results['a'])} rounds (glint copy, this host)")
    head = f"{'wall s':>7} {'socket MiB':>11} {'engine MiB':>11} {'peak RSS MiB':>13}"
    print(f"  {'run':<26} {'method':<16} {head}")
    for r, rows in results.items():
        print(
            f"  ({r}) {RUNS[r][0]:<22} {rows[0]['method']:<16} {med[r]['s']:7.1f} "
            f"{max(x['socket_mib'] for x in rows):11.2f} "
            f"{max(x['engine_mib'] for x in rows):11.0f} {max(x['rss_mib'] for x in rows):13.0f}"
        )
    for cloud, stream in (("a", "b"), ("c", "d")):
        c, s = results[cloud], results[stream]
        bytes_c = max(x["socket_mib"] for x in c)
        bytes_s = max(x["socket_mib"] for x in s)
        rss_c, rss_s = max(x["rss_mib"] for x in c), max(x["rss_mib"] for x in s)
        print(
            f"  ({stream}) / ({cloud}): wall {med[stream]['s'] / med[cloud]['s']:.2f}, "
            f"socket bytes {bytes_s / bytes_c:.0f}x, peak RSS {rss_s / rss_c:.2f}"
        )
    print(flush=True)


if __name__ == "__main__":
    main()
