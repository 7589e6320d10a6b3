"""The object codecs on their own: zstd (off/auto/max) and the AES-GCM STREAM construction.

These are the properties the encryption section of the README promises: every chunk is
bound to its position and to the last-chunk flag, so reordering, dropping, appending or
truncating chunks, or changing the header, fails authentication.
"""

from __future__ import annotations

import os

import pytest

from glint_backup import compress, crypto
from glint_backup.crypto import CHUNK, HEADER, TAG, RepoKey
from glint_backup.errors import AuthFailed
from glint_tui.core.errors import DataMismatch

KEY = RepoKey(os.urandom(32))


def _pieces(data: bytes, size: int = 300_000) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, 3 * CHUNK + 17])
def test_encrypted_stream_round_trips_at_every_boundary(size: int) -> None:
    data = os.urandom(size)
    sealed = b"".join(KEY.encrypt(_pieces(data), flags=1))
    blocks = max(1, -(-size // CHUNK))
    assert len(sealed) == HEADER + size + blocks * TAG
    flags, plain = KEY.decrypt(_pieces(sealed, 65_537))
    assert flags == 1 and b"".join(plain) == data


def _chunks(sealed: bytes) -> tuple[bytes, list[bytes]]:
    body = sealed[HEADER:]
    step = CHUNK + TAG
    return sealed[:HEADER], [body[i : i + step] for i in range(0, len(body), step)]


@pytest.mark.parametrize("attack", ["swap", "drop-last", "drop-first", "append", "truncate",
                                    "header", "bit"])  # fmt: skip
def test_reordered_dropped_appended_or_changed_chunks_fail_authentication(attack: str) -> None:
    data = os.urandom(3 * CHUNK + 5)
    header, chunks = _chunks(b"".join(KEY.encrypt([data])))
    if attack == "swap":
        chunks[0], chunks[1] = chunks[1], chunks[0]
    elif attack == "drop-last":
        chunks.pop()
    elif attack == "drop-first":
        chunks.pop(0)
    elif attack == "append":
        chunks.append(chunks[1])
    elif attack == "truncate":
        chunks[-1] = chunks[-1][:-1]
    elif attack == "header":
        header = header[:-1] + bytes([header[-1] ^ 1])
    else:
        chunks[1] = chunks[1][:100] + bytes([chunks[1][100] ^ 1]) + chunks[1][101:]
    with pytest.raises(DataMismatch):
        b"".join(KEY.decrypt([header, *chunks])[1])


def test_another_key_cannot_read_and_names_do_not_leak_the_hash() -> None:
    sealed = KEY.seal(b"manifest")
    with pytest.raises(DataMismatch):
        RepoKey(os.urandom(32)).unseal(sealed)
    sha = "ab" * 64
    assert KEY.object_name(sha) != sha and len(KEY.object_name(sha)) == 64
    assert KEY.object_name(sha) == KEY.object_name(sha)  # deterministic: dedup works


def test_wrapped_key_opens_only_with_its_password_and_store() -> None:
    key, record = crypto.new_key("the password", "store-1")
    assert crypto.unlock(record, "the password", "store-1").master == key.master
    with pytest.raises(AuthFailed):
        crypto.unlock(record, "another password", "store-1")
    with pytest.raises(AuthFailed):  # a record copied to another repository is refused
        crypto.unlock(record, "the password", "store-2")
    assert key.master.hex() not in str(record)


def test_compression_auto_skips_incompressible_data_and_max_round_trips() -> None:
    noise = os.urandom(3 << 20)
    compressed, out = compress.plan(_pieces(noise), "auto")
    assert not compressed and b"".join(out) == noise
    zeros = bytes(64 << 20)
    compressed, out = compress.plan(_pieces(zeros, 1 << 20), "auto")
    stored = b"".join(out)
    assert compressed and len(stored) < len(zeros) // 1000
    back = list(compress.decompress(_pieces(stored, 4096)))
    assert max(len(b) for b in back) <= compress.OUT_CHUNK  # bounded, never one huge bytes
    assert b"".join(back) == zeros
    text = b"glint-backup " * 200_000
    compressed, out = compress.plan(_pieces(text), "max")
    assert compressed and b"".join(compress.decompress(out)) == text
    compressed, out = compress.plan(_pieces(text), "off")
    assert not compressed and b"".join(out) == text
