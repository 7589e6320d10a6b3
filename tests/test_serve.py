"""``glint serve``: the same UI in a real browser (headless Chromium), read-only by default,
on loopback only, and saying how to get there through SSH.

What the browser test proves: the page connects, its terminal is sent the matrix of the
real sandbox clouds (read back from the WebSocket frames Chromium received: xterm.js
draws on a canvas, so there is no DOM text), the page shows it (textual-serve's
``-first-byte`` mark), and a key typed into the page reaches glint (the help opens). It
does not read the pixels back; it saves a screenshot beside the test's files for people.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from tests.browser import chromium, open_page
from tests.helpers import wait_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(pid: int) -> set[tuple[str, int]]:
    try:
        conns = psutil.Process(pid).net_connections(kind="inet")
    except psutil.NoSuchProcess:
        return set()
    return {(c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN}


def _serve(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "glint_tui", "serve", *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """SIGTERM (textual-serve exits gracefully), then what it printed."""
    proc.terminate()
    try:
        return proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


@pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_glint_serve_shows_the_matrix_in_a_real_browser_read_only(sandbox, tmp_path: Path):
    port = _free_port()
    server = _serve(sandbox.env(), "--port", str(port))
    try:
        wait_for(lambda: ("127.0.0.1", port) in _listening(server.pid), 60, "glint serve")
        assert _listening(server.pid) == {("127.0.0.1", port)}, "loopback only"

        async def browse() -> None:
            async with open_page(f"http://127.0.0.1:{port}/", tmp_path / "chromium") as page:
                # a seeded image, the columns, the status line and the read-only banner (other
                # tests' images may push the rest of the seeded ones off the first screen)
                await page.wait_for_text("cirros-0.6", "c2 (alpha)", "show all", "READ-ONLY")
                assert await page.evaluate("document.body.classList.contains('-first-byte')")
                await page.screenshot(tmp_path / "matrix.png")
                await page.press("?", "?")
                await page.wait_for_text("Glint keys", timeout=30)
                await page.screenshot(tmp_path / "help.png")

        asyncio.run(browse())
        apps = psutil.Process(server.pid).children(recursive=True)
    finally:
        out, err = _stop(server)
    assert f"at http://127.0.0.1:{port}, read-only" in err
    assert f"ssh -L {port}:127.0.0.1:{port} " in err
    gone, alive = psutil.wait_procs(apps, timeout=20)
    assert not alive, "every browser tab's glint UI ends with the server"


def test_serve_warns_that_another_address_has_no_authentication(tmp_path: Path):
    """127.0.0.2 stands for "another address" without listening off this machine."""
    port = _free_port()
    env = {"GLINT_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    server = _serve(env, "--port", str(port), "--host", "127.0.0.2", "--allow-changes")
    try:
        wait_for(lambda: ("127.0.0.2", port) in _listening(server.pid), 60, "glint serve")
        assert _listening(server.pid) == {("127.0.0.2", port)}
    finally:
        _out, err = _stop(server)
    assert "no authentication of its own" in err and "127.0.0.2" in err
    assert "changes allowed" in err


def test_serve_on_a_port_in_use_is_one_line_exit_1(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {"GLINT_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
        done = subprocess.run(
            [sys.executable, "-m", "glint_tui", "serve", "--port", str(port)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 1
    # the one line, and no "serving at ..." / ssh tunnel / "Ctrl-C stops it" before it
    assert done.stderr.splitlines() == [
        f"glint: cannot listen on 127.0.0.1:{port}: address already in use"
    ]
