"""The run journal: what glint is about to create, written *before* it happens.

One JSON-lines file per run under ``paths.journal_dir``; every line is flushed and
fsync'd, so after a crash (even SIGKILL) the file says which images glint may have left
half-done. A running process holds an exclusive ``flock`` on its file: a file nobody
holds, whose pid is gone (or that recorded ``run-end``), belongs to a finished run and
``core.reconcile`` may clean up after it.

The same lines are the audit log: time, OS user, host, action, source, destination,
bytes and result (``glint`` never writes secrets here).
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from glint_tui.core.jsonfile import BadJSON, parse_json
from glint_tui.core.model import ProjectRef
from glint_tui.core.paths import Paths
from glint_tui.core.safetext import escape

try:  # Unix: a lock tells a live run from a dead one even if its pid was reused
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

TRANSFER_PROPERTY = "glint_transfer_id"
"""Image property naming the transfer that created an image (reconcile matches on it)."""

# entry kinds
RUN_START, RUN_END, RECONCILED = "run-start", "run-end", "reconciled"
CREATING, CREATED, VERIFIED, FAILED, CLEANED = (
    "creating",
    "created",
    "verified",
    "failed",
    "cleaned",
)
DELETED, DELETE_FAILED = "deleted", "delete-failed"
# copy-image adds a store to an image that exists (no creation); a cloud-side import that
# failed or stalled and is streamed instead
ADDING_STORE, FALLBACK = "adding-store", "fallback"
RESOLVED = (VERIFIED, CLEANED)


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (containers)
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def new_run_id() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


class Journal:
    """The journal of one run (this process). Thread-safe appends; use as a context."""

    def __init__(self, paths: Paths, run_id: str | None = None, command: str = "") -> None:
        self.run_id = run_id or new_run_id()
        self.dir = paths.journal_dir
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.path = self.dir / f"{self.run_id}.jsonl"
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8")
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        import threading

        self._lock = threading.Lock()
        self._seq = 0
        self.record(
            RUN_START,
            pid=os.getpid(),
            user=_user(),
            host=socket.gethostname(),
            command=command,
        )

    def transfer_id(self) -> str:
        """A fresh id for one destination attempt (the image property's value)."""
        with self._lock:
            self._seq += 1
            return f"{self.run_id}.{self._seq}"

    def record(self, kind: str, **fields: Any) -> None:
        """Append one entry and fsync it before returning (the crash-safety guarantee)."""
        entry = {"t": time.time(), "run": self.run_id, "kind": kind, **fields}
        line = json.dumps(entry, sort_keys=True, default=str) + "\n"
        with self._lock:
            if self._file.closed:
                return
            self._file.write(line)
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self, **fields: Any) -> None:
        if self._file.closed:
            return
        self.record(RUN_END, **fields)
        with self._lock:
            self._file.close()  # releases the flock

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(error=repr(exc[1]) if exc[1] else None)


# --- reading ----------------------------------------------------------------------------


@dataclass
class PendingCreate:
    """An image a run set out to create that was never verified nor cleaned up."""

    transfer_id: str
    ref: str
    name: str
    content_key: str | None
    image_id: str | None = None


@dataclass
class RunLog:
    run_id: str
    path: Path
    entries: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # "<file>: line N: why", one per line

    @property
    def start(self) -> dict[str, Any]:
        return next((e for e in self.entries if e.get("kind") == RUN_START), {})

    @property
    def pid(self) -> int | None:
        return self.start.get("pid")

    @property
    def ended(self) -> bool:
        return any(e.get("kind") == RUN_END for e in self.entries)

    @property
    def reconciled(self) -> bool:
        return bool(self.entries) and self.entries[-1].get("kind") == RECONCILED

    def pending(self) -> list[PendingCreate]:
        """Creations with no ``verified``/``cleaned`` entry: what reconcile must look at."""
        out: dict[str, PendingCreate] = {}
        for e in self.entries:
            tid = e.get("transfer_id")
            kind = e.get("kind")
            if not tid:
                continue
            if kind == CREATING:
                out[tid] = PendingCreate(tid, e["ref"], e.get("name", ""), e.get("content_key"))
            elif kind == CREATED and tid in out:
                out[tid].image_id = e.get("image_id")
            elif kind in RESOLVED:
                out.pop(tid, None)
        return list(out.values())


_OPTIONAL_TEXT = ("transfer_id", "image_id", "content_key", "name", "host")


def _entry_problem(entry: Any) -> str | None:
    """Why *entry* cannot be a journal entry glint wrote, or None when it can be.

    Only the fields reconcile acts on are checked: their types, a parsable ``ref`` on a
    creation, a real pid on a run start.
    """
    if not isinstance(entry, dict):
        return "not a journal entry (a JSON object)"
    if not isinstance(entry.get("kind"), str):
        return "no 'kind'"
    for key in _OPTIONAL_TEXT:
        if entry.get(key) is not None and not isinstance(entry[key], str):
            return f"{key}: not a string"
    if entry["kind"] == CREATING:
        if not entry.get("transfer_id"):
            return "a creation without a transfer_id"
        if not _is_ref(entry.get("ref")):
            return f"ref: not REPO:PROJECT ({escape(repr(entry.get('ref')))[:80]})"
    pid = entry.get("pid")
    bad_pid = isinstance(pid, bool) or not isinstance(pid, int) or not 0 < pid < 2**31
    if entry["kind"] == RUN_START and pid is not None and bad_pid:
        return "pid: not a process id"
    return None


def _is_ref(value: Any) -> bool:
    try:
        ProjectRef.parse(value)
    except (ValueError, AttributeError):
        return False
    return True


def read_run(path: Path) -> RunLog:
    """Parse one journal file. A line that is not an entry glint wrote (a torn last line
    after a crash, bytes that are not UTF-8 or JSON, wrong field types) is skipped and
    listed in ``skipped``; the rest of the file still counts."""
    log = RunLog(path.stem, path)
    try:
        data = path.read_bytes()
    except OSError as e:
        log.skipped.append(f"{path}: cannot read: {e.strerror}")
        return log
    for number, line in enumerate(data.split(b"\n"), 1):
        if not line.strip():
            continue
        where = f"{path}: line {number}"
        try:
            entry = parse_json(line, where)
        except BadJSON as e:
            log.skipped.append(str(e))
            continue
        problem = _entry_problem(entry)
        if problem:
            log.skipped.append(f"{where}: {problem}")
        else:
            log.entries.append(entry)
    return log


def journal_files(paths: Paths) -> list[Path]:
    if not paths.journal_dir.is_dir():
        return []
    return sorted(paths.journal_dir.glob("*.jsonl"))


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


@contextlib.contextmanager
def claim_finished_run(path: Path) -> Iterator[bool]:
    """Lock a run's file if its run is over (nobody holds the lock): yields True then.

    While held, appending (``append_entry``) is safe: no live run writes to it.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    except OSError:
        yield False
        return
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield False
                return
        yield True
    finally:
        os.close(fd)


def append_entry(path: Path, kind: str, **fields: Any) -> None:
    """Append to a *finished* run's journal (reconcile's notes), fsync'd.

    After a line torn by a crash (no final newline) the entry starts on a line of its own,
    so the torn bytes cannot swallow it.
    """
    entry = {"t": time.time(), "run": path.stem, "kind": kind, **fields}
    line = (json.dumps(entry, sort_keys=True, default=str) + "\n").encode()
    with open(path, "ab+") as f:
        if f.seek(0, os.SEEK_END) > 0:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                line = b"\n" + line
        f.write(line)
        f.flush()
        os.fsync(f.fileno())
