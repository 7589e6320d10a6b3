"""Raw Glance HTTP for the cloud-side tests: what glint's adapter does not do (yet).

The tests of interoperable import talk to Glance directly through a keystoneauth session,
so they prove what Glance itself does (which the stage-2 engine relies on), not glint.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

from glint_tui.sandbox.cloud import ADMIN_PASSWORD, MEMBERS, Cloud

MiB = 1 << 20
T = TypeVar("T")
PATCH = {"Content-Type": "application/openstack-images-v2.1-json-patch"}
OCTETS = {"Content-Type": "application/octet-stream"}


def keystone(cloud: Cloud, user: str = "alice", project: str | None = None) -> ks_session.Session:
    """A session as *user* (alice, bob or admin) scoped to *project* (default: their own)."""
    return keystone_at(cloud.keystone_url, user, project)


def keystone_at(url: str, user: str, project: str | None = None) -> ks_session.Session:
    if user == "admin":
        password, default = ADMIN_PASSWORD, "admin"
    else:
        password, default = next((pw, p) for u, pw, p in MEMBERS if u == user)
    auth = v3.Password(
        auth_url=url + "/v3",
        username=user,
        password=password,
        project_name=project or default,
        user_domain_name="Default",
        project_domain_name="Default",
    )
    return ks_session.Session(auth=auth)


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 120.0) -> T:
    """Poll *probe* until it returns something truthy; fail with *what* at the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def image(s: ks_session.Session, url: str, image_id: str) -> dict[str, Any] | None:
    r = s.get(f"{url}/v2/images/{image_id}", raise_exc=False)
    return r.json() if r.status_code == 200 else None


def create(s: ks_session.Session, url: str, name: str, **fields: Any) -> dict[str, Any]:
    body = {"name": name, "disk_format": "raw", "container_format": "bare", **fields}
    return s.post(f"{url}/v2/images", json=body).json()


def new_image(s: ks_session.Session, url: str, name: str, **fields: Any) -> Callable[[], str]:
    """A maker of queued images to import into (``begin_import`` may need more than one)."""
    return lambda: create(s, url, name, **fields)["id"]


def pattern(size: int, seed: bytes = b"") -> Iterator[bytes]:
    """*size* bytes (a multiple of 1 MiB) no layer can deduplicate, cheaply."""
    block = hashlib.sha512(seed).digest() * (MiB // 64)
    for i in range(size // MiB):
        yield i.to_bytes(8, "little") + block[8:]


def upload(
    s: ks_session.Session, url: str, name: str, size: int, **fields: Any
) -> tuple[dict[str, Any], str]:
    """An active raw image of *size* bytes (chunked PUT); returns it and its sha512."""
    img = create(s, url, name, **fields)
    digest = hashlib.sha512()

    def body() -> Iterator[bytes]:
        for chunk in pattern(size, os.urandom(8)):
            digest.update(chunk)
            yield chunk

    s.put(f"{url}/v2/images/{img['id']}/file", data=body(), headers=OCTETS)
    got = image(s, url, img["id"])
    assert got and got["status"] == "active", got
    return got, digest.hexdigest()


def start_import(s: ks_session.Session, url: str, image_id: str, method: dict, **body: Any):
    return s.post(
        f"{url}/v2/images/{image_id}/import", json={"method": method, **body}, raise_exc=False
    )


def glance_download(region: str, image_id: str, interface: str = "public") -> dict[str, str]:
    return {
        "name": "glance-download",
        "glance_region": region,
        "glance_image_id": image_id,
        "glance_service_interface": interface,
    }


def begin_import(
    s: ks_session.Session,
    url: str,
    target: Callable[[], str],
    method: dict,
    **body: Any,
) -> str:
    """Ask for an import into ``target()``'s image; its id once Glance's task has started.

    On the sandbox's SQLite, Glance sometimes fails to save a new task's first change of
    state ("database is locked": oslo.db's deferred BEGIN cannot wait for another writer),
    drops the error in its thread pool, and leaves the task pending for ever, the image
    locked for two hours. That is the database, not the import under test: such an attempt
    is deleted and made again on a new image from *target* (up to three times).
    """
    for _ in range(3):
        image_id = target()
        r = start_import(s, url, image_id, method, **body)
        assert r.status_code == 202, r.text
        try:
            wait_for("the import task to start", lambda i=image_id: _started(s, url, i), 15)
            return image_id
        except AssertionError:
            delete(s, url, image_id)
    raise AssertionError(f"three import tasks at {url} never left 'pending'")


def _started(s: ks_session.Session, url: str, image_id: str) -> bool:
    found = tasks(s, url, image_id)
    return bool(found) and found[0]["status"] != "pending"


def tasks(s: ks_session.Session, url: str, image_id: str) -> list[dict[str, Any]]:
    """Glance's import tasks of an image, newest first (their status and message)."""
    found = s.get(f"{url}/v2/images/{image_id}/tasks").json()["tasks"]
    return sorted(found, key=lambda t: t["created_at"], reverse=True)


def finished_task(s: ks_session.Session, url: str, image_id: str, timeout: float = 300.0):
    """The newest import task once it succeeded or failed (Glance dropped its lock then)."""

    def done() -> dict[str, Any] | None:
        found = tasks(s, url, image_id)
        if found and found[0]["status"] in ("success", "failure"):
            im = image(s, url, image_id)
            if im is None or not im.get("os_glance_import_task"):
                return found[0]
        return None

    try:
        return wait_for(f"the import task of {image_id}", done, timeout)
    except AssertionError as e:  # say where it stuck
        state = image(s, url, image_id)
        raise AssertionError(f"{e}: image {state}, tasks {tasks(s, url, image_id)}") from None


def delete(s: ks_session.Session, url: str, image_id: str) -> None:
    """DELETE, retried: the sandbox Glance's SQLite answers 500 'database is locked' when
    an import task writes at the same moment (a real Glance on MySQL does not)."""

    def attempt() -> bool:
        try:
            r = s.delete(f"{url}/v2/images/{image_id}", raise_exc=False)
        except ks_exc.ConnectFailure:
            return False
        return r.status_code in (204, 404)

    wait_for(f"the deletion of {image_id}", attempt, timeout=30)
    left = image(s, url, image_id)
    # after such a 500 Glance may still show the row, with status "deleted"
    assert left is None or left["status"] == "deleted", left
