"""End to end: the installed ``glint`` binary in a real terminal (tmux), driven by keys,
copies an image between two sandbox clouds; the copy is then checked on the cloud."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from glint_tui.core.model import ProjectRef
from tests.helpers import random_bytes, sha512, unique, upload_image

pytestmark = [
    pytest.mark.sandbox,
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]

GLINT = Path(sys.executable).parent / "glint"


class Tmux:
    """One private tmux server (its own socket) holding one pane."""

    def __init__(self, command: str, width: int = 120, height: int = 36) -> None:
        self.socket = f"glint-e2e-{uuid.uuid4().hex[:8]}"
        self._run("new-session", "-d", "-s", "e2e", "-x", str(width), "-y", str(height), command)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, check=False
        )

    def keys(self, *keys: str) -> None:
        self._run("send-keys", "-t", "e2e", *keys)

    def text(self, *chars: str) -> None:
        self._run("send-keys", "-t", "e2e", "-l", *chars)

    def screen(self) -> str:
        return self._run("capture-pane", "-t", "e2e", "-p").stdout

    def alive(self) -> bool:
        return self._run("has-session", "-t", "e2e").returncode == 0

    def wait_for(self, needle: str, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if needle in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not on screen after {timeout}s:\n{screen}")
            time.sleep(0.2)

    def close(self) -> None:
        self._run("kill-server")

    @property
    def pane_pid(self) -> int:
        return int(self._run("display", "-p", "-t", "e2e", "#{pane_pid}").stdout)


def start_glint(sandbox, *args: str) -> Tmux:
    """The installed `glint` UI on the sandbox in a tmux pane; its exit code is printed as
    ``GLINT-EXIT=<code>`` (``sleep`` keeps the pane readable if glint dies)."""
    assert GLINT.exists(), "install the project: .venv/bin/pip install -e ."
    env = sandbox.env()
    env["TERM"] = "xterm-256color"
    exports = " ".join(
        f"{k}={shlex.quote(v)}"
        for k, v in env.items()
        if k.startswith(("GLINT_", "PATH", "HOME", "TERM", "LANG", "LC_"))
    )
    return Tmux(f"env {exports} {GLINT} {shlex.join(args)}; echo GLINT-EXIT=$?; sleep 30")


def review_copy_to_c2_alpha(tmux: Tmux, name: str) -> str:
    """Filter the matrix to *name*, toggle its c2 (alpha) cell, open the plan review."""
    tmux.wait_for("image  (", 60)
    tmux.keys("/")
    tmux.wait_for("contains", 10)
    tmux.text(name)
    tmux.keys("Enter")
    tmux.wait_for("(1 of", 10)
    tmux.keys("l", "l")  # columns: c1 (alpha), c1 (beta), c2 (alpha)
    tmux.wait_for("c2 (alpha): absent", 10)
    tmux.keys("Space")
    tmux.wait_for("c2 (alpha): copy planned", 10)
    tmux.keys("a")
    return tmux.wait_for("Review the plan", 30)


def test_glint_binary_copies_an_image_in_tmux(sandbox):
    name = unique("e2e")
    data = random_bytes(400_000)
    src = sandbox.session("c1:alpha")
    try:
        upload_image(src, name, data)
    finally:
        src.close()
    tmux = start_glint(sandbox, "--sandbox")
    try:
        review = review_copy_to_c2_alpha(tmux, name)
        assert "c1:alpha → c2:alpha" in review
        tmux.keys("y")
        tmux.wait_for("every cell verified", 120)
        tmux.wait_for("c2 (alpha): present", 60)
        tmux.keys("q")
        tmux.wait_for("GLINT-EXIT=0", 20)
    finally:
        tmux.close()
    dst = sandbox.session(ProjectRef("c2", "alpha"))
    try:
        copies = [i for i in dst.list_images() if i.name == name]
    finally:
        dst.close()
    assert len(copies) == 1 and copies[0].os_hash_value == sha512(data)
