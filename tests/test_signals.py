"""SIGTERM (``kill``, systemd, a container stop) ends glint like Ctrl-C: transfers are
aborted, their half-made images and partial spool files removed, exit 130."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import sys

import psutil
import pytest

from glint_tui.core.journal import TRANSFER_PROPERTY
from glint_tui.core.spool import Spool
from tests.helpers import random_bytes, unique, wait_for
from tests.test_cli_transfer import Terminal, put
from tests.test_crash_recovery import _created_entries
from tests.test_ui_tmux_e2e import review_copy_to_c2_alpha, start_glint

pytestmark = pytest.mark.sandbox
MiB = 1 << 20
DESTS = ("c2:alpha", "c3:alpha")


def _leftovers(sandbox, ref: str, name: str, transfer_ids: set[str]) -> list[str]:
    """Images at *ref* named *name* or carrying one of the run's transfer ids."""
    s = sandbox.session(ref)
    try:
        return [
            f"{i.id} ({i.status})"
            for i in s.list_images()
            if i.name == name or i.properties.get(TRANSFER_PROPERTY) in transfer_ids
        ]
    finally:
        s.close()


@pytest.mark.parametrize("command", ["copy", "apply"])
def test_sigterm_during_copy_cleans_up_and_exits_130(sandbox, tmp_path, command):
    """Reproduced: exit 143 (killed by the signal), a `queued`/`saving` image at each
    destination and a `.partial` file in the spool."""
    name = unique(f"sigterm-{command}")
    put(sandbox, "c1:alpha", name, random_bytes(24 * MiB))
    if command == "copy":
        args = ["copy", name, "--to", DESTS[0], "--to", DESTS[1]]
    else:
        desired = tmp_path / "desired.json"
        desired.write_text(json.dumps({name: ["c1:alpha", *DESTS]}))
        args = ["apply", str(desired)]
    spool = Spool(sandbox.paths.spool_dir)
    proc = subprocess.Popen(
        [sys.executable, "-m", "glint_tui", *args, "--max-rate", "2M"],
        env=sandbox.env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # bytes are flowing: both half images exist and the stream is being spooled
        wait_for(lambda: len(_created_entries(sandbox, name)) == 2, 90, "both images created")
        wait_for(lambda: any(p.stat().st_size for p in spool.partials()), 30, "spooling")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=150)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "glint: interrupted" in err, err
    assert "✗" not in err, err  # a cancelled copy is not reported as a failure
    tids = {e["transfer_id"] for e in _created_entries(sandbox, name)}
    for ref in DESTS:
        assert _leftovers(sandbox, ref, name, tids) == [], f"half-made image left at {ref}"
    assert spool.partials() == []


def test_sigterm_in_the_terminal_ui_exits_130(sandbox):
    """The UI (no command) takes SIGTERM itself: nothing running, so it exits 130 at once
    and gives the terminal back (no traceback)."""
    term = Terminal(sandbox)
    term.wait_for(lambda: "image" in term.text and "c1" in term.text, "the matrix")
    term.proc.send_signal(signal.SIGTERM)
    code = term.finish(60)
    assert code == 130, term.text
    assert "Traceback" not in term.text


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_sigterm_during_a_ui_run_cancels_it_cleans_up_and_exits_130(sandbox):
    """The terminal UI, mid-run: SIGTERM cancels the run like X + q, the half-made image is
    deleted, then glint exits 130. The destination Glance is frozen while the run starts,
    so the copy is certainly still in flight when the signal lands."""
    name = unique("sigterm-ui")
    put(sandbox, "c1:alpha", name)
    tmux = start_glint(sandbox)
    frozen = _glance_processes(sandbox.cloud("c2"))
    try:
        review_copy_to_c2_alpha(tmux, name)
        for p in frozen:
            p.suspend()
        tmux.keys("y")
        tmux.wait_for("c2 (alpha): queued", 30)
        pane = psutil.Process(tmux.pane_pid)
        [app] = [p for p in pane.children() if "glint" in " ".join(p.cmdline())]
        app.send_signal(signal.SIGTERM)
        for p in frozen:
            p.resume()
        screen = tmux.wait_for("GLINT-EXIT=", 180)
        assert "GLINT-EXIT=130" in screen, screen
        assert "Traceback" not in screen
    finally:
        for p in frozen:
            with contextlib.suppress(psutil.Error):
                p.resume()
        tmux.close()
    s = sandbox.session("c2:alpha")
    try:
        left = [f"{i.id} ({i.status})" for i in s.list_images() if i.name == name]
    finally:
        s.close()
    assert left == [], "the cancelled copy left a half-made image"


def _glance_processes(cloud) -> list[psutil.Process]:
    master = psutil.Process(cloud.pid("glance"))
    return [master, *master.children(recursive=True)]
