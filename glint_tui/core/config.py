"""Repositories, credentials (never their secrets) and small settings, as versioned JSON.

Each file is ``{"version": 1, ...}``, validated on every load (``core.validation``) so a
hand edit that breaks something fails with the file and the key named. Writes are atomic
and mode 0600; every change is a locked reload-modify-write, so two glint processes never
lose each other's changes.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from glint_tui.core.errors import ConfigError, GlintError
from glint_tui.core.fsutil import atomic_write_json
from glint_tui.core.jsonfile import read_json
from glint_tui.core.model import Credential, ProjectRef, Repository
from glint_tui.core.notices import Warn, log_warning
from glint_tui.core.paths import Paths
from glint_tui.core.safetext import escape
from glint_tui.core.validation import (  # noqa: F401 - re-exported: callers import them here
    REPOSITORY_CHECKS,
    check_repository_name,
    validate_credential,
    validate_repository,
    validate_settings,
)

if TYPE_CHECKING:
    from glint_tui.core.secrets import SecretStore

VERSION = 1


# -- warnings --------------------------------------------------------------------------------


def insecure_warning(repo: Repository) -> str:
    """What ``insecure`` means for *repo*: certificates go unchecked only on https URLs."""
    if urlsplit(repo.auth_url).scheme == "https":
        return (
            f"repository {repo.name}: TLS certificate verification is OFF (insecure); "
            "anyone on the path can pretend to be this cloud and read its passwords"
        )
    return (
        f"repository {repo.name}: TLS verification is OFF (insecure), which matters only "
        f"for https URLs; {repo.auth_url} is plain http, so nothing it sends is encrypted"
    )


_ABSENT = object()

# -- the files -------------------------------------------------------------------------------


def _read_versioned(path: Path, key: str, kind: type) -> Any:
    """The *key* member of a ``{"version": 1, key: …}`` file; empty when the file is absent.

    Bytes that are not UTF-8, broken or too deeply nested JSON: one ConfigError naming
    the file (``core.jsonfile``), never a traceback.
    """
    doc = read_json(path, default=_ABSENT)
    if doc is _ABSENT:
        return kind()
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: must be a JSON object with a version")
    version = doc.get("version")
    if version != VERSION:
        raise ConfigError(f"{path}: version: expected {VERSION}, found {escape(repr(version))}")
    unknown = set(doc) - {"version", key}
    if unknown:
        raise ConfigError(f"{path}: {escape(sorted(unknown)[0])}: unknown key")
    value = doc.get(key, kind())
    if not isinstance(value, kind):
        raise ConfigError(f"{path}: {key}: must be a JSON {kind.__name__}")
    return value


HOME_REPOSITORY = "home_repository"  # settings key: preferred source for copies
THEME = "theme"  # settings key: the terminal UI's Textual theme, as the operator last chose


@dataclass
class _State:
    """Everything one locked transaction may change."""

    repositories: list[Repository]
    credentials: list[Credential]
    settings: dict[str, Any]


class ConfigStore:
    """The repositories, credentials and settings of one profile (see module docstring).

    *secrets* is used to move or delete a repository's secrets with it; it is created on
    demand. *warn* receives warnings (default: stderr), e.g. "TLS verification is off".
    """

    def __init__(self, paths: Paths, secrets: SecretStore | None = None, warn: Warn | None = None):
        self.paths = paths
        self._secrets = secrets
        self._warn = warn or log_warning

    @property
    def secrets(self) -> SecretStore:
        if self._secrets is None:
            from glint_tui.core.secrets import SecretStore

            self._secrets = SecretStore(self.paths)
        return self._secrets

    # -- loading -------------------------------------------------------------------------
    def _load(self) -> _State:
        repos_file = self.paths.repositories_file
        repos: list[Repository] = []
        seen: set[str] = set()
        for i, data in enumerate(_read_versioned(repos_file, "repositories", list)):
            repo = validate_repository(data, f"{repos_file}: repositories[{i}]")
            if repo.name in seen:
                raise ConfigError(
                    f"{repos_file}: repositories[{i}].name: duplicate name {repo.name!r}"
                )
            seen.add(repo.name)
            repos.append(repo)
        creds_file = self.paths.credentials_file
        creds: list[Credential] = []
        refs: set[ProjectRef] = set()
        for i, data in enumerate(_read_versioned(creds_file, "credentials", list)):
            cred = validate_credential(data, f"{creds_file}: credentials[{i}]")
            if cred.repository not in seen:
                raise ConfigError(
                    f"{creds_file}: credentials[{i}].repository: "
                    f"unknown repository {cred.repository!r} (not in {repos_file})"
                )
            if cred.ref in refs:
                raise ConfigError(
                    f"{creds_file}: credentials[{i}]: a second credential for {cred.ref}"
                )
            refs.add(cred.ref)
            creds.append(cred)
        settings_file = self.paths.settings_file
        settings = _read_versioned(settings_file, "settings", dict)
        validate_settings(settings, f"{settings_file}: settings")
        return _State(repos, creds, settings)

    @contextmanager
    def _transaction(self) -> Iterator[_State]:
        """Locked reload-modify-write: changes made to the state are saved on success."""
        self.paths.config_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.paths.config_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            state = self._load()
            before = (list(state.repositories), list(state.credentials), dict(state.settings))
            yield state
            if state.repositories != before[0]:
                self._write(self.paths.repositories_file, "repositories", state.repositories)
            if state.credentials != before[1]:
                self._write(self.paths.credentials_file, "credentials", state.credentials)
            if state.settings != before[2]:
                atomic_write_json(
                    self.paths.settings_file, {"version": VERSION, "settings": state.settings}
                )
        finally:
            os.close(fd)

    @staticmethod
    def _write(path: Path, key: str, records: list[Any]) -> None:
        atomic_write_json(path, {"version": VERSION, key: [r.to_dict() for r in records]})

    # -- repositories --------------------------------------------------------------------
    def repositories(self) -> list[Repository]:
        return self._load().repositories

    def get_repository(self, name: str) -> Repository:
        for repo in self.repositories():
            if repo.name == name:
                return repo
        raise ConfigError(
            f"no repository named {name!r} (see `glint repository list`; "
            "add one with `glint repository add NAME AUTH_URL`)"
        )

    def has_repository(self, name: str) -> bool:
        return any(r.name == name for r in self.repositories())

    def add_repository(self, repo: Repository) -> Repository:
        repo = validate_repository(repo)
        with self._transaction() as state:
            if any(r.name == repo.name for r in state.repositories):
                raise ConfigError(f"repository {repo.name!r} already exists")
            state.repositories.append(repo)
        self._warn_insecure(repo)
        return repo

    def update_repository(self, name: str, /, **changes: Any) -> Repository:
        """Change fields of *name*; a rename carries its credentials and secrets along.

        Everything is checked (the repository exists, the new name is free, no secret
        already sits under a new keyring key) before any secret is touched, all under the
        config lock. Secrets are copied, the config saved, then the old ones dropped; on
        any failure only the copies this call created are removed, so a refused or failed
        rename never loses a secret - neither this repository's nor another's.
        """
        unknown = set(changes) - set(REPOSITORY_CHECKS)
        if unknown:
            raise ConfigError(f"repository {name!r}: {sorted(unknown)[0]}: unknown field")
        created: list[str] = []
        moved: list[Credential] = []
        try:
            with self._transaction() as state:
                names = [r.name for r in state.repositories]
                if name not in names:
                    self.get_repository(name)  # raises with the "see `glint …`" hint
                old = state.repositories[names.index(name)]
                new = validate_repository(replace(old, **changes))
                if new.name != old.name:
                    if new.name in names:
                        raise ConfigError(f"repository {new.name!r} already exists")
                    mine = [c for c in state.credentials if c.repository == name]
                    created, moved = self._copy_secrets(mine, new.name)
                    state.credentials = [
                        replace(c, repository=new.name) if c.repository == name else c
                        for c in state.credentials
                    ]
                state.repositories[names.index(name)] = new
        except BaseException:
            self._drop_copies(created)
            raise
        self._forget_secrets(moved)
        if new.insecure and not old.insecure:
            self._warn_insecure(new)
        return new

    def _copy_secrets(
        self, creds: list[Credential], new_name: str
    ) -> tuple[list[str], list[Credential]]:
        """Copy *creds*' secrets to keys under *new_name*; returns (keys created, creds moved).

        Refuses before copying anything when a new key already holds a secret: it may be
        another login's, and a rename must never overwrite it.
        """
        pairs = [(c, replace(c, repository=new_name).secret_key) for c in creds]
        for _, new_key in pairs:
            if self.secrets.get(new_key) is not None:
                raise ConfigError(
                    f"the keyring already holds a secret under {new_key!r} (left over from "
                    f"an earlier repository {new_name!r}?); nothing renamed. Pick another "
                    "name, or remove that secret from the keyring first"
                )
        created: list[str] = []
        moved: list[Credential] = []
        try:
            for cred, new_key in pairs:
                secret = self.secrets.get(cred.secret_key)
                if secret is not None:
                    self.secrets.set(new_key, secret)
                    created.append(new_key)
                    moved.append(cred)
        except BaseException:
            self._drop_copies(created)
            raise
        return created, moved

    def _drop_copies(self, keys: list[str]) -> None:
        """Undo :meth:`_copy_secrets` (best effort): only keys this rename created."""
        for key in keys:
            try:
                self.secrets.delete(key)
            except GlintError as e:
                self._warn(f"could not remove the copied secret {key!r}: {e}")
        keys.clear()

    def remove_repository(self, name: str) -> list[Credential]:
        """Remove *name*, its credentials and their secrets; returns the removed credentials."""
        with self._transaction() as state:
            if not any(r.name == name for r in state.repositories):
                raise ConfigError(f"no repository named {name!r}")
            state.repositories = [r for r in state.repositories if r.name != name]
            removed = [c for c in state.credentials if c.repository == name]
            state.credentials = [c for c in state.credentials if c.repository != name]
        self._forget_secrets(removed)
        return removed

    def _warn_insecure(self, repo: Repository) -> None:
        if repo.insecure:
            self._warn(insecure_warning(repo))

    # -- credentials ---------------------------------------------------------------------
    def credentials(self) -> list[Credential]:
        return self._load().credentials

    def columns(self) -> list[ProjectRef]:
        """Every matrix column the credentials give (one per region of an EC2
        repository), sorted."""
        state = self._load()
        repos = {r.name: r for r in state.repositories}
        return sorted(
            ref for c in state.credentials for ref in repos[c.repository].columns(c.project)
        )

    def get_credential(self, ref: ProjectRef | str) -> Credential:
        """The credential of *ref*'s repository and project; one credential serves every
        region column of an EC2 repository (``REPO/REGION:ACCOUNT``)."""
        ref = ProjectRef.parse(ref) if isinstance(ref, str) else ref
        plain = ProjectRef(ref.repository, ref.project)
        for cred in self.credentials():
            if cred.ref == plain:
                return cred
        raise ConfigError(
            f"no credential for {ref} (add one with `glint credentials add {ref} --username USER`)"
        )

    def find_credential(self, ref: ProjectRef | str) -> Credential | None:
        try:
            return self.get_credential(ref)
        except ConfigError:
            return None

    def add_credential(self, cred: Credential, replace_existing: bool = False) -> Credential:
        """Save *cred* (its secret goes to the SecretStore separately, by the caller).

        With *replace_existing*, an existing credential for the same ref is replaced
        (and its secret dropped if the keyring key changes).
        """
        cred = validate_credential(cred)
        replaced: Credential | None = None
        with self._transaction() as state:
            if not any(r.name == cred.repository for r in state.repositories):
                raise ConfigError(f"no repository named {cred.repository!r}")
            for i, old in enumerate(state.credentials):
                if old.ref == cred.ref:
                    if not replace_existing:
                        raise ConfigError(f"a credential for {cred.ref} already exists")
                    replaced = old
                    state.credentials[i] = cred
                    break
            else:
                state.credentials.append(cred)
        if replaced is not None and replaced.secret_key != cred.secret_key:
            self._forget_secrets([replaced])
        return cred

    def remove_credential(self, ref: ProjectRef | str) -> Credential:
        """Remove the credential for *ref* and its secret."""
        ref = ProjectRef.parse(ref) if isinstance(ref, str) else ref
        ref = ProjectRef(ref.repository, ref.project)  # a region column: its credential
        with self._transaction() as state:
            found = [c for c in state.credentials if c.ref == ref]
            if not found:
                raise ConfigError(f"no credential for {ref}")
            state.credentials = [c for c in state.credentials if c.ref != ref]
        self._forget_secrets(found)
        return found[0]

    def _forget_secrets(self, creds: list[Credential]) -> None:
        """Best effort: the config change is already saved; say what was left behind."""
        for cred in creds:
            try:
                self.secrets.delete(cred.secret_key)
            except GlintError as e:
                self._warn(f"the secret of {cred.ref} stays in the keyring: {e}")

    # -- settings ------------------------------------------------------------------------
    def home_repository(self) -> str | None:
        """The preferred copy source (the original Glint's "local" repository), if set."""
        return self.get_setting(HOME_REPOSITORY)

    def get_setting(self, key: str, default: Any = None) -> Any:
        return self._load().settings.get(key, default)

    def set_setting(self, key: str, value: Any) -> None:
        """Store a small JSON value (e.g. ``home_project``); None removes the key."""
        validate_settings({key: value}, "settings")
        with self._transaction() as state:
            if value is None:
                state.settings.pop(key, None)
            else:
                state.settings[key] = value
