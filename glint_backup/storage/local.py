"""A repository in a local directory (or a mounted disk): the original glint-backup layout.

Keys are relative paths. An object is written to ``tmp/`` (0600), fsynced, made read-only
(0444) and renamed into place, so a killed run leaves at most a ``tmp/*.part`` file, which
``clean_partial`` removes. Directories are 0700: image data is readable by the backup user
only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from glint_backup.errors import DiskFull
from glint_backup.storage.base import NotFound
from glint_tui.core.fsutil import fsync_dir

READ_ONLY = 0o444
TMP = "tmp"


def free_bytes(directory: Path) -> int:
    """Bytes an unprivileged writer may still use on *directory*'s file system."""
    st = os.statvfs(directory)
    return st.f_bavail * st.f_frsize


def _disk_full(e: OSError) -> bool:
    return e.errno in (errno.ENOSPC, errno.EDQUOT)


class LocalBackend:
    remote = False

    def __init__(self, root: Path):
        self.root = Path(root)
        self.url = str(self.root)

    def _path(self, key: str) -> Path:
        return self.root / key

    def list(self, prefix: str) -> Iterator[tuple[str, int]]:
        """Keys starting with *prefix* (a string prefix, as object stores have)."""
        base = (
            self._path(prefix)
            if prefix.endswith("/") or not prefix
            else (self._path(prefix).parent)
        )
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                key = str(path.relative_to(self.root))
                if not key.startswith(prefix):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    yield key, path.stat().st_size

    def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def read(self, key: str, chunk: int = 1 << 20) -> Iterator[bytes]:
        try:
            f = open(self._path(key), "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError:
            raise NotFound(f"{self._path(key)} does not exist") from None
        return _read_file(f, chunk)

    def read_bytes(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, key: str, chunks: Iterable[bytes], size_hint: int | None = None) -> int:
        return self._write(key, chunks, create_only=False)

    def write_bytes(self, key: str, data: bytes, create_only: bool = False) -> bool:
        if create_only and self._path(key).exists():
            return False
        return self._write(key, [data], create_only) >= 0

    def _write(self, key: str, chunks: Iterable[bytes], create_only: bool) -> int:
        """Temp file (0600) in tmp/, fsync, 0444, then rename (or link: create-if-absent);
        return the size, or -1 when *create_only* found the key present."""
        tmp_dir = self._path(TMP)
        tmp_dir.mkdir(mode=0o700, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix="dl-", suffix=".part", dir=tmp_dir)
        tmp, size = Path(tmp_name), 0
        try:
            with os.fdopen(fd, "wb", buffering=0) as f:
                for chunk in chunks:
                    size += len(chunk)
                    view = memoryview(chunk)
                    while view:
                        view = view[f.write(view) :]
                os.fsync(f.fileno())
            final = self._path(key)
            final.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(tmp, READ_ONLY)
            if create_only:
                try:
                    os.link(tmp, final)  # atomic create-if-absent
                except FileExistsError:
                    return -1
            else:
                os.replace(tmp, final)
            fsync_dir(final.parent)
            return size
        except OSError as e:
            if _disk_full(e):
                raise DiskFull(f"backup disk full while writing: {e.strerror}") from None
            raise
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        with contextlib.suppress(OSError):
            path.parent.rmdir()  # an emptied objects/ab/ directory

    def rename(self, src: str, dst: str) -> None:
        target = self._path(dst)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.move(str(self._path(src)), target)

    def clean_partial(self) -> int:
        removed = 0
        tmp_dir = self._path(TMP)
        tmp_dir.mkdir(mode=0o700, exist_ok=True)
        for f in tmp_dir.iterdir():
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

    def close(self) -> None:
        pass


def _read_file(f, chunk: int) -> Iterator[bytes]:
    with f:
        while block := f.read(chunk):
            yield block
