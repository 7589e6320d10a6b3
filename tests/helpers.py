"""Small helpers shared by the integration tests."""

from __future__ import annotations

import hashlib
import io
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from glint_tui.core.clouds.base import CloudSession, ImageSpec
from glint_tui.core.model import ImageRecord

T = TypeVar("T")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def random_bytes(size: int) -> bytes:
    return uuid.uuid4().bytes * (size // 16) + uuid.uuid4().bytes[: size % 16]


def sha512(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def upload_image(
    session: CloudSession,
    name: str,
    data: bytes,
    disk_format: str = "raw",
    visibility: str = "private",
    **properties: Any,
) -> ImageRecord:
    """Create an image with *data* and wait until Glance reports it active."""
    record = session.create_image(
        ImageSpec(name=name, disk_format=disk_format, visibility=visibility, properties=properties)
    )
    session.upload(record.id, io.BytesIO(data), len(data))
    return wait_for(lambda: _active(session, record.id), timeout=60, what=f"{name} active")


def _active(session: CloudSession, image_id: str) -> ImageRecord | None:
    rec = session.get_image(image_id)
    return rec if rec.status == "active" else None


def wait_for(check: Callable[[], T | None], timeout: float, what: str, every: float = 0.1) -> T:
    """Poll *check* until it returns something truthy; fail with *what* after *timeout*."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


def run_glint(
    env: dict[str, str], *args: str, input: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`glint ARGS` as a user runs it, in *env*; stdin is *input* or nothing (no terminal)."""
    return subprocess.run(
        [sys.executable, "-m", "glint_tui", *args],
        env=env,
        input=input,
        stdin=None if input is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def download_sha512(session: CloudSession, image_id: str) -> str:
    """sha512 of what Glance serves for *image_id* (streamed)."""
    h, download = hashlib.sha512(), session.download(image_id)
    try:
        for chunk in download:
            h.update(chunk)
    finally:
        download.close()
    return h.hexdigest()


class SilentListener:
    """Accepts TCP connections on 127.0.0.1 and never sends a byte.

    No real Keystone can be made to do that on purpose (a SIGSTOPped one stops accepting
    once its backlog fills), and it is exactly what a firewalled or wedged endpoint looks
    like. ``accepted`` holds the connections taken (proof a client reached it).
    """

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v3"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.sock.close()
        self._thread.join(timeout=5)
        for c in self.accepted:
            c.close()
