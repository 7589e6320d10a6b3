"""glint in a real terminal, for the tests that need one: ``Terminal`` (a pseudo-terminal:
the CLI's progress line and y/N prompt) and ``Tmux`` (the installed ``glint`` UI in a tmux
pane, driven by keys). Both poll with ``tests.helpers.wait_for``."""

from __future__ import annotations

import os
import pty
import shlex
import subprocess
import sys
import threading
import uuid
from pathlib import Path

from tests.helpers import wait_for


class Terminal:
    """`glint` as a subprocess on a pseudo-terminal (stdin/stdout/stderr are a TTY).

    The TTY matters: the progress line and the confirmation prompt only exist there.
    """

    def __init__(self, sandbox, *args: str) -> None:
        master, slave = pty.openpty()
        self.master = master
        self.output = bytearray()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "glint_tui", *args],
            env=sandbox.env(),
            stdin=slave,
            stdout=slave,
            stderr=slave,
            close_fds=True,
        )
        os.close(slave)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 4096)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            self.output += data

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace")

    def wait_for(self, condition, what: str, timeout: float = 60) -> None:
        def check() -> bool:
            if condition():
                return True
            assert self.proc.poll() is None, f"glint exited before {what}:\n{self.text}"
            return False

        wait_for(check, timeout, what, detail=lambda: self.text)

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def finish(self, timeout: float = 120) -> int:
        try:
            code = self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.reader.join(5)
            os.close(self.master)
        return code


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
        def showing() -> str | None:
            screen = self.screen()
            return screen if needle in screen else None

        return wait_for(showing, timeout, f"{needle!r} on screen", every=0.2, detail=self.screen)

    def close(self) -> None:
        self._run("kill-server")

    @property
    def pane_pid(self) -> int:
        return int(self._run("display", "-p", "-t", "e2e", "#{pane_pid}").stdout)


def start_glint(sandbox, *args: str, size: tuple[int, int] = (120, 36)) -> Tmux:
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
    command = f"env {exports} {GLINT} {shlex.join(args)}; echo GLINT-EXIT=$?; sleep 30"
    return Tmux(command, *size)


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
