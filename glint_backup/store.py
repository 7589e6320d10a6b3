"""The repository: content-addressed, write-once objects plus snapshot manifests, on any
storage backend (local directory, Swift container, S3 bucket: ``storage/``).

Layout (the same keys on every backend)::

    glint-backup-store.json    marker: store id, format, the wrapped key when encrypted
    objects/ab/cdef…           image data named by its sha512 (``.zst``: compressed);
                               encrypted repositories name it by an HMAC of the sha512
    snapshots/<id>.json        manifests (snapshots.py), written last
    damaged/                   objects and manifests found corrupt, moved aside
    lock                       remote repositories: the cross-host lock (lock.py)
    tmp/, segments/            in-flight writes; cleaned at the start of every run

Invariants: an object is stored under its content key only after the sha512 of the bytes
read matched what Glance claims (the check runs before the backend commits, so a mismatch
stores nothing); objects are never modified; a manifest is written after every object it
names exists. Reading an object back always re-derives the original bytes (decrypt,
decompress) and callers that care re-hash them (verify --read-data, restore).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from glint_backup import compress
from glint_backup.crypto import FLAG_COMPRESSED, RepoKey
from glint_backup.storage.base import Backend, StorageError
from glint_tui.core.errors import DataMismatch

MARKER = "glint-backup-store.json"
OBJECTS = "objects/"
SNAPSHOTS = "snapshots/"
DAMAGED = "damaged/"
ZST = ".zst"


@dataclass
class StoredObject:
    sha512: str
    md5: str  # Glance's checksum when sha512 was verified instead
    size: int
    stored: int = 0  # bytes in the repository (after compression and encryption)
    compressed: bool = False


class ObjectStore:
    """One repository. Built by ``repository.open_store`` (which checks the marker)."""

    def __init__(self, backend: Backend, marker: dict[str, Any], key: RepoKey | None = None,
                 compression: str = "off"):  # fmt: skip
        self.backend = backend
        self.marker = marker
        self.key = key
        self.compression = compression
        self._index: dict[str, int] | None = None

    @property
    def url(self) -> str:
        return self.backend.url

    @property
    def encrypted(self) -> bool:
        return self.key is not None

    # -- names and the index ---------------------------------------------------------------
    def _base(self, sha512: str) -> str:
        name = self.key.object_name(sha512) if self.key else sha512
        return f"{OBJECTS}{name[:2]}/{name[2:]}"

    def index(self) -> dict[str, int]:
        """Every stored object key -> stored size: one listing per run, kept up to date."""
        if self._index is None:
            self._index = dict(self.backend.list(OBJECTS))
        return self._index

    def key_of(self, sha512: str) -> str | None:
        base = self._base(sha512)
        for candidate in (base, base + ZST):
            if candidate in self.index():
                return candidate
        return None

    def has(self, sha512: str, size: int | None = None) -> bool:
        """Present (and, stored as is, of the expected size): cheap, no re-hash."""
        key = self.key_of(sha512)
        if key is None:
            return False
        plain = not self.key and not key.endswith(ZST)
        return size is None or not plain or self.index()[key] == size

    def stored_size(self, sha512: str) -> int | None:
        key = self.key_of(sha512)
        return None if key is None else self.index()[key]

    def iter_objects(self) -> Iterator[tuple[str, int]]:
        """(object key, stored size) of everything under objects/."""
        yield from sorted(self.index().items())

    def sha_of_key(self, key: str) -> str | None:
        """The sha512 an unencrypted object key names (None for encrypted names)."""
        if self.key:
            return None
        name = key[len(OBJECTS) :].replace("/", "", 1)
        return name[: -len(ZST)] if name.endswith(ZST) else name

    # -- writing -----------------------------------------------------------------------------
    def add_stream(
        self,
        chunks: Iterable[bytes],
        expect_sha512: str | None = None,
        expect_md5: str | None = None,
        expect_size: int | None = None,
    ) -> StoredObject:
        """Store *chunks* under their sha512, hashing on the fly; verify before commit.

        A size or hash that differs from what Glance claims raises DataMismatch from
        inside the stream, before the backend commits: nothing is stored.
        """
        result = StoredObject(expect_sha512 or "", expect_md5 or "", 0)
        checked = _verified(chunks, expect_sha512, expect_md5, expect_size, result)
        compressed, body = compress.plan(checked, self.compression)
        result.compressed = compressed
        if self.key:
            body = self.key.encrypt(body, FLAG_COMPRESSED if compressed else 0)
        if expect_sha512:  # the name is known up front: write straight to it
            key = self._base(expect_sha512) + (ZST if compressed and not self.key else "")
            result.stored = self.backend.write(key, body, size_hint=expect_size)
        else:  # md5-only image: the name is known at the end
            tmp = f"tmp/upload-{time.time_ns()}"
            result.stored = self.backend.write(tmp, body, size_hint=expect_size)
            key = self._base(result.sha512) + (ZST if compressed and not self.key else "")
            self.backend.rename(tmp, key)
        self.index()[key] = result.stored
        return result

    # -- reading -----------------------------------------------------------------------------
    def open_object(self, sha512: str, chunk: int = 1 << 20) -> Iterator[bytes]:
        """The original bytes of an object (decrypted, decompressed); DataMismatch if damaged."""
        key = self.key_of(sha512)
        if key is None:
            raise DataMismatch(f"object {sha512[:16]}… is missing from {self.url}")
        raw = self.backend.read(key, chunk)
        compressed = key.endswith(ZST)
        if self.key:
            flags, raw = self.key.decrypt(raw)
            compressed = bool(flags & FLAG_COMPRESSED)
        return _decompressed(raw) if compressed else raw

    def hash_object(self, sha512: str) -> tuple[str, str, int]:
        """Re-read an object: (sha512, md5, size) of its original bytes."""
        sha, md5, size = hashlib.sha512(), hashlib.md5(usedforsecurity=False), 0
        for block in self.open_object(sha512):
            sha.update(block)
            md5.update(block)
            size += len(block)
        return sha.hexdigest(), md5.hexdigest(), size

    def quarantine(self, sha512: str) -> str:
        """Move a damaged object aside so the next run stores it again."""
        key = self.key_of(sha512)
        if key is None:
            return ""
        target = f"{DAMAGED}{key[len(OBJECTS) :].replace('/', '')}.{int(time.time())}"
        try:
            self.backend.rename(key, target)
        except StorageError:  # e.g. a large object whose segments are gone cannot be copied
            self.backend.delete(key)
            target = "(removed: it could not be moved)"
        self.index().pop(key, None)
        return f"{self.url}/{target}"

    def remove(self, sha512: str) -> None:
        key = self.key_of(sha512)
        if key is not None:
            self.remove_key(key)

    def remove_key(self, key: str) -> None:
        self.backend.delete(key)
        self.index().pop(key, None)

    # -- manifests ---------------------------------------------------------------------------
    def manifest_key(self, snapshot_id: str) -> str:
        return f"{SNAPSHOTS}{snapshot_id}.json"

    def snapshot_ids(self) -> list[str]:
        return sorted(
            key[len(SNAPSHOTS) : -len(".json")]
            for key, _ in self.backend.list(SNAPSHOTS)
            if key.endswith(".json") and "/." not in key and key.count("/") == 1
        )

    def read_manifest(self, snapshot_id: str) -> bytes | None:
        """The manifest's JSON bytes (decrypted); DataMismatch if it fails authentication."""
        data = self.backend.read_bytes(self.manifest_key(snapshot_id))
        if data is None or not self.key:
            return data
        return self.key.unseal(data)

    def write_manifest(self, snapshot_id: str, data: bytes) -> None:
        sealed = self.key.seal(data) if self.key else data
        self.backend.write_bytes(self.manifest_key(snapshot_id), sealed)

    def delete_manifest(self, snapshot_id: str) -> None:
        self.backend.delete(self.manifest_key(snapshot_id))

    def move_manifest_aside(self, snapshot_id: str, prefix: str) -> str:
        target = f"{DAMAGED}{prefix}{snapshot_id}.json.{int(time.time())}"
        self.backend.rename(self.manifest_key(snapshot_id), target)
        return f"{self.url}/{target}"

    def damaged_keys(self, prefix: str = "") -> list[str]:
        return [key for key, _ in self.backend.list(DAMAGED + prefix)]

    # -- housekeeping ------------------------------------------------------------------------
    def clean_partial(self) -> int:
        return self.backend.clean_partial()

    def ensure_space(self, size: int, reserve: int) -> None:
        self.backend.ensure_space(size, reserve)

    def close(self) -> None:
        self.backend.close()


def _verified(chunks: Iterable[bytes], expect_sha512: str | None, expect_md5: str | None,
              expect_size: int | None, result: StoredObject) -> Iterator[bytes]:  # fmt: skip
    """Pass the bytes through, hashing them; raise at the end if they are not Glance's."""
    sha = hashlib.sha512()
    # md5 only when Glance gave no sha512: a second hash would halve the throughput
    md5 = None if expect_sha512 else hashlib.md5(usedforsecurity=False)
    size = 0
    for chunk in chunks:
        sha.update(chunk)
        if md5 is not None:
            md5.update(chunk)
        size += len(chunk)
        yield chunk
    if expect_size is not None and size != expect_size:
        raise DataMismatch(f"size {size} differs from Glance's {expect_size}")
    digest = sha.hexdigest()
    if expect_sha512 and digest != expect_sha512:
        raise DataMismatch("sha512 of the downloaded data differs from Glance's")
    md5_hex = md5.hexdigest() if md5 is not None else (expect_md5 or "")
    if expect_md5 and md5_hex != expect_md5:
        raise DataMismatch("md5 of the downloaded data differs from Glance's checksum")
    result.sha512, result.md5, result.size = digest, md5_hex, size


def _decompressed(raw: Iterator[bytes]) -> Iterator[bytes]:
    import zstandard

    try:
        yield from compress.decompress(raw)
    except zstandard.ZstdError as e:
        raise DataMismatch(f"compressed object is damaged: {e}") from None
