"""Where glint keeps passwords: the OS keyring, or an encrypted file when there is none.

Policy, in order (``SecretStore.describe()`` says which one applies and why):

1. A backend the user chose explicitly (``PYTHON_KEYRING_BACKEND`` or keyring's own
   ``keyringrc.cfg``) is used as is, even a plaintext one: it was a deliberate choice.
2. A master password configured for glint (``GLINT_KEYRING_PASSWORD``,
   ``GLINT_KEYRING_PASSWORD_FILE`` or ``<config dir>/keyring-password``) opts this profile
   into glint's encrypted file keyring (automation, the sandbox profile).
3. keyring's best *recommended* backend (Secret Service, KWallet, macOS, Windows) if it
   actually answers. Never the chainer (it silently falls through to plaintext), never
   keyrings.alt's plaintext file, never the ``fail``/``null`` backends.
4. Otherwise (an SSH login with no D-Bus / Secret Service: the normal case for glint's
   users) the encrypted file keyring, its master password asked once per run.

The encrypted file is JSON: scrypt parameters, a salt, a verification token (so a wrong
master password is reported as such) and one AES-GCM ciphertext per secret, each bound to
its service and key name. It is written atomically with mode 0600.
"""

from __future__ import annotations

import base64
import fcntl
import getpass
import hashlib
import json
import os
import stat
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.core
import keyring.errors
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from jaraco.classes import properties

from glint_tui.core.errors import SecretsError
from glint_tui.core.fsutil import atomic_write_json
from glint_tui.core.notices import Notice, log_notice
from glint_tui.core.paths import Paths

SERVICE = "glint"
KEYRING_FILE = "keyring.enc"
PASSWORD_FILE = "keyring-password"
ENV_PASSWORD = "GLINT_KEYRING_PASSWORD"
ENV_PASSWORD_FILE = "GLINT_KEYRING_PASSWORD_FILE"

Prompt = Callable[[str], "str | None"]

_VERIFIER_PLAINTEXT = b"glint keyring v1"
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
# "asked once per run": a prompted master password is kept for the process, and derived
# keys are cached by (salt, digest of the password) so scrypt runs once per password.
_PROMPTED: dict[Path, str] = {}
_KEYS: dict[tuple[bytes, bytes], bytes] = {}
_KEYS_LOCK = threading.Lock()

HOW_TO_PROCEED = (
    f"set {ENV_PASSWORD} (or {ENV_PASSWORD_FILE} naming a mode-0600 file), or create a "
    "mode-0600 file '{password_file}' holding a master password, to use glint's encrypted "
    "keyring file; or run a Secret Service (e.g. gnome-keyring) with a D-Bus session to "
    "use the desktop keyring; or choose a keyring backend with PYTHON_KEYRING_BACKEND"
)


def service_name(paths: Paths) -> str:
    """``glint`` for the operator's profile; other profiles get their own keyring service."""
    return SERVICE if paths.profile == "default" else f"{SERVICE}-{paths.profile}"


def _default_prompt(text: str) -> str | None:
    """getpass, but only when someone is at a terminal to answer."""
    if not sys.stdin or not sys.stdin.isatty():
        return None
    return getpass.getpass(text)


def _qualname(obj: Any) -> str:
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}.{cls.__name__}"


def _is_plaintext(backend: keyring.backend.KeyringBackend) -> bool:
    return "plaintext" in type(backend).__name__.lower()


def _system_keyring() -> tuple[keyring.backend.KeyringBackend | None, str]:
    """keyring's best recommended backend that answers, or None and why there is none."""
    from keyring.backends import chainer

    rejected: list[str] = []
    candidates = []
    for backend in keyring.backend.get_all_keyring():
        name = _qualname(backend)
        if isinstance(backend, chainer.ChainerBackend):
            continue
        if _is_plaintext(backend):
            rejected.append(f"{name} refused (plaintext)")
        elif backend.priority < 1 or type(backend).__module__.startswith("keyrings.alt"):
            if "fail" not in name and "null" not in name:
                rejected.append(f"{name} not recommended")
        else:
            candidates.append(backend)
    for backend in sorted(candidates, key=keyring.backend.by_priority, reverse=True):
        try:
            backend.get_password(SERVICE, "glint-probe")
        except Exception as e:  # any failure means "not usable here"
            rejected.append(f"{_qualname(backend)} does not answer ({e})")
            continue
        return backend, ""
    reason = _secret_service_reason()
    return None, "; ".join(r for r in [reason, *rejected] if r) or "no keyring backend found"


def _secret_service_reason() -> str:
    """Why the usual Linux desktop keyring is unavailable (the common case over SSH)."""
    try:
        from keyring.backends import SecretService

        SecretService.Keyring.priority  # noqa: B018 - raises with the reason
    except Exception as e:
        return f"Secret Service unavailable ({e})"
    return ""


def _explicit_keyring() -> tuple[keyring.backend.KeyringBackend | None, str]:
    """The backend chosen in PYTHON_KEYRING_BACKEND or keyringrc.cfg, if any."""
    env = os.environ.get("PYTHON_KEYRING_BACKEND")
    try:
        if env:
            return keyring.core.load_keyring(env), "PYTHON_KEYRING_BACKEND"
        backend = keyring.core.load_config()
    except Exception as e:
        where = f"PYTHON_KEYRING_BACKEND={env}" if env else str(keyring.core._config_path())
        raise SecretsError(f"{where}: cannot load that keyring backend: {e}") from None
    if backend is not None:
        return backend, str(keyring.core._config_path())
    return None, ""


# -- the encrypted file keyring ----------------------------------------------------------


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
    text = path.read_text(encoding="utf-8").splitlines()
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
        password_source: Callable[[bool], str],
        notice: Notice | None = None,
        why: str = "",
    ):
        super().__init__()
        self.path = Path(path)
        self._password_source = password_source  # (new_file) -> master password
        self._notice = notice or log_notice
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
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            doc = json.loads(text)
            if doc.get("version") != 1 or doc.get("kdf") != "scrypt":
                raise ValueError("unsupported format")
            _unb64(doc["salt"])
            doc.setdefault("entries", {})
            return doc
        except (ValueError, KeyError, AttributeError, TypeError) as e:
            raise SecretsError(f"{self.path}: not a glint keyring file ({e})") from None

    def _create(self) -> tuple[dict[str, Any], bytes]:
        password = self._password_source(True)
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
        salt = _unb64(doc["salt"])
        key = _derive(self._password_source(False), salt, doc.get("scrypt") or _SCRYPT)
        blob = _unb64(doc["verifier"])
        try:
            AESGCM(key).decrypt(blob[:12], blob[12:], b"verifier")
        except InvalidTag:
            _PROMPTED.pop(self.path, None)
            raise SecretsError(
                f"wrong keyring master password for {self.path} "
                f"(check {ENV_PASSWORD} / {ENV_PASSWORD_FILE} / the keyring-password file)"
            ) from None
        return key

    @staticmethod
    def _aad(service: str, username: str) -> bytes:
        return f"{service}\0{username}".encode()

    def unlock(self) -> None:
        """Get (and check) the master password now; create the file if there is none."""
        with self._locked():
            doc = self._load()
            if doc is None:
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
        blob = _unb64(token)
        try:
            plain = AESGCM(key).decrypt(blob[:12], blob[12:], self._aad(service, username))
        except InvalidTag:
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


# -- the store glint uses ----------------------------------------------------------------


class SecretStore:
    """get/set/delete glint's secrets (keyed by ``Credential.secret_key``) per the policy above.

    *prompt* asks for the master password when nothing configured one (default: getpass
    when stdin is a terminal; the TUI passes its own modal). *notice* receives the one-time
    "which backend and why" message (default: stderr).
    """

    def __init__(self, paths: Paths, prompt: Prompt | None = None, notice: Notice | None = None):
        self.paths = paths
        self.service = service_name(paths)
        self._prompt = prompt or _default_prompt
        self._notice = notice or log_notice
        self._backend: keyring.backend.KeyringBackend | None = None
        self._description = ""

    @property
    def keyring_file(self) -> Path:
        return self.paths.data_dir / KEYRING_FILE

    @property
    def password_file(self) -> Path:
        return self.paths.config_dir / PASSWORD_FILE

    # -- backend choice ------------------------------------------------------------------
    def _configured_password_source(self) -> str | None:
        """Which configured source holds the master password (None: nothing configured)."""
        if os.environ.get(ENV_PASSWORD):
            return ENV_PASSWORD
        if os.environ.get(ENV_PASSWORD_FILE):
            return ENV_PASSWORD_FILE
        if self.password_file.exists():
            return str(self.password_file)
        return None

    def _master_password(self, new: bool) -> str:
        if os.environ.get(ENV_PASSWORD):
            return os.environ[ENV_PASSWORD]
        if os.environ.get(ENV_PASSWORD_FILE):
            return read_password_file(Path(os.environ[ENV_PASSWORD_FILE]).expanduser())
        if self.password_file.exists():
            return read_password_file(self.password_file)
        where = self.keyring_file
        if where in _PROMPTED:
            return _PROMPTED[where]
        answer: str | None
        if new:
            answer = self._prompt(f"New master password for glint's keyring file {where}: ")
            if answer and self._prompt("Repeat the master password: ") != answer:
                raise SecretsError("the two master passwords differ; nothing was stored")
        else:
            answer = self._prompt(f"Master password for glint's keyring file {where}: ")
        if answer:
            _PROMPTED[where] = answer
            return answer
        raise SecretsError(
            "no usable system keyring and no master password for glint's encrypted keyring: "
            + HOW_TO_PROCEED.format(password_file=self.password_file)
        )

    def _choose(self) -> keyring.backend.KeyringBackend:
        if self._backend is not None:
            return self._backend
        backend, source = _explicit_keyring()
        if backend is not None:
            plain = " — stores secrets in PLAINTEXT" if _is_plaintext(backend) else ""
            self._description = f"{_qualname(backend)} (chosen by {source}){plain}"
        elif (source := self._configured_password_source()) is not None:
            why = f"a master password is configured ({source})"
            backend = EncryptedFileKeyring(
                self.keyring_file, self._master_password, self._notice, why
            )
            self._description = f"glint encrypted keyring file {self.keyring_file} ({why})"
        else:
            backend, reason = _system_keyring()
            if backend is not None:
                self._description = f"{_qualname(backend)} (system keyring)"
            else:
                why = f"no usable system keyring: {reason}"
                backend = EncryptedFileKeyring(
                    self.keyring_file, self._master_password, self._notice, why
                )
                self._description = f"glint encrypted keyring file {self.keyring_file} ({why})"
        self._backend = backend
        return backend

    def describe(self) -> str:
        """One human line: which backend holds the secrets and why (never unlocks it)."""
        self._choose()
        return self._description

    def unlock(self) -> None:
        """Ask for the master password (if any) now, before the user types a cloud password."""
        backend = self._choose()
        if isinstance(backend, EncryptedFileKeyring):
            backend.unlock()

    # -- operations ----------------------------------------------------------------------
    def _call(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except SecretsError:
            raise
        except keyring.errors.KeyringError as e:
            raise SecretsError(f"keyring ({self._description}): cannot {what}: {e}") from None

    def get(self, key: str) -> str | None:
        backend = self._choose()
        return self._call("read a secret", lambda: backend.get_password(self.service, key))

    def set(self, key: str, secret: str) -> None:
        if not secret:
            raise SecretsError("refusing to store an empty secret")
        backend = self._choose()
        self._call("store a secret", lambda: backend.set_password(self.service, key, secret))

    def delete(self, key: str) -> bool:
        """Remove *key*; False when there was nothing to remove."""
        backend = self._choose()
        try:
            self._call("delete a secret", lambda: backend.delete_password(self.service, key))
        except SecretsError:
            if self.get(key) is None:
                return False
            raise
        return True


def forget_unlocked_keys() -> None:
    """Drop prompted master passwords and derived keys (a TUI 'lock' action, tests)."""
    _PROMPTED.clear()
    _KEYS.clear()
