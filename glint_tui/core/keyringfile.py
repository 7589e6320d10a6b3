"""glint's encrypted keyring file: for hosts with no usable system keyring.

The file is JSON: scrypt parameters, a salt, a verification token (so a wrong master
password is reported as such) and one AES-GCM ciphertext per secret, each bound to its
service and key name. It is written atomically with mode 0600. ``core.secrets`` decides
when it is used and where its master password comes from.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import os
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import keyring.backend
import keyring.errors
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from jaraco.classes import properties

from glint_tui.core.errors import SecretsError
from glint_tui.core.fsutil import atomic_write_json
from glint_tui.core.jsonfile import read_json

Notice = Callable[[str], None]

_VERIFIER_PLAINTEXT = b"glint keyring v1"
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
# "asked once per run": a prompted master password is kept for the process, and derived
# keys are cached by (salt, digest of the password) so scrypt runs once per password.
PROMPTED: dict[Path, str] = {}
_KEYS: dict[tuple[bytes, bytes], bytes] = {}
_KEYS_LOCK = threading.Lock()
# One unlock at a time: the workers that need a secret at the same moment (inventory
# columns, transfer destinations) wait for the first one's prompt instead of each asking.
_UNLOCK_LOCK = threading.Lock()
MAX_TRIES = 3  # a prompted master password may be mistyped this often before giving up


def _stderr(message: str) -> None:
    print(f"glint: {message}", file=sys.stderr)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def _derive(password: str, salt: bytes, params: dict[str, int]) -> bytes:
    """scrypt costs tens of MiB and a CPU burst: derive once per process, even when many
    threads (inventory columns, transfer destinations) ask at the same moment."""
    cache_key = (salt, hashlib.sha256(password.encode("utf-8")).digest())
    with _KEYS_LOCK:
        if cache_key not in _KEYS:
            kdf = Scrypt(salt=salt, length=32, n=params["n"], r=params["r"], p=params["p"])
            _KEYS[cache_key] = kdf.derive(password.encode("utf-8"))
        return _KEYS[cache_key]


def read_password_file(path: Path) -> str:
    """The master password in *path*, refusing a file other users could read."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SecretsError(f"{path}: keyring password file not found") from None
    if st.st_mode & 0o077:
        mode = stat.S_IMODE(st.st_mode)
        raise SecretsError(
            f"{path}: keyring password file has mode {mode:04o}; others could read it. "
            f"Run: chmod 600 {path}"
        )
    try:
        text = path.read_bytes().decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise SecretsError(f"{path}: keyring password file is not UTF-8 text") from None
    except OSError as e:
        raise SecretsError(f"{path}: cannot read the keyring password file: {e.strerror}") from None
    password = text[0] if text else ""
    if not password:
        raise SecretsError(f"{path}: keyring password file is empty")
    return password


class EncryptedFileKeyring(keyring.backend.KeyringBackend):
    """glint's own keyring file: scrypt-derived key, AES-GCM per secret, never plaintext.

    Only glint constructs it (it needs a file and a master password source), so keyring's
    automatic discovery never picks it.
    """

    @properties.classproperty
    def priority(cls) -> float:  # noqa: N805 - keyring's classproperty convention
        raise RuntimeError("glint's encrypted file keyring is only used by glint")

    def __init__(
        self,
        path: Path,
        password_source: Callable[[bool, int], str],
        notice: Notice | None = None,
        why: str = "",
    ):
        super().__init__()
        self.path = Path(path)
        # (new file, wrong answers so far) -> master password; raises when it cannot say
        self._password_source = password_source
        self._notice = notice or _stderr
        self._why = why

    # -- file ----------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Serialise read-modify-write between glint processes."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = self.path.with_name(f".{self.path.name}.lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def _load(self) -> dict[str, Any] | None:
        doc = read_json(self.path, default=None)  # not UTF-8 / JSON: one line, exit 2
        if doc is None:
            return None
        try:
            if doc.get("version") != 1 or doc.get("kdf") != "scrypt":
                raise ValueError("unsupported format")
            _unb64(doc["salt"])
            _unb64(doc["verifier"])
            params = doc.get("scrypt") or _SCRYPT
            if not (
                isinstance(params, dict)
                and all(isinstance(params.get(k), int) for k in ("n", "r", "p"))
                and 2 <= params["n"] <= 2**20
                and 1 <= params["r"] <= 32
                and 1 <= params["p"] <= 16
            ):
                raise ValueError("scrypt: parameters out of range")
            entries = doc.setdefault("entries", {})
            if not isinstance(entries, dict) or not all(
                isinstance(e, dict) and all(isinstance(t, str) for t in e.values())
                for e in entries.values()
            ):
                raise ValueError("entries: not a map of services to secrets")
            return doc
        except (ValueError, KeyError, AttributeError, TypeError) as e:
            raise SecretsError(f"{self.path}: not a glint keyring file ({e})") from None

    def _create(self) -> tuple[dict[str, Any], bytes]:
        password = self._password_source(True, 0)
        salt = os.urandom(16)
        key = _derive(password, salt, _SCRYPT)
        nonce = os.urandom(12)
        verifier = AESGCM(key).encrypt(nonce, _VERIFIER_PLAINTEXT, b"verifier")
        doc = {
            "version": 1,
            "kdf": "scrypt",
            "scrypt": dict(_SCRYPT),
            "salt": _b64(salt),
            "verifier": _b64(nonce + verifier),
            "entries": {},
        }
        atomic_write_json(self.path, doc)
        why = f" because {self._why}" if self._why else ""
        self._notice(
            f"storing secrets in glint's encrypted keyring file {self.path}{why}. "
            "To use the desktop keyring instead, run a Secret Service (gnome-keyring) "
            "with D-Bus, or set PYTHON_KEYRING_BACKEND."
        )
        return doc, key

    def _key(self, doc: dict[str, Any]) -> bytes:
        """The file's key, from a master password that opens the verifier.

        A prompted password that is wrong is asked again (saying so), up to MAX_TRIES
        times; a configured one (environment, file) is final. Either way the result is
        a SecretsError starting "wrong keyring master password" (exit 2).
        """
        salt = _unb64(doc["salt"])
        blob = _unb64(doc["verifier"])
        with _UNLOCK_LOCK:
            for wrong in range(MAX_TRIES):
                key = _derive(
                    self._password_source(False, wrong), salt, doc.get("scrypt") or _SCRYPT
                )
                try:
                    AESGCM(key).decrypt(blob[:12], blob[12:], b"verifier")
                    return key
                except InvalidTag:
                    PROMPTED.pop(self.path, None)
        raise SecretsError(f"wrong keyring master password for {self.path} ({MAX_TRIES} tries)")

    @staticmethod
    def _aad(service: str, username: str) -> bytes:
        return f"{service}\0{username}".encode()

    def unlock(self, create: bool = True) -> None:
        """Get (and check) the master password now; create the file if there is none
        (unless not *create*: then a missing file holds no secret to unlock)."""
        with self._locked():
            doc = self._load()
            if doc is None:
                if create:
                    self._create()
            else:
                self._key(doc)

    # -- KeyringBackend ------------------------------------------------------------------
    def get_password(self, service: str, username: str) -> str | None:
        doc = self._load()
        if doc is None:
            return None
        token = doc["entries"].get(service, {}).get(username)
        if token is None:
            return None
        key = self._key(doc)
        try:
            blob = _unb64(token)
            plain = AESGCM(key).decrypt(blob[:12], blob[12:], self._aad(service, username))
        except (InvalidTag, ValueError):
            raise SecretsError(f"{self.path}: entry {service}/{username} is corrupt") from None
        return plain.decode("utf-8")

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._locked():
            doc = self._load()
            if doc is None:
                doc, key = self._create()
            else:
                key = self._key(doc)
            nonce = os.urandom(12)
            ct = AESGCM(key).encrypt(nonce, password.encode("utf-8"), self._aad(service, username))
            doc["entries"].setdefault(service, {})[username] = _b64(nonce + ct)
            atomic_write_json(self.path, doc)

    def delete_password(self, service: str, username: str) -> None:
        with self._locked():
            doc = self._load()
            entries = (doc or {}).get("entries", {}).get(service, {})
            if username not in entries:
                raise keyring.errors.PasswordDeleteError(f"{service}/{username} not found")
            del entries[username]
            if not entries:
                del doc["entries"][service]
            atomic_write_json(self.path, doc)


def forget_unlocked_keys() -> None:
    """Drop prompted master passwords and derived keys (a TUI 'lock' action, tests)."""
    PROMPTED.clear()
    _KEYS.clear()
