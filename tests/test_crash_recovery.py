"""Crash safety: glint SIGKILLed mid-transfer, then reconciled; reconcile's restraint."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from glint_tui.core import journal as jn
from glint_tui.core.clouds.base import ImageSpec
from glint_tui.core.journal import TRANSFER_PROPERTY, Journal
from glint_tui.core.reconcile import reconcile
from glint_tui.core.sessions import SessionProvider
from tests.helpers import random_bytes, unique, upload_image, wait_for
from tests.test_cli_transfer import put
from tests.test_transfer import images_named

pytestmark = pytest.mark.sandbox
MiB = 1 << 20


def _created_entries(sandbox, name: str) -> list[dict]:
    out = []
    for path in jn.journal_files(sandbox.paths):
        log = jn.read_run(path)
        names = {e.get("transfer_id") for e in log.entries if e.get("name") == name}
        out += [e for e in log.entries if e["kind"] == jn.CREATED and e["transfer_id"] in names]
    return out


def test_sigkill_mid_transfer_then_reconcile_leaves_no_half_image(sandbox):
    name = unique("killed")
    s1 = sandbox.session("c1:alpha")
    try:
        upload_image(s1, name, random_bytes(24 * MiB))
    finally:
        s1.close()
    cmd = [sys.executable, "-m", "glint_tui", "copy", name, "--to", "c2:alpha", "--to",
           "c3:alpha", "--max-rate", "2M", "-q"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=sandbox.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        # journalled before bytes move: both destinations' images exist, bytes are flowing
        wait_for(lambda: len(_created_entries(sandbox, name)) == 2, 90, "both images created")
        s2 = sandbox.session("c2:alpha")
        try:
            wait_for(lambda: images_named(s2, name), 30, "the half image at c2")
        finally:
            s2.close()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL

    done = subprocess.run(
        [sys.executable, "-m", "glint_tui", "reconcile", "--json"],
        env=sandbox.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    removed = {r["image_id"] for r in report["removed"]}
    created = {e["image_id"] for e in _created_entries(sandbox, name)}
    assert created <= removed
    for ref in ("c2:alpha", "c3:alpha"):
        s = sandbox.session(ref)
        try:
            assert images_named(s, name) == [], f"half image left at {ref}"
        finally:
            s.close()
    # the dead run is settled and will not be looked at again
    runs = [jn.read_run(p) for p in jn.journal_files(sandbox.paths)]
    killed = [r for r in runs if any(e.get("name") == name for e in r.entries)]
    assert killed and all(r.reconciled for r in killed)


def test_reconcile_touches_only_what_a_finished_run_created(sandbox):
    s = sandbox.session("c2:alpha")
    provider = SessionProvider(sandbox.paths)
    try:
        foreign = s.create_image(ImageSpec(name=unique("foreign"), disk_format="raw"))
        stranger = s.create_image(
            ImageSpec(name=unique("stranger"), disk_format="raw",
                      properties={TRANSFER_PROPERTY: "not-in-any-journal.1"})
        )  # fmt: skip
        # a run (this process, still alive) is about to create an image: its journal is locked
        live = Journal(sandbox.paths, command="test live run")
        tid = live.transfer_id()
        live.record(jn.CREATING, transfer_id=tid, ref="c2:alpha", name="ours", content_key=None)
        ours = s.create_image(
            ImageSpec(name=unique("ours"), disk_format="raw", properties={TRANSFER_PROPERTY: tid})
        )
        # a journal line pointing (wrongly) at an image glint did not tag
        tid2 = live.transfer_id()
        live.record(jn.CREATING, transfer_id=tid2, ref="c2:alpha", name="x", content_key=None)
        live.record(jn.CREATED, transfer_id=tid2, ref="c2:alpha", image_id=foreign.id)

        reconcile(provider, sandbox.paths)
        assert s.get_image(ours.id).status == "queued", "a live run's image was touched"

        live.close()  # the run is over: its unfinished creation is now reconcile's business
        report = reconcile(provider, sandbox.paths)
        assert (("c2:alpha", ours.id, "queued")) in report.removed
        ids = {i.id for i in s.list_images()}
        assert ours.id not in ids
        assert foreign.id in ids and stranger.id in ids  # never touched what it did not create
    finally:
        for img in (foreign, stranger):
            s.delete_image(img.id)
        s.close()


def test_glance_death_mid_copy_says_what_is_left_and_how_to_clean_it(sandbox):
    """A destination Glance dies mid-upload and stays down: the half image there cannot be
    deleted. The failure line names it and says `glint reconcile` (or the next run)
    cleans it; the libraries' own log lines ("Failed to contact the endpoint …") never
    reach the terminal. Once that Glance is back, reconcile removes the leftover."""
    name = unique("glance-dies")
    put(sandbox, "c1:alpha", name, random_bytes(24 * MiB))
    c3 = sandbox.cloud("c3")
    cmd = [sys.executable, "-m", "glint_tui", "copy", name, "--to", "c2:alpha", "--to",
           "c3:alpha", "--max-rate", "3M"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=sandbox.env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        wait_for(lambda: len(_created_entries(sandbox, name)) == 2, 90, "both images created")
        c3.stop(("glance",))
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 3, err  # c2 done, c3 failed
        [line] = [x for x in err.splitlines() if x.startswith("✗ c3:alpha")]
        [at_c3] = [e["image_id"] for e in _created_entries(sandbox, name) if e["ref"] == "c3:alpha"]
        assert f"left behind: half-made image {at_c3}" in line, err
        assert "`glint reconcile` deletes it once c3:alpha answers again" in line, err
        assert "Failed to contact" not in err and "Traceback" not in err, err
        assert "WARNING" not in err and "keystoneauth" not in err, err
    finally:
        if proc.poll() is None:
            proc.kill()
        sandbox.ensure_running()
    done = subprocess.run(
        [sys.executable, "-m", "glint_tui", "reconcile", "--json"],
        env=sandbox.env(), capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert at_c3 in {r["image_id"] for r in json.loads(done.stdout)["removed"]}
    s3 = sandbox.session("c3:alpha")
    try:
        assert images_named(s3, name) == []
    finally:
        s3.close()
