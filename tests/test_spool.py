"""The local spool: a damaged entry is the spool's fault (deleted, the source read again),
partial files of killed runs go at the next start, entries are private and evicted."""

from __future__ import annotations

import hashlib
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from glint_tui.core.events import Notice
from glint_tui.core.spool import Spool
from tests.helpers import (
    assert_faithful_copy,
    copy_plan,
    created_entries,
    put,
    random_bytes,
    run_engine,
    sha512,
    source_image,
    unique,
    wait_for,
)

MiB = 1 << 20


def _key(data: bytes) -> str:
    return f"sha512:{hashlib.sha512(data).hexdigest()}"


@pytest.mark.sandbox
def test_corrupted_spool_entry_is_refetched_not_blamed_on_the_source(sandbox):
    """Reproduced: after one byte of a spool entry flipped, every later copy of that image
    failed with "source image … bytes do not match", and the entry stayed."""
    src, data = source_image(sandbox, "c1:alpha", 3 * MiB, "spoolrot")
    first = run_engine(sandbox, copy_plan(sandbox, src, ["c2:alpha"]))
    assert first.exit_code == 0, first.outcomes
    spool = Spool(sandbox.paths.spool_dir)
    entry = spool.get(src.content_key, len(data))
    assert entry is not None, "the first copy did not spool the image"
    raw = bytearray(entry.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    entry.write_bytes(bytes(raw))

    events: list = []
    second = run_engine(sandbox, copy_plan(sandbox, src, ["c3:alpha"]), events, backoff=0.5)
    assert second.exit_code == 0, second.outcomes
    assert (second.spool_reads, second.source_reads) == (1, 1)  # damaged replay, then source
    said = " ".join(e.message for e in events if isinstance(e, Notice))
    assert "spool copy" in said and "damaged" in said, said
    assert "do not match" not in said and "source image" not in said
    s = sandbox.session("c3:alpha")
    try:
        assert_faithful_copy(s, src.name, data, src)
    finally:
        s.close()
    healed = spool.get(src.content_key, len(data))  # re-spooled from the source read
    assert healed is not None and hashlib.sha512(healed.read_bytes()).hexdigest() == sha512(data)


@pytest.mark.sandbox
def test_partial_spool_files_of_killed_runs_are_removed_at_next_start(sandbox):
    spool = Spool(sandbox.paths.spool_dir)
    name = unique("spool-killed")
    put(sandbox, "c1:alpha", name, random_bytes(24 * MiB))
    cmd = [sys.executable, "-m", "glint_tui", "copy", name, "--to", "c2:alpha", "--max-rate",
           "2M", "-q"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=sandbox.env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_for(lambda: created_entries(sandbox, name), 90, "the copy started")
        wait_for(lambda: any(p.stat().st_size for p in spool.partials()), 30, "spooling")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    killed = spool.partials()
    assert killed, "SIGKILL left no partial file (nothing to prove)"
    # another run is spooling right now (this process): its partial file must survive
    live = spool.writer(_key(b"live" * 1024), 4096)
    assert live is not None
    try:
        small = unique("spool-next")
        put(sandbox, "c1:alpha", small)
        done = subprocess.run(
            [sys.executable, "-m", "glint_tui", "copy", small, "--to", "c3:alpha", "-q"],
            env=sandbox.env(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        left = spool.partials()
        assert not set(killed) & set(left), "the killed run's partial file is still there"
        assert live.tmp in left, "a live writer's partial file was deleted"
    finally:
        live.abort()
    assert live.tmp not in spool.partials()


def test_spool_files_are_private_and_unused_entries_are_evicted(tmp_path: Path):
    """Entries are 0600 in a 0700 directory; ``clean`` (each run's start) drops entries
    unused for ``max_age`` and keeps the total under the cap, least recently used first."""
    spool = Spool(tmp_path / "spool", cap_bytes=10_000, max_age=3600)
    now = time.time()
    paths = []
    for i in range(3):
        blob = bytes([i]) * 3000
        w = spool.writer(_key(blob), len(blob))
        assert w is not None
        assert stat.S_IMODE(w.tmp.stat().st_mode) == 0o600
        w.write(blob)
        path = w.commit(*_key(blob).split(":"))
        assert path is not None and stat.S_IMODE(path.stat().st_mode) == 0o600
        used = now - 3000 + i * 1000  # entry 0 is the least recently used
        os.utime(path, (used, used))
        paths.append(path)
    assert stat.S_IMODE(spool.dir.stat().st_mode) == 0o700
    assert sum(p.stat().st_size for p in paths) == 9000
    # a fourth entry would pass the cap: the least recently used one goes to make room
    w = spool.writer(_key(b"z" * 3000), 3000)
    assert w is not None
    assert [p.exists() for p in paths] == [False, True, True]
    w.abort()
    assert spool.partials() == []
    # at the next start, entries unused for longer than max_age go; fresher ones stay
    spool.clean(now=now + 2000)  # entry 1 unused for 4000 s, entry 2 for 3000 s
    assert [p.exists() for p in paths] == [False, False, True]
    # an entry of the wrong size is damaged: never served, and removed
    paths[2].write_bytes(b"short")
    assert spool.get(_key(bytes([2]) * 3000), 3000) is None and not paths[2].exists()
