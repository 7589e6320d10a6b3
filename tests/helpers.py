"""Small helpers shared by the integration tests."""

from __future__ import annotations

import hashlib
import io
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
