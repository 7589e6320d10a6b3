"""Encryption at rest: the repository key, and objects and manifests as AES-GCM streams.

Keys. A random 256-bit master key is made when the repository is created. It is stored
only wrapped: AES-256-GCM under a key derived from the repository password with scrypt
(n=2^17, r=8, p=1, random salt), the store id as associated data. From the master key,
HKDF-SHA256 derives the key that names objects (HMAC-SHA256 of the image's sha512, so an
object name reveals neither the image nor its hash) and, per object, the key that
encrypts it (with a random 16-byte salt from the object's header).

Objects. ``header = MAGIC | flags | salt``, then the plaintext in 1 MiB chunks, each
sealed with AES-256-GCM under the object key with the nonce ``chunk index (11 bytes, big
endian) | last-chunk flag (1 byte)`` and the header as associated data (the STREAM
construction). Reordered, dropped, repeated or appended chunks, a truncated stream and a
changed header all fail authentication. ``cryptography`` provides every primitive.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from glint_backup.errors import AuthFailed, BackupConfigError
from glint_backup.storage.base import rechunk
from glint_tui.core.errors import DataMismatch

MAGIC = b"GLBENC1\n"
FLAG_COMPRESSED = 0x01
SALT = 16
HEADER = len(MAGIC) + 1 + SALT
CHUNK = 1 << 20
TAG = 16
SCRYPT = {"n": 1 << 17, "r": 8, "p": 1}
CIPHER = "AES-256-GCM STREAM, 1 MiB chunks"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _hkdf(master: bytes, info: bytes, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(master)


def _kek(password: str, salt: bytes, params: dict[str, int]) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=params["n"], r=params["r"], p=params["p"])
    return kdf.derive(password.encode("utf-8"))


@dataclass(frozen=True)
class RepoKey:
    """The unlocked master key of one repository (never written anywhere in clear)."""

    master: bytes

    def object_name(self, sha512: str) -> str:
        name_key = _hkdf(self.master, b"glint-backup object names")
        return hmac.new(name_key, sha512.encode(), hashlib.sha256).hexdigest()

    def encrypt(self, chunks: Iterable[bytes], flags: int = 0) -> Iterator[bytes]:
        salt = os.urandom(SALT)
        header = MAGIC + bytes([flags]) + salt
        aead = AESGCM(_hkdf(self.master, b"glint-backup object", salt))
        yield header
        pending: bytes | None = None
        index = 0
        for block in rechunk(chunks, CHUNK):
            if pending is not None:
                yield aead.encrypt(_nonce(index, False), pending, header)
                index += 1
            pending = block
        yield aead.encrypt(_nonce(index, True), pending or b"", header)

    def decrypt(self, chunks: Iterable[bytes]) -> tuple[int, Iterator[bytes]]:
        """(flags, plaintext stream); a damaged or tampered stream raises DataMismatch."""
        it = _split_header(iter(chunks))
        header = next(it, b"")
        if len(header) != HEADER or not header.startswith(MAGIC):
            raise DataMismatch("not an encrypted glint-backup object (bad header)")
        aead = AESGCM(_hkdf(self.master, b"glint-backup object", header[-SALT:]))
        return header[len(MAGIC)], _open_blocks(aead, header, it)

    def seal(self, data: bytes) -> bytes:
        return b"".join(self.encrypt([data]))

    def unseal(self, data: bytes) -> bytes:
        return b"".join(self.decrypt([data])[1])


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def _split_header(blocks: Iterator[bytes]) -> Iterator[bytes]:
    """Re-cut the stream so the header comes alone, then whole sealed chunks."""
    head = b""
    for block in blocks:
        head += block
        if len(head) >= HEADER:
            break
    yield head[:HEADER]
    yield from rechunk(_chain(head[HEADER:], blocks), CHUNK + TAG)


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


def _open_blocks(aead: AESGCM, header: bytes, blocks: Iterator[bytes]) -> Iterator[bytes]:
    index, current = 0, next(blocks, None)
    if current is None:
        raise DataMismatch("encrypted object is truncated (no data after the header)")
    while current is not None:
        following = next(blocks, None)
        try:
            yield aead.decrypt(_nonce(index, following is None), current, header)
        except InvalidTag:
            raise DataMismatch(
                f"encrypted object failed authentication at chunk {index} "
                "(damaged, truncated or tampered with)"
            ) from None
        index, current = index + 1, following


# -- the key record in the repository's marker ---------------------------------------------
def new_key(password: str, store_id: str) -> tuple[RepoKey, dict[str, object]]:
    """A fresh master key and the record that stores it wrapped by the password."""
    master, salt, nonce = os.urandom(32), os.urandom(16), os.urandom(12)
    wrapped = AESGCM(_kek(password, salt, SCRYPT)).encrypt(nonce, master, store_id.encode())
    record = {
        "cipher": CIPHER,
        "kdf": {"name": "scrypt", **SCRYPT, "salt": _b64(salt)},
        "nonce": _b64(nonce),
        "wrapped_key": _b64(wrapped),
    }
    return RepoKey(master), record


def unlock(record: object, password: str, store_id: str) -> RepoKey:
    """The master key, or AuthFailed (exit 6) for a wrong password."""
    try:
        kdf = record["kdf"]  # type: ignore[index]
        params = {k: int(kdf[k]) for k in ("n", "r", "p")}
        salt = base64.b64decode(kdf["salt"])
        nonce = base64.b64decode(record["nonce"])  # type: ignore[index]
        wrapped = base64.b64decode(record["wrapped_key"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError):
        raise BackupConfigError("the repository's key record is damaged") from None
    try:
        master = AESGCM(_kek(password, salt, params)).decrypt(nonce, wrapped, store_id.encode())
    except InvalidTag:
        raise AuthFailed(
            "wrong repository password: it does not unlock this repository's key"
        ) from None
    return RepoKey(master)
