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

The encrypted file keyring itself lives in ``core.keyringfile``.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.core
import keyring.errors

from glint_tui.core.errors import SecretsError
from glint_tui.core.keyringfile import (  # noqa: F401 - forget_unlocked_keys is re-exported
    PROMPTED,
    EncryptedFileKeyring,
    forget_unlocked_keys,
    read_password_file,
)
from glint_tui.core.paths import SANDBOX_PROFILE, Paths

SERVICE = "glint"
KEYRING_FILE = "keyring.enc"
PASSWORD_FILE = "keyring-password"
ENV_PASSWORD = "GLINT_KEYRING_PASSWORD"
ENV_PASSWORD_FILE = "GLINT_KEYRING_PASSWORD_FILE"

Prompt = Callable[[str], "str | None"]
Notice = Callable[[str], None]

HOW_TO_PROCEED = (
    f"set {ENV_PASSWORD} (or {ENV_PASSWORD_FILE} naming a mode-0600 file), or create a "
    "mode-0600 file '{password_file}' holding a master password, to use glint's encrypted "
    "keyring file; or run a Secret Service (e.g. gnome-keyring) with a D-Bus session to "
    "use the desktop keyring; or choose a keyring backend with PYTHON_KEYRING_BACKEND"
)


def service_name(paths: Paths) -> str:
    """``glint`` for the operator's profile; other profiles get their own keyring service."""
    return SERVICE if paths.profile == "default" else f"{SERVICE}-{paths.profile}"


def _stderr(message: str) -> None:
    print(f"glint: {message}", file=sys.stderr)


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
        self._notice = notice or _stderr
        self._backend: keyring.backend.KeyringBackend | None = None
        self._description = ""

    @property
    def keyring_file(self) -> Path:
        return self.paths.data_dir / KEYRING_FILE

    @property
    def password_file(self) -> Path:
        return self.paths.config_dir / PASSWORD_FILE

    # -- backend choice ------------------------------------------------------------------
    @property
    def _own_file_only(self) -> bool:
        """The sandbox profile always opens its keyring with its own password file: an
        operator's GLINT_KEYRING_PASSWORD or PYTHON_KEYRING_BACKEND is for their own
        secrets and would not open the sandbox's."""
        return self.paths.profile == SANDBOX_PROFILE and self.password_file.exists()

    def _configured_password_source(self) -> str | None:
        """Which configured source holds the master password (None: nothing configured)."""
        if self._own_file_only:
            return str(self.password_file)
        if os.environ.get(ENV_PASSWORD):
            return ENV_PASSWORD
        if os.environ.get(ENV_PASSWORD_FILE):
            return ENV_PASSWORD_FILE
        if self.password_file.exists():
            return str(self.password_file)
        return None

    def _master_password(self, new: bool, wrong: int = 0) -> str:
        """The master password; *wrong* counts the answers the keyring file refused."""
        source = self._configured_password_source()
        if source is not None:
            if wrong:
                raise SecretsError(
                    f"wrong keyring master password for {self.keyring_file} (from {source}); "
                    "it opens no other keyring file: check it, or move that file away"
                )
            if source == ENV_PASSWORD:
                return os.environ[ENV_PASSWORD]
            if source == ENV_PASSWORD_FILE:
                return read_password_file(Path(os.environ[ENV_PASSWORD_FILE]).expanduser())
            return read_password_file(self.password_file)
        where = self.keyring_file
        if where in PROMPTED and not wrong:
            return PROMPTED[where]
        answer: str | None
        if new:
            answer = self._prompt(f"New master password for glint's keyring file {where}: ")
            if answer and self._prompt("Repeat the master password: ") != answer:
                raise SecretsError("the two master passwords differ; nothing was stored")
        else:
            again = "Wrong master password, try again. " if wrong else ""
            answer = self._prompt(f"{again}Master password for glint's keyring file {where}: ")
        if answer:
            PROMPTED[where] = answer
            return answer
        if wrong:
            raise SecretsError(f"wrong keyring master password for {where}; nothing unlocked")
        raise SecretsError(
            "no usable system keyring and no master password for glint's encrypted keyring: "
            + HOW_TO_PROCEED.format(password_file=self.password_file)
        )

    def _choose(self) -> keyring.backend.KeyringBackend:
        if self._backend is not None:
            return self._backend
        backend, source = (None, "") if self._own_file_only else _explicit_keyring()
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

    def unlock(self, create: bool = True) -> None:
        """Ask for the master password (if any) now, before the user types a cloud password
        or many workers need a secret at once. A wrong one is a SecretsError (exit 2).
        Without *create*, a keyring file that does not exist yet is left uncreated."""
        backend = self._choose()
        if isinstance(backend, EncryptedFileKeyring):
            backend.unlock(create)

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
