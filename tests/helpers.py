"""Helpers shared by the tests (test files never import each other's): the one poller
(``wait_for``, and ``wait_until`` for Pilot tests), images, copy plans and their checks,
the journal, ports, processes. glint in a real terminal is ``tests.terminals``."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Generator, Iterator
from typing import Any, TypeVar

import psutil

from glint_tui.core import journal as jn
from glint_tui.core.clouds.base import CloudSession, ImageSpec
from glint_tui.core.desired import Desired
from glint_tui.core.events import Event
from glint_tui.core.inventory import Matrix, refresh
from glint_tui.core.journal import TRANSFER_PROPERTY
from glint_tui.core.model import ImageRecord, ProjectRef
from glint_tui.core.plan import Plan, build_plan
from glint_tui.core.sessions import SessionProvider
from glint_tui.core.transfer import RunResult, TransferEngine, TransferOptions

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


def _polls(
    check: Callable[[], T | None], timeout: float, what: str, detail: Callable[[], str] | None
) -> Generator[None, None, T]:
    """The one polling loop of the tests: yields between tries until *check* returns
    something truthy (its value is the generator's return value), and fails naming
    *what* (and *detail*, e.g. the screen) once *timeout* seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            more = f":\n{detail()}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{more}")
        yield


def wait_for(
    check: Callable[[], T | None],
    timeout: float,
    what: str,
    every: float = 0.1,
    detail: Callable[[], str] | None = None,
) -> T:
    """Poll *check* until it returns something truthy; fail with *what* after *timeout*."""
    polls = _polls(check, timeout, what, detail)
    try:
        while True:
            next(polls)
            time.sleep(every)
    except StopIteration as done:
        return done.value


async def wait_until(
    pilot: Any, check: Callable[[], T | None], timeout: float, what: str, every: float = 0.05
) -> T:
    """``wait_for`` for a Textual Pilot test: the app keeps running between tries."""
    polls = _polls(check, timeout, what, None)
    try:
        while True:
            next(polls)
            await pilot.pause(every)
    except StopIteration as done:
        return done.value


def images_named(session: CloudSession, name: str) -> list[ImageRecord]:
    """Every image called *name* that *session*'s project can see."""
    return [i for i in session.list_images() if i.name == name]


def service_pids(cloud: Any, service: str) -> list[int]:
    """A sandbox service's master process and all of its workers (to stop or freeze)."""
    master = psutil.Process(cloud.pid(service))
    return [master.pid, *(p.pid for p in master.children(recursive=True))]


@contextlib.contextmanager
def frozen(cloud: Any, service: str = "glance") -> Iterator[list[int]]:
    """A real hung server: SIGSTOP the service's master and workers (connections are
    accepted, nothing answers, nothing fails), SIGCONT on the way out."""
    pids = service_pids(cloud, service)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield pids
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


KiB = 1024


def glint(sandbox: Any, *args: str) -> subprocess.CompletedProcess[str]:
    """The `glint` command on the test bed's sandbox profile, as a subprocess with no
    terminal (so nothing can be deleted without --yes)."""
    return subprocess.run(
        [sys.executable, "-m", "glint_tui", *args],
        env=sandbox.env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def put(sandbox: Any, ref: str, name: str, data: bytes | None = None, **kw: Any) -> ImageRecord:
    """Upload an image (random 256 KiB unless *data* is given) to *ref*, active."""
    with sandbox.session(ref) as s:
        return upload_image(s, name, data or random_bytes(256 * KiB), **kw)


def at(sandbox: Any, ref: str, name: str) -> list[ImageRecord]:
    """The images called *name* that *ref* sees."""
    with sandbox.session(ref) as s:
        return images_named(s, name)


def run_engine(
    sandbox: Any, plan: Plan, events: list | None = None, cancel: Any = None, **opts: Any
) -> RunResult:
    """Run *plan* with the real engine on the test bed (events appended to *events*)."""

    def on_event(e: Event) -> None:
        if events is not None:
            events.append(e)

    engine = TransferEngine(
        SessionProvider(sandbox.paths), sandbox.paths, on_event=on_event,
        options=TransferOptions(**opts),
    )  # fmt: skip
    return engine.run(plan, cancel)


def refs(*names: str) -> list[ProjectRef]:
    return [ProjectRef.parse(n) for n in names]


def matrix_of(sandbox: Any, columns: list[str] | None = None) -> Matrix:
    """The matrix of the test bed (every column, or only *columns*)."""
    return refresh(SessionProvider(sandbox.paths), refs(*columns) if columns else None)


def copy_plan(sandbox: Any, image: ImageRecord, dests: list[str], **kw: Any) -> Plan:
    """The plan copying *image* (its one row) to each of *dests*."""
    matrix = matrix_of(sandbox)
    rows = [r for r in matrix.rows if r.name == image.name and r.content_key == image.content_key]
    assert len(rows) == 1, rows
    desired = Desired()
    for d in refs(*dests):
        desired.want(rows[0].key, d, True)
    return build_plan(matrix, desired, **kw)


def source_image(sandbox: Any, ref: str, size: int, prefix: str) -> tuple[ImageRecord, bytes]:
    """A uniquely named image at *ref* with metadata a copy must keep, and its bytes."""
    data = random_bytes(size)
    with sandbox.session(ref) as s:
        rec = upload_image(s, unique(prefix), data, os_distro="cirros", glint_note="kept")
        rec = s.update_image(rec.id, min_disk=1, min_ram=64, tags=["golden", "x86"])
    return rec, data


def download_sha512(session: CloudSession, image_id: str) -> str:
    """The sha512 of the bytes Glance serves for *image_id* (not what it claims)."""
    h = hashlib.sha512()
    with session.download(image_id) as dl:
        for chunk in dl:
            h.update(chunk)
    return h.hexdigest()


def user_props(rec: ImageRecord) -> dict[str, Any]:
    return {
        k: v
        for k, v in rec.properties.items()
        if k != TRANSFER_PROPERTY and not k.startswith("owner_specified.openstack.")
    }


def assert_faithful_copy(
    session: CloudSession, name: str, data: bytes, source: ImageRecord
) -> ImageRecord:
    """The one copy called *name* is active, holds *data* and kept *source*'s metadata."""
    found = images_named(session, name)
    assert len(found) == 1, f"{session.where}: {[(i.id, i.status) for i in found]}"
    copy = found[0]
    assert copy.status == "active"
    assert copy.os_hash_value == sha512(data)
    assert download_sha512(session, copy.id) == sha512(data)
    assert copy.size == len(data)
    assert copy.disk_format == source.disk_format
    assert copy.container_format == source.container_format
    assert copy.min_disk == source.min_disk and copy.min_ram == source.min_ram
    assert sorted(copy.tags) == sorted(source.tags)
    assert user_props(copy) == user_props(source)
    assert copy.visibility == "private"
    assert copy.owner == session.project_id
    assert copy.properties.get(TRANSFER_PROPERTY)  # what reconcile recognises
    return copy


def created_entries(sandbox: Any, name: str) -> list[dict[str, Any]]:
    """The journal's ``created`` entries of every run that copied an image called *name*."""
    out = []
    for path in jn.journal_files(sandbox.paths):
        log = jn.read_run(path)
        names = {e.get("transfer_id") for e in log.entries if e.get("name") == name}
        out += [e for e in log.entries if e["kind"] == jn.CREATED and e["transfer_id"] in names]
    return out


def free_port_base(
    count: int, extra: Callable[[int, Any], list[int]] | None = None, shape: Any = None
) -> int:
    """A base whose 2×count ports (BASE+10N, BASE+10N+1) are all free on 127.0.0.1, plus
    ``extra(base, shape)`` (the further Glances of a sandbox shape)."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(30000, 60000, 100)
        ports = [base + 10 * i + k for i in range(count + 1) for k in (0, 1)]
        ports += [base + 10 + k for k in range(2, 6)]  # Swift beside c1 (the swift fixture)
        if extra is not None:
            ports += extra(base, shape)
        if all(_port_free(p) for p in ports):
            return base
    raise RuntimeError("no free port range on 127.0.0.1")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """One free TCP port on 127.0.0.1 (for a single server such as the EC2 emulator)."""
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(30000, 60000)
        if _port_free(port):
            return port
    raise RuntimeError("no free port on 127.0.0.1")


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


class _LoopbackListener:
    """A TCP listener on a free 127.0.0.1 port whose thread hands each accepted
    connection to ``_take`` (what a subclass does with it is its fault)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
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
            self._take(conn)

    def _take(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.sock.close()
        self._thread.join(timeout=5)


class SilentListener(_LoopbackListener):
    """Accepts TCP connections on 127.0.0.1 and never sends a byte.

    No real Keystone can be made to do that on purpose (a SIGSTOPped one stops accepting
    once its backlog fills), and it is exactly what a firewalled or wedged endpoint looks
    like. ``accepted`` holds the connections taken (proof a client reached it).
    """

    def __init__(self) -> None:
        self.accepted: list[socket.socket] = []
        super().__init__()

    def _take(self, conn: socket.socket) -> None:
        self.accepted.append(conn)

    def close(self) -> None:
        super().close()
        for c in self.accepted:
            c.close()


class DroppingProxy(_LoopbackListener):
    """A loopback TCP proxy to *port* that closes its first *drops* connections after
    reading the request, before any answer (what a server recycling a worker, or a load
    balancer dropping a connection, does); later ones are piped through. A real Keystone
    cannot be made to drop one chosen connection. ``accepted`` counts the connections."""

    def __init__(self, port: int, drops: int) -> None:
        self.target = port
        self.drops = drops
        self.accepted = 0
        super().__init__()

    def _take(self, conn: socket.socket) -> None:
        self.accepted += 1
        if self.accepted <= self.drops:
            conn.settimeout(5)
            with contextlib.suppress(OSError):
                conn.recv(65536)
            conn.close()
            return
        threading.Thread(target=self._pipe, args=(conn,), daemon=True).start()

    def _pipe(self, client: socket.socket) -> None:
        with client, socket.create_connection(("127.0.0.1", self.target), timeout=60) as server:

            def copy(src: socket.socket, dst: socket.socket) -> None:
                with contextlib.suppress(OSError):
                    while data := src.recv(65536):
                        dst.sendall(data)
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)

            back = threading.Thread(target=copy, args=(server, client), daemon=True)
            back.start()
            copy(client, server)
            back.join(timeout=60)
