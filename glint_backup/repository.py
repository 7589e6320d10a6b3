"""Where the repository lives and how to open it: a local directory, Swift, or S3.

``open_store`` turns the configuration into an ObjectStore: it builds the backend, reads
the marker (refusing a foreign or unmounted location, exit 5), creates a new repository
on first use, and unlocks the key of an encrypted one (a wrong password is exit 6).
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from glint_backup.config import BackupConfig
from glint_backup.errors import BackupConfigError, NoStore
from glint_backup.store import MARKER, ObjectStore
from glint_tui.core.fsutil import atomic_write_json
from glint_tui.core.jsonfile import BadJSON, parse_json, read_json

FORMAT = 1
FORMAT_ENCRYPTED = 2


@dataclass(frozen=True)
class Target:
    kind: str  # local | swift | s3
    place: str  # directory, container or bucket
    prefix: str = ""

    @property
    def url(self) -> str:
        if self.kind == "local":
            return self.place
        return f"{self.kind}://{self.place}" + (f"/{self.prefix}" if self.prefix else "")


def parse_url(url: str, key: str = "--to") -> Target:
    """``swift://CONTAINER[/PREFIX]``, ``s3://BUCKET[/PREFIX]`` or a local directory."""
    for kind in ("swift", "s3"):
        if url.startswith(f"{kind}://"):
            place, _, prefix = url[len(kind) + 3 :].partition("/")
            if not place or any(c in place for c in " \t\n?#"):
                what = "container" if kind == "swift" else "bucket"
                raise BackupConfigError(f"{key}: no {what} name in {url!r}")
            return Target(kind, place, prefix.strip("/"))
    if "://" in url:
        raise BackupConfigError(f"{key}: expected swift://, s3:// or a directory, got {url!r}")
    return Target("local", str(Path(url).expanduser()))


def target_of(config: BackupConfig) -> Target:
    if config.repository:
        return parse_url(config.repository, "glint_backup_repository")
    assert config.backup_dir is not None  # validate() requires one of the two
    return Target("local", str(config.backup_dir))


def with_target(config: BackupConfig, url: str) -> BackupConfig:
    """The same configuration pointed at another repository (``copy --to``)."""
    target = parse_url(url)
    if target.kind == "local":
        return dataclasses.replace(config, backup_dir=Path(target.place), repository=None)
    return dataclasses.replace(config, backup_dir=None, repository=url)


# -- backends --------------------------------------------------------------------------------
def backend_for(config: BackupConfig, target: Target):
    if target.kind == "local":
        from glint_backup.storage.local import LocalBackend

        return LocalBackend(Path(target.place))
    if target.kind == "swift":
        from glint_backup import connect
        from glint_backup.storage.swift import SwiftBackend

        if config.repository_cloud:
            session = connect.open_cloud_session(config.repository_cloud)
        else:
            session = connect.open_admin_session(config, images=False)
        return SwiftBackend(session, target.place, target.prefix, config.segment_bytes)
    from glint_backup import connect
    from glint_backup.storage.s3 import S3Backend, make_client

    client = make_client(config.s3_endpoint, config.s3_region, _s3_keys(config),
                         config.s3_profile, connect.BACKUP_TIMEOUTS.for_download)  # fmt: skip
    return S3Backend(client, target.place, target.prefix, config.segment_bytes)


def _s3_keys(config: BackupConfig) -> tuple[str, str] | None:
    """From a 0600 AWS-format file, the keyring, or None (boto3's own chain)."""
    import configparser

    from glint_backup import password

    if config.s3_credentials_file:
        password.read_private_file(config.s3_credentials_file, "glint_backup_s3_credentials_file")
        ini = configparser.ConfigParser()
        ini.read(config.s3_credentials_file, encoding="utf-8")
        section = config.s3_profile or "default"
        try:
            return ini[section]["aws_access_key_id"], ini[section]["aws_secret_access_key"]
        except KeyError:
            raise BackupConfigError(
                f"glint_backup_s3_credentials_file: no aws_access_key_id and "
                f"aws_secret_access_key in section [{section}]"
            ) from None
    if config.s3_key:
        secret = password.from_keyring(config.s3_key)
        if not secret or ":" not in secret:
            raise BackupConfigError(
                f"glint_backup_s3_key: keyring entry {config.s3_key!r} is missing or not "
                "ACCESS_KEY_ID:SECRET"
            )
        access, _, key = secret.partition(":")
        return access, key
    return None


# -- opening ---------------------------------------------------------------------------------
def open_store(config: BackupConfig, create: bool = False, missing_ok: bool = False,
               target: Target | None = None) -> ObjectStore:  # fmt: skip
    """The repository of *config* (or *target*); see the module docstring.

    *missing_ok* (dry runs): a location that holds no repository yet gives an empty,
    read-only view instead of an error.
    """
    target = target or target_of(config)
    if target.kind == "local" and not Path(target.place).is_dir():
        raise NoStore(f"backup directory {target.place} does not exist (is the disk mounted?)")
    backend = backend_for(config, target)
    try:
        marker = read_marker(backend, target)
        if marker is None:
            if missing_ok and not create:
                return ObjectStore(backend, {}, None, config.compression)
            _check_empty(backend, target, create)
            marker = _initialise(config, backend, target)
        key = _unlock(config, marker, target)
    except BaseException:
        backend.close()
        raise
    return ObjectStore(backend, marker, key, config.compression)


def read_marker(backend, target: Target) -> dict | None:
    """The repository's marker (None where there is no repository yet)."""
    data = backend.read_bytes(MARKER)
    if data is None:
        return None
    try:
        marker = parse_json(data, MARKER)
    except BadJSON as e:
        raise NoStore(f"{target.url}: the repository marker is damaged ({e})") from None
    if not isinstance(marker, dict) or not isinstance(marker.get("store_id"), str):
        raise NoStore(f"{target.url}: {MARKER} is not a glint-backup marker")
    return marker


def _check_empty(backend, target: Target, may_create: bool) -> None:
    """A location without a marker must be empty (and, locally, never held a store)."""
    if target.kind == "local":
        root = Path(target.place)
        known = _known_stores()
        if str(root.resolve()) in known:
            raise NoStore(
                f"backup directory {root} no longer holds its store "
                f"(store {known[str(root.resolve())]}): is the disk mounted?"
            )
        if any(p.name != ".lock" for p in root.iterdir()):
            raise NoStore(
                f"{root} is not empty and not a glint-backup store; "
                "point glint_backup_dir at an empty directory"
            )
    elif next((k for k, _ in backend.list("") if k != "lock"), None) is not None:
        raise NoStore(f"{target.url} is not empty and holds no glint-backup repository")
    if not may_create:
        raise NoStore(f"{target.url} is not a glint-backup store (no backup ran yet)")


def _initialise(config: BackupConfig, backend, target: Target) -> dict:
    from glint_backup import crypto

    store_id = str(uuid.uuid4())
    marker: dict = {
        "format": FORMAT,
        "store_id": store_id,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if config.encryption:
        _key, record = crypto.new_key(encryption_password(config), store_id)
        marker.update(format=FORMAT_ENCRYPTED, encryption=record)
    if target.kind == "s3":
        backend.create_bucket()
    elif target.kind == "swift":
        backend.create_container()
    else:
        for sub in ("objects", "snapshots", "tmp", "damaged"):
            (Path(target.place) / sub).mkdir(mode=0o700, exist_ok=True)
    if not backend.write_bytes(MARKER, json.dumps(marker, indent=2).encode(), create_only=True):
        raise NoStore(f"{target.url}: another run created the repository at the same time")
    if target.kind == "local":
        _remember_store(Path(target.place), store_id)
    return marker


def _unlock(config: BackupConfig, marker: dict, target: Target):
    from glint_backup import crypto

    record = marker.get("encryption")
    if record is None:
        if config.encryption:
            raise BackupConfigError(
                f"glint_backup_encryption is true but {target.url} is an unencrypted "
                "repository (start an encrypted one elsewhere, and `copy --to` it there)"
            )
        return None
    if not config.encryption_pw_file and not config.encryption_pw_key:
        raise BackupConfigError(
            f"{target.url} is encrypted: set glint_backup_encryption and its password "
            "(glint_backup_encryption_pw_file or glint_backup_encryption_pw_key)"
        )
    return crypto.unlock(record, encryption_password(config), marker["store_id"])


def encryption_password(config: BackupConfig) -> str:
    from glint_backup import password

    if config.encryption_pw_file:
        return password.read_private_file(
            config.encryption_pw_file, "glint_backup_encryption_pw_file"
        )
    secret = password.from_keyring(config.encryption_pw_key or "")
    if not secret:
        raise BackupConfigError(
            f"glint_backup_encryption_pw_key: no keyring entry {config.encryption_pw_key!r}"
        )
    return secret


# -- local stores glint has seen (an empty mount point is then not mistaken for a new one) --
def _known_stores_file() -> Path:
    from glint_tui.core.paths import paths_for

    return paths_for().state_dir / "backup-stores.json"


def _known_stores() -> dict[str, str]:
    try:
        known = read_json(_known_stores_file(), default={})
    except BadJSON:
        return {}
    return known if isinstance(known, dict) else {}


def _remember_store(root: Path, store_id: str) -> None:
    import contextlib

    with contextlib.suppress(OSError):
        known = _known_stores()
        known[str(root.resolve())] = store_id
        atomic_write_json(_known_stores_file(), known)
