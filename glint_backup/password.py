"""Where the admin password comes from. It is returned to the caller and nowhere else.

Order: hiera (the original Glint way) when ``glint_backup_hiera_config`` is set; the
password file named by ``glint_backup_admin_pw_file`` (mode 0600 enforced); glint's
keyring (``SecretStore``, which unlocks its encrypted file non-interactively under cron
from ``GLINT_KEYRING_PASSWORD[_FILE]``); a systemd credential
(``$CREDENTIALS_DIRECTORY/<pw_key>``); finally a password in the clouds.yaml entry.
The password never reaches argv, a log line, or an error message.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

from glint_backup.config import BackupConfig
from glint_backup.errors import BackupConfigError


def read_private_file(path: Path, what: str) -> str:
    """The first line of a file only its owner can read (refused otherwise)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise BackupConfigError(f"{what} {path} does not exist") from None
    if stat.S_IMODE(st.st_mode) & 0o077:
        raise BackupConfigError(
            f"{what} {path} is mode {stat.S_IMODE(st.st_mode):04o}; "
            f"it must be readable by its owner only (chmod 600 {path})"
        )
    secret = path.read_text(encoding="utf-8").splitlines()[0:1]
    if not secret or not secret[0]:
        raise BackupConfigError(f"{what} {path} is empty")
    return secret[0]


def from_hiera(config_file: str, key: str) -> str:
    """``hiera -c CONFIG KEY``: the secret comes back on stdout, never on a command line."""
    exe = shutil.which("hiera")
    if exe is None:
        raise BackupConfigError(
            "glint_backup_hiera_config is set but the 'hiera' command is not on PATH"
        )
    try:
        done = subprocess.run(
            [exe, "-c", config_file, key],
            capture_output=True,
            text=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise BackupConfigError(f"hiera lookup of {key!r} failed: {type(e).__name__}") from None
    value = done.stdout.strip()
    if done.returncode != 0 or not value or value == "nil":
        # stderr may be useful but could echo data; report only the status
        raise BackupConfigError(
            f"hiera lookup of {key!r} with config {config_file} failed "
            f"(exit {done.returncode}, {'empty' if not value or value == 'nil' else 'output'})"
        )
    return value


def from_keyring(key: str) -> str | None:
    """glint's keyring (system keyring or its encrypted file), profile from GLINT_PROFILE."""
    from glint_tui.core.paths import paths_for
    from glint_tui.core.secrets import SecretStore

    def no_prompt(_: str) -> None:  # under cron there is nobody to ask
        return None

    store = SecretStore(paths_for(), prompt=no_prompt, notice=lambda _m: None)
    return store.get(key)


def resolve(config: BackupConfig, clouds_yaml_password: str | None = None) -> str:
    """The admin password from the first configured source (see module docstring)."""
    if config.hiera_config:
        return from_hiera(config.hiera_config, config.pw_key or "")
    if config.pw_file:
        return read_private_file(config.pw_file, "glint_backup_admin_pw_file")
    if config.pw_key:
        creds = os.environ.get("CREDENTIALS_DIRECTORY")
        if creds and (Path(creds) / config.pw_key).is_file():
            # systemd LoadCredential=: the directory is private to the unit
            return (Path(creds) / config.pw_key).read_text(encoding="utf-8").strip()
        secret = from_keyring(config.pw_key)
        if secret:
            return secret
    if clouds_yaml_password:
        return clouds_yaml_password
    raise BackupConfigError(
        f"no admin password found for key {config.pw_key!r}: store it with "
        f"`glint-backup set-password`, or set glint_backup_admin_pw_file, or use a systemd "
        f"credential named {config.pw_key!r}"
    )
