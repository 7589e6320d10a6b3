"""One run at a time: an fcntl lock per host, and a lock object for remote repositories.

The fcntl lock is never "stale": the kernel frees it when its holder exits, even on
SIGKILL. A repository in Swift or S3 can be reached from many hosts, so it also gets a
``lock`` object (owner, host, pid, expiry), created with a conditional write that only
one host can win, refreshed while the run lives, and deleted at the end. A lock past its
expiry — or one of this host whose process is gone — is taken over with a warning.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from glint_backup import logsetup
from glint_backup.errors import Locked, NoStore

LOCK_FILE = ".lock"
REMOTE_KEY = "lock"
TTL = 600.0  # seconds a remote lock lives without a refresh
REFRESH = 120.0


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold the exclusive lock of *directory* or raise Locked (exit 4) at once."""
    if not Path(directory).is_dir():
        raise NoStore(f"backup directory {directory} does not exist (is the disk mounted?)")
    fd = os.open(Path(directory) / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise Locked(
                f"another glint-backup run (pid {holder}) holds the lock on {directory}"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def local_lock_dir(url: str) -> Path:
    """Where this host keeps the fcntl lock of a remote repository."""
    from glint_tui.core.paths import paths_for

    digest = hashlib.sha256(url.encode()).hexdigest()[:20]
    path = paths_for().state_dir / "backup-locks" / digest
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


@contextlib.contextmanager
def store_locked(store) -> Iterator[None]:
    """The fcntl lock (local directory, or this host's for a remote one), then the remote
    lock when the backend is remote."""
    backend = store.backend
    if not backend.remote:
        with locked(Path(backend.root)):
            yield
        return
    with locked(local_lock_dir(backend.url)), RemoteLock(backend).held():
        yield


class RemoteLock:
    def __init__(self, backend, ttl: float = TTL, refresh: float = REFRESH):
        self.backend = backend
        self.ttl = ttl
        self.refresh = refresh
        self.owner = uuid.uuid4().hex
        self.host = socket.gethostname()

    def _record(self) -> bytes:
        now = time.time()
        return json.dumps({
            "owner": self.owner, "host": self.host, "pid": os.getpid(),
            "created": now, "expires": now + self.ttl,
        }).encode()  # fmt: skip

    def _current(self) -> dict | None:
        data = self.backend.read_bytes(REMOTE_KEY)
        if data is None:
            return None
        try:
            doc = json.loads(data)
            return doc if isinstance(doc, dict) else {}
        except ValueError:
            return {}  # unreadable: treated as stale

    def _stale(self, doc: dict) -> str | None:
        """Why *doc* may be taken over (None: it is alive)."""
        expires = doc.get("expires")
        if not isinstance(expires, (int, float)) or expires < time.time():
            return "expired"
        pid = doc.get("pid")
        if doc.get("host") == self.host and isinstance(pid, int) and not _alive(pid):
            return f"its process {pid} on this host is gone"
        return None

    def acquire(self) -> None:
        log = logsetup.get()
        if self.backend.write_bytes(REMOTE_KEY, self._record(), create_only=True):
            return
        doc = self._current() or {}
        why = self._stale(doc)
        if why is None:
            until = time.strftime("%H:%M:%S", time.localtime(doc["expires"]))
            raise Locked(
                f"another glint-backup run (host {doc.get('host')}, pid {doc.get('pid')}) "
                f"holds the lock on {self.backend.url} (refreshed; expires {until} if it dies)"
            )
        log.warning(
            "taking over the stale lock on %s of host %s, pid %s (%s)",
            self.backend.url, doc.get("host"), doc.get("pid"), why,
        )  # fmt: skip
        self.backend.delete(REMOTE_KEY)
        if not self.backend.write_bytes(REMOTE_KEY, self._record(), create_only=True):
            raise Locked(f"another glint-backup run took the lock on {self.backend.url} first")

    def release(self) -> None:
        with contextlib.suppress(Exception):  # an expired lock is taken over anyway
            doc = self._current()
            if doc and doc.get("owner") == self.owner:
                self.backend.delete(REMOTE_KEY)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.acquire()
        stop = threading.Event()
        thread = threading.Thread(target=self._keep, args=(stop,), daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=30)
            self.release()

    def _keep(self, stop: threading.Event) -> None:
        log = logsetup.get()
        while not stop.wait(self.refresh):
            try:
                doc = self._current()
                if not doc or doc.get("owner") != self.owner:
                    log.error("the lock on %s was taken by another run", self.backend.url)
                    return
                self.backend.write_bytes(REMOTE_KEY, self._record())
            except Exception as e:  # keep trying: the lock lives TTL seconds
                log.warning("could not refresh the lock on %s: %s", self.backend.url, e)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
