"""A damaged journal never stops reconcile: each line that is not an entry glint wrote is
skipped and reported (file and line), and every other line and run is still reconciled."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from glint_tui.core import journal as jn
from glint_tui.core.clouds.base import ImageSpec
from glint_tui.core.paths import Paths
from tests.helpers import unique

GARBAGE = [
    b"\xff\xfe\x00 not UTF-8",
    b"\x00\x01\x02\x03",
    b"[1, 2, 3]",
    b"[" * 5000 + b"]" * 5000,
    b'{"kind": "creating", "transfer_id": "t.9", "ref": 5}',
    b'{"kind": "creating", "transfer_id": ["t"], "ref": "c1:alpha"}',
    b'{"kind": "run-start", "pid": -1}',
]


def _paths(tmp_path: Path) -> Paths:
    root = tmp_path / "profile"
    return Paths("journal-test", root / "config", root / "data", root / "cache", root / "state")


def test_journal_lines_that_are_not_entries_are_skipped_and_named(tmp_path: Path) -> None:
    paths = _paths(tmp_path)
    paths.journal_dir.mkdir(parents=True)
    path = paths.journal_dir / "20260101T000000-aaaaaaaa.jsonl"
    good = {"kind": "creating", "transfer_id": "t.1", "ref": "c1:alpha", "name": "x"}
    torn = b'{"kind": "created", "transfer_id": "t.1", "ima'  # the crash cut this write
    path.write_bytes(b"\n".join([json.dumps(good).encode(), *GARBAGE, torn]))
    log = jn.read_run(path)
    assert log.entries == [good]
    assert [p.transfer_id for p in log.pending()] == ["t.1"]
    assert len(log.skipped) == len(GARBAGE) + 1
    for number, why in enumerate(log.skipped, 2):
        assert why.startswith(f"{path}: line {number}: ") and "\n" not in why
    assert "not UTF-8 text" in log.skipped[0] and "nested more than" in log.skipped[3]
    assert "ref: not REPO:PROJECT" in log.skipped[4] and "pid: not a process id" in log.skipped[6]
    # reconcile's note after the torn line starts on a line of its own
    jn.append_entry(path, jn.RECONCILED)
    assert jn.read_run(path).reconciled


@pytest.mark.sandbox
def test_one_garbage_journal_line_does_not_stop_reconcile(sandbox) -> None:
    session = sandbox.session("c2:alpha")
    try:
        # a dead run's journal, first in order, that is nothing but garbage
        garbage = sandbox.paths.journal_dir / "00000000T000000-garbage0.jsonl"
        garbage.parent.mkdir(parents=True, exist_ok=True)
        garbage.write_bytes(b"\n".join(GARBAGE) + b"\n")
        # a dead run that left a half-made image, with a garbage line of its own
        run = jn.Journal(sandbox.paths, command="test: a run that died")
        tid = run.transfer_id()
        name = unique("half-made")
        run.record(jn.CREATING, transfer_id=tid, ref="c2:alpha", name=name, content_key=None)
        half = session.create_image(
            ImageSpec(name=name, disk_format="raw", properties={jn.TRANSFER_PROPERTY: tid})
        )
        run.record(jn.CREATED, transfer_id=tid, ref="c2:alpha", image_id=half.id)
        run.close()
        with open(run.path, "ab") as f:
            f.write(b"\x89garbage \x1b[31m\n")

        r = subprocess.run(
            [sys.executable, "-m", "glint_tui", "reconcile", "--json"],
            env=sandbox.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr and "\x1b" not in r.stderr
        report = json.loads(r.stdout)
        assert {"ref": "c2:alpha", "image_id": half.id, "status": "queued"} in report["removed"]
        assert half.id not in {i.id for i in session.list_images()}
        warned = [line for line in r.stderr.splitlines() if "(skipped)" in line]
        assert [w for w in warned if str(garbage) in w] and len(warned) == len(GARBAGE) + 1
        assert any(f"{run.path}: line 5: not UTF-8 text" in w for w in warned)
        assert all(line.startswith("glint: warning: journal ") for line in warned)
        # both runs are settled: the next reconcile has nothing to say about them
        assert jn.read_run(garbage).reconciled and jn.read_run(run.path).reconciled
        again = subprocess.run(
            [sys.executable, "-m", "glint_tui", "reconcile"],
            env=sandbox.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert again.returncode == 0 and "(skipped)" not in again.stderr, again.stderr
    finally:
        session.close()
