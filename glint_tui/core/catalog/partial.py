"""Files being written into the spool by the fetcher and the converter.

A file is written as ``.partial-<kind>-<final name>`` beside its final path, 0600, and
holds an ``flock`` for as long as glint writes it, exactly like the engine's spool
partials: ``Spool.clean`` (each run's start) sweeps the ones nobody holds (a killed run),
and a second glint run wanting the same file is told another run is at it. The name is
fixed, not random, so a download that dropped resumes from the bytes already there. A
file appears under its final name only complete and verified (fsync, rename, fsync dir).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from pathlib import Path

from glint_tui.core.fsutil import fsync_dir
from glint_tui.core.spool import PARTIAL_PREFIX

CHUNK = 1 << 20


class PartialBusy(OSError):
    """Another process holds the partial file's lock."""


class Partial:
    """The partial file of *dest*: ``open`` it (locked), write, then ``publish`` or
    ``discard``; ``close`` only releases it (the bytes stay for a resume)."""

    def __init__(self, dest: Path, kind: str) -> None:
        self.dest = Path(dest)
        self.path = self.dest.parent / f"{PARTIAL_PREFIX}{kind}-{self.dest.name}"
        self._fd: int | None = None

    def open(self) -> Partial:
        self.dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # O_APPEND: every write lands after the bytes already there (a resume continues)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise PartialBusy(f"{self.path} is being written by another glint run") from None
        self._fd = fd
        return self

    @property
    def fd(self) -> int:
        assert self._fd is not None, "open() first"
        return self._fd

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def truncate(self) -> None:
        os.ftruncate(self.fd, 0)

    def append(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view) :]

    def publish(self) -> Path:
        """Make the complete file appear under its final name, durably."""
        os.fsync(self.fd)
        os.replace(self.path, self.dest)
        with contextlib.suppress(OSError):
            fsync_dir(self.dest.parent)
        self.close()
        return self.dest

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()
        self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> Partial:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()


class Digests:
    """sha512 (the content key) plus any other algorithm upstream vouches with."""

    def __init__(self, *algos: str) -> None:
        self._h = {a: hashlib.new(a) for a in dict.fromkeys(("sha512", *algos))}

    def update(self, data: bytes) -> None:
        for h in self._h.values():
            h.update(data)

    def hex(self, algo: str) -> str:
        return self._h[algo].hexdigest()


def hash_file(path: Path, *algos: str) -> Digests:
    """The digests of a whole file, read in bounded chunks."""
    digests = Digests(*algos)
    with open(path, "rb") as f:
        while block := f.read(CHUNK):
            digests.update(block)
    return digests
