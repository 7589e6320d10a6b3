"""A real headless Chromium for the tests, driven over the DevTools protocol (CDP).

textual-serve draws the terminal with xterm.js on a canvas, so the page's DOM holds no
text to read. What the page *received* is readable: CDP reports every WebSocket frame
the browser got (``Network.webSocketFrameReceived``), and textual-serve sends the
terminal's bytes as they are. ``Page.text`` is those bytes with the escape sequences
removed: the text the page's terminal was given to draw. Keys are typed with
``Input.dispatchKeyEvent``, as a person's keyboard would, and ``screenshot`` saves what
the page looks like for people to look at.

Chromium is started with no network beyond 127.0.0.1 (``--host-resolver-rules``; the
page asks a font server on the internet otherwise), in a fresh profile directory, and
stopped by its PID.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--window-size=1280,800",
    "--remote-debugging-port=0",
)
ESCAPES = re.compile(rb"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Page:
    """One browser tab: CDP commands, and what its WebSockets received."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.received = bytearray()
        self.reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if "id" in data:
                future = self.pending.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
            elif data.get("method") == "Network.webSocketFrameReceived":
                frame = data["params"]["response"]
                payload = frame["payloadData"]
                self.received += base64.b64decode(payload) if frame["opcode"] == 2 else (
                    payload.encode()
                )  # fmt: skip

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        await self.ws.send_json({"id": self.next_id, "method": method, "params": params})
        answer = await asyncio.wait_for(future, 30)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    @property
    def text(self) -> str:
        """What the page's terminal was sent, without escape sequences."""
        return ESCAPES.sub(b"", bytes(self.received)).decode("utf-8", "replace")

    async def wait_for_text(self, *needles: str, timeout: float = 60) -> str:
        """Wait (polling, with a deadline) until every needle arrived; the text."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text
            if all(n in text for n in needles):
                return text
            if time.monotonic() > deadline:
                missing = [n for n in needles if n not in text]
                raise AssertionError(f"the page never received {missing}; got:\n{text[-3000:]}")
            await asyncio.sleep(0.2)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def press(self, key: str, text: str | None = None) -> None:
        """One key as a keyboard types it (``text`` for printable keys), into the
        terminal (xterm.js reads keys from its helper textarea, which needs focus)."""
        await self.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
        params: dict[str, Any] = {"key": key}
        if text is not None:
            params["text"] = text
        await self.send("Input.dispatchKeyEvent", type="keyDown", **params)
        await self.send("Input.dispatchKeyEvent", type="keyUp", key=key)

    async def screenshot(self, path: Path) -> None:
        shot = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))


@contextlib.asynccontextmanager
async def open_page(url: str, profile_dir: Path) -> AsyncIterator[Page]:
    """A fresh headless Chromium showing *url*; stopped (by its PID) on the way out."""
    exe = chromium()
    assert exe, "chromium is not installed (Debian: apt-get install chromium)"
    proc = subprocess.Popen(
        [exe, *FLAGS, f"--user-data-dir={profile_dir}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        port_file = profile_dir / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            assert proc.poll() is None, "chromium exited at start"
            assert time.monotonic() < deadline, "chromium never opened its DevTools port"
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/json/list") as answer:
                targets = await answer.json(content_type=None)
            target = next(t for t in targets if t["type"] == "page")
            async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                page = Page(ws)
                await page.send("Network.enable")
                await page.send("Page.enable")
                await page.send("Page.navigate", url=url)
                try:
                    yield page
                finally:
                    page.reader.cancel()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
