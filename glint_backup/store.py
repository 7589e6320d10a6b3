"""The backup directory: a content-addressed, read-only object store plus snapshots.

Layout (every file is written temp + fsync + rename, objects and manifests are 0444)::

    glint-backup-store.json    marker: proves this is (still) the store, e.g. mounted
    objects/ab/cdef…           image data, named by its sha512
    snapshots/<id>.json        manifests (see snapshots.py)
    tmp/                       in-flight downloads; cleaned at the start of every run
    damaged/                   objects verify found corrupt (the next run re-fetches)
    .lock                      fcntl lock (lock.py)
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from glint_backup.errors import DiskFull, NoStore
from glint_tui.core.errors import DataMismatch
from glint_tui.core.fsutil import atomic_write_json, fsync_dir

MARKER = "glint-backup-store.json"
READ_ONLY = 0o444


def free_bytes(directory: Path) -> int:
    """Bytes an unprivileged writer may still use on *directory*'s file system."""
    st = os.statvfs(directory)
    return st.f_bavail * st.f_frsize


@dataclass
class StoredObject:
    sha512: str
    md5: str  # Glance's checksum when sha512 was verified instead
    size: int


def _known_stores_file() -> Path:
    from glint_tui.core.paths import paths_for

    return paths_for().state_dir / "backup-stores.json"


def _known_stores() -> dict[str, str]:
    try:
        return json.loads(_known_stores_file().read_text())
    except (OSError, ValueError):
        return {}


class ObjectStore:
    """One backup directory. ``open`` refuses a missing, foreign or unmounted directory."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.objects = self.root / "objects"
        self.snapshots = self.root / "snapshots"
        self.tmp = self.root / "tmp"
        self.damaged = self.root / "damaged"

    # -- opening --------------------------------------------------------------------------
    @classmethod
    def open(cls, root: Path, create: bool = True) -> ObjectStore:
        """Open the store at *root*, initialising an empty directory on first use.

        A directory that held a store before (recorded in glint's state dir) but has no
        marker now is an unmounted disk: refused with exit 5 rather than filling ``/``.
        """
        store = cls(root)
        if not store.root.is_dir():
            raise NoStore(f"backup directory {store.root} does not exist (is the disk mounted?)")
        marker = store.root / MARKER
        if marker.is_file():
            return store
        known = _known_stores()
        if str(store.root.resolve()) in known:
            raise NoStore(
                f"backup directory {store.root} no longer holds its store "
                f"(store {known[str(store.root.resolve())]}): is the disk mounted?"
            )
        if any(p.name != ".lock" for p in store.root.iterdir()):
            raise NoStore(
                f"{store.root} is not empty and not a glint-backup store; "
                "point glint_backup_dir at an empty directory"
            )
        if not create:
            raise NoStore(f"{store.root} is not a glint-backup store (no backup ran yet)")
        store._initialise()
        return store

    def _initialise(self) -> None:
        store_id = str(uuid.uuid4())
        for d in (self.objects, self.snapshots, self.tmp, self.damaged):
            d.mkdir(mode=0o700, exist_ok=True)
        atomic_write_json(
            self.root / MARKER,
            {
                "format": 1,
                "store_id": store_id,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
            mode=READ_ONLY,
        )
        with contextlib.suppress(OSError):
            known = _known_stores()
            known[str(self.root.resolve())] = store_id
            atomic_write_json(_known_stores_file(), known)

    # -- objects ----------------------------------------------------------------------------
    def path(self, sha512: str) -> Path:
        return self.objects / sha512[:2] / sha512[2:]

    def has(self, sha512: str, size: int | None = None) -> bool:
        """Present (and of the expected size, when given): cheap, no re-hash."""
        try:
            st = self.path(sha512).stat()
        except FileNotFoundError:
            return False
        return size is None or st.st_size == size

    def iter_objects(self) -> Iterator[tuple[str, Path]]:
        if not self.objects.is_dir():
            return
        for sub in sorted(self.objects.iterdir()):
            if sub.is_dir() and len(sub.name) == 2:
                for f in sorted(sub.iterdir()):
                    yield sub.name + f.name, f

    def clean_tmp(self) -> int:
        """Remove what a killed run left in tmp/ (call with the lock held)."""
        removed = 0
        self.tmp.mkdir(mode=0o700, exist_ok=True)
        for f in self.tmp.iterdir():
            with contextlib.suppress(OSError):
                f.unlink()
                removed += 1
        return removed

    def ensure_space(self, size: int, reserve: int) -> None:
        free = free_bytes(self.root)
        if free < size + reserve:
            raise DiskFull(
                f"backup disk full: {free} bytes free, {size} needed plus {reserve} kept free"
            )

    def add_stream(
        self,
        chunks: Iterable[bytes],
        expect_sha512: str | None = None,
        expect_md5: str | None = None,
        expect_size: int | None = None,
    ) -> StoredObject:
        """Write *chunks* into the store, hashing on the fly; verify, fsync, rename, 0444.

        A mismatch with what Glance claims raises DataMismatch and stores nothing.
        """
        sha, size = hashlib.sha512(), 0
        # md5 only when Glance gave no sha512: a second hash would halve the throughput
        md5 = None if expect_sha512 else hashlib.md5(usedforsecurity=False)
        self.tmp.mkdir(mode=0o700, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix="dl-", suffix=".part", dir=self.tmp)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb", buffering=0) as f:
                for chunk in chunks:
                    sha.update(chunk)
                    if md5 is not None:
                        md5.update(chunk)
                    size += len(chunk)
                    view = memoryview(chunk)
                    while view:
                        view = view[f.write(view) :]
                os.fsync(f.fileno())
            digest = sha.hexdigest()
            md5_hex = md5.hexdigest() if md5 is not None else (expect_md5 or "")
            if expect_size is not None and size != expect_size:
                raise DataMismatch(f"size {size} differs from Glance's {expect_size}")
            if expect_sha512 and digest != expect_sha512:
                raise DataMismatch("sha512 of the downloaded data differs from Glance's")
            if expect_md5 and md5_hex != expect_md5:
                raise DataMismatch("md5 of the downloaded data differs from Glance's checksum")
            final = self.path(digest)
            final.parent.mkdir(mode=0o700, exist_ok=True)
            os.chmod(tmp, READ_ONLY)
            os.replace(tmp, final)
            fsync_dir(final.parent)
            return StoredObject(digest, md5_hex, size)
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFull(f"backup disk full while writing: {e.strerror}") from None
            raise
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def hash_object(self, sha512: str, chunk: int = 1 << 20) -> tuple[str, str, int]:
        """Re-read an object: (sha512, md5, size) of what is actually on disk."""
        sha, md5, size = hashlib.sha512(), hashlib.md5(usedforsecurity=False), 0
        with open(self.path(sha512), "rb") as f:
            while block := f.read(chunk):
                sha.update(block)
                md5.update(block)
                size += len(block)
        return sha.hexdigest(), md5.hexdigest(), size

    def quarantine(self, sha512: str) -> Path:
        """Move a damaged object aside so the next run downloads it again."""
        self.damaged.mkdir(mode=0o700, exist_ok=True)
        target = self.damaged / f"{sha512}.{int(time.time())}"
        shutil.move(str(self.path(sha512)), target)
        return target

    def remove(self, sha512: str) -> None:
        p = self.path(sha512)
        p.unlink()
        with contextlib.suppress(OSError):
            p.parent.rmdir()
