"""``glint-backup set-password``: a secret goes into glint's keyring only after it worked.

Three secrets of the configuration can live in glint's keyring (the system keyring, or
glint's encrypted file, which cron unlocks with ``GLINT_KEYRING_PASSWORD_FILE``):

- the admin password, under ``glint_backup_admin_pw_key``: tried by a Keystone login;
- the S3 keys ``ACCESS_KEY_ID:SECRET``, under ``glint_backup_s3_key``: tried by a request
  to the S3 endpoint about the repository's bucket;
- the repository password, under ``glint_backup_encryption_pw_key``: tried by unlocking the
  repository's key, when the repository exists (the first run makes it with this one).

A secret that does not work is exit 6 (or the error that stopped the try) and stores
nothing; the secret never reaches argv, the log or a message.
"""

from __future__ import annotations

from glint_backup.config import BackupConfig
from glint_backup.errors import AuthFailed, BackupConfigError
from glint_backup.storage.base import StorageError

ENTRIES = {  # --for value -> (config key, BackupConfig field, what the secret is)
    "admin": ("glint_backup_admin_pw_key", "pw_key", "the admin password"),
    "s3": ("glint_backup_s3_key", "s3_key", "the S3 keys, as ACCESS_KEY_ID:SECRET"),
    "encryption": ("glint_backup_encryption_pw_key", "encryption_pw_key",
                   "the repository password"),
}  # fmt: skip


def entry_name(config: BackupConfig, which: str) -> str:
    """The keyring entry for *which*; a config error when the configuration names none."""
    key, field, _ = ENTRIES[which]
    name = getattr(config, field)
    if not name:
        raise BackupConfigError(f"{config.source}: {key} is not set")
    return name


def _try_admin(config: BackupConfig, secret: str) -> str:
    from glint_backup import connect

    connect.open_admin_session(config, images=False, secret=secret).close()
    return "the login worked"


def _try_s3(config: BackupConfig, secret: str) -> str:
    from glint_backup import connect, repository
    from glint_backup.storage.s3 import S3Backend, make_client

    target = repository.target_of(config)
    if target.kind != "s3":
        raise BackupConfigError("glint_backup_s3_key is only used by an s3:// repository")
    access, _, key = secret.partition(":")
    if not access or not key:
        raise BackupConfigError("set-password --for s3: expected ACCESS_KEY_ID:SECRET")
    client = make_client(config.s3_endpoint, config.s3_region, (access, key), None,
                         connect.BACKUP_TIMEOUTS.for_api)  # fmt: skip
    backend = S3Backend(client, target.place, target.prefix)
    try:
        exists = backend.bucket_exists()
    except StorageError as e:
        if e.status in (401, 403):
            raise AuthFailed(f"{target.url}: S3 refused these keys ({e})") from None
        raise
    finally:
        backend.close()
    return "S3 accepted them" + ("" if exists else " (the bucket is made by the first run)")


def _try_encryption(config: BackupConfig, secret: str) -> str:
    from glint_backup import crypto, repository

    target = repository.target_of(config)
    backend = repository.backend_for(config, target)
    try:
        marker = repository.read_marker(backend, target)
    finally:
        backend.close()
    if marker is None:
        return "no repository yet: the first run makes it with this password"
    if not marker.get("encryption"):
        raise BackupConfigError(f"{target.url} is not encrypted: it has no use for a password")
    crypto.unlock(marker["encryption"], secret, marker["store_id"])  # wrong: AuthFailed
    return "it unlocks the repository"


TRIES = {"admin": _try_admin, "s3": _try_s3, "encryption": _try_encryption}


def store(config: BackupConfig, which: str, secret: str) -> tuple[str, str]:
    """Try *secret* as *which*, then store it: (keyring entry, what the try found)."""
    from glint_tui.core.paths import paths_for
    from glint_tui.core.secrets import SecretStore

    name = entry_name(config, which)
    if not secret:
        raise BackupConfigError("set-password: empty secret, nothing stored")
    found = TRIES[which](config, secret)
    SecretStore(paths_for()).set(name, secret)
    return name, found
