"""Faults end quickly: a cloud that accepts connections and never answers costs one call
timeout (``core.timeouts``), not minutes, and the process never waits for a stuck thread.

The hung Keystone is a plain TCP listener on 127.0.0.1 that accepts and never replies: no
real Keystone can be made to do that on purpose (a SIGSTOPped one stops accepting once its
backlog fills), and it is exactly what a firewalled or wedged endpoint looks like.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from glint_tui.core.timeouts import Timeouts
from tests.helpers import run_glint as glint

DEADLINE = 110.0  # below the inventory's own 120 s cut-off: the call timeout must end it


@pytest.mark.sandbox
def test_images_ends_promptly_when_keystone_accepts_and_never_answers(sandbox, silent_keystone):
    """Reproduced: `glint images` printed "no answer within 120 s" and then waited 301 s
    for the hung thread. Now the login's own timeout (30 s by default) ends that column
    with one line, the other columns are listed, and the process exits."""
    env = sandbox.env()
    add = glint(env, "repository", "add", "hung", silent_keystone.url, "--no-verify")
    assert add.returncode == 0, add.stderr
    try:
        cred = glint(
            env, "credentials", "add", "hung:alpha", "--username", "u", "--password-stdin",
            "--no-verify", input="some-password\n",
        )  # fmt: skip
        assert cred.returncode == 0, cred.stderr
        out = glint(env, "images", timeout=DEADLINE)  # raises TimeoutExpired if it hangs
        assert out.returncode == 3, out.stderr  # partial: the sandbox columns are listed
        assert silent_keystone.accepted, "glint never reached the silent Keystone"
        [line] = [x for x in out.stdout.splitlines() if x.startswith("! hung:alpha")]
        assert line == (
            f"! hung:alpha: Keystone at http://127.0.0.1:{silent_keystone.port} did not "
            f"answer within {Timeouts().auth:.0f} s while trying to log in"
        )
        assert "Traceback" not in out.stderr and "Failed to contact" not in out.stderr
        doc = json.loads(glint(env, "images", "--json", timeout=DEADLINE).stdout)
        errors = {c["ref"]: c["error"] for c in doc["columns"]}
        assert "did not answer" in errors["hung:alpha"] and errors["c1:alpha"] is None
    finally:
        glint(env, "repository", "delete", "hung", "--yes")


def test_glint_exits_without_waiting_for_a_thread_stuck_in_a_cloud_call(tmp_path: Path):
    """A worker blocked forever (as in a call to a hung cloud) must not keep `glint` alive
    after it has printed its result: Python would join it at exit."""
    script = (
        "import threading\n"
        "threading.Thread(target=threading.Event().wait, name='stuck').start()\n"
        "from glint_tui.cli import run\n"
        "run(['images'])\n"
    )
    env = {**os.environ, "GLINT_HOME": str(tmp_path), "GLINT_PROFILE": "default"}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2  # no credentials configured: a usage error, then out
    assert done.stderr.strip().startswith("glint: no credentials configured")


def test_timeouts_are_set_per_profile_and_checked_on_load(silent_keystone, tmp_path: Path):
    """``settings.json`` ``"timeouts"`` changes how long glint waits; a bad value is a
    one-line configuration error (exit 2) naming the file and the key."""
    env = {**os.environ, "GLINT_HOME": str(tmp_path), "GLINT_PROFILE": "default",
           "GLINT_KEYRING_PASSWORD": "test-master-password"}  # fmt: skip
    assert (
        glint(env, "repository", "add", "hung", silent_keystone.url, "--no-verify").returncode == 0
    )
    cred = glint(
        env, "credentials", "add", "hung:alpha", "--username", "u", "--password-stdin",
        "--no-verify", input="some-password\n",
    )  # fmt: skip
    assert cred.returncode == 0, cred.stderr
    settings = tmp_path / "profiles" / "default" / "config" / "settings.json"
    settings.write_text(json.dumps({"version": 1, "settings": {"timeouts": {"auth": 2}}}))
    out = glint(env, "images", timeout=DEADLINE)
    assert out.returncode == 1, out.stderr  # the only column failed
    assert "did not answer within 2 s while trying to log in" in out.stdout
    for bad, key in (({"auth": "soon"}, "timeouts.auth"), ({"connct": 3}, "timeouts.connct")):
        settings.write_text(json.dumps({"version": 1, "settings": {"timeouts": bad}}))
        out = glint(env, "images", timeout=DEADLINE)
        assert out.returncode == 2, out.stderr
        [line] = out.stderr.strip().splitlines()[-1:]
        assert line.startswith(f"glint: {settings}: {key}:"), out.stderr
