"""Glint's use cases, one policy each, for the CLI (``glint_tui.commands``) and the UI
(``glint_tui.ui.backend``): so the two can never disagree on what a command does.

The credential rule lives here: a secret reaches the keyring only after a login with it
worked (or the operator explicitly chose to save without checking), and a replacement
that fails leaves the old secret and credential record exactly as they were.

Every method may block (network, keyring, disk). Nothing here prints: warnings go to the
*warn* and *notice* callbacks the caller passes (the CLI prints them, the UI notifies).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from glint_tui.core import uploads
from glint_tui.core.catalog_services import CatalogUseCases
from glint_tui.core.cloudid import same_cloud_warning, same_keystone
from glint_tui.core.clouds import open_session
from glint_tui.core.cloudsyaml import (
    CloudEntry,
    ImportResult,
    import_entries,
    load_clouds,
    repository_name,
)
from glint_tui.core.config import (
    HOME_REPOSITORY,
    ConfigStore,
    check_repository_name,
    validate_credential,
    validate_repository,
)
from glint_tui.core.desired import Desired, desired_from_mapping, load_desired_file
from glint_tui.core.errors import ConfigError, UsageError
from glint_tui.core.events import Event
from glint_tui.core.importmethods import AUTO
from glint_tui.core.inventory import ColumnStatus, Matrix, refresh
from glint_tui.core.methodchoice import choose_methods
from glint_tui.core.model import (
    SECRETLESS_AUTH_TYPES,
    Credential,
    ProjectRef,
    Repository,
    resolve_column,
)
from glint_tui.core.notices import Notice, Warn, log_warning
from glint_tui.core.paths import Paths, paths_for
from glint_tui.core.plan import Choices, Plan, build_plan
from glint_tui.core.reconcile import ReconcileReport, reconcile
from glint_tui.core.secrets import Prompt, SecretStore
from glint_tui.core.sessions import (
    SessionProvider,
    probe_endpoint,
    probe_keystone,
)
from glint_tui.core.validation import check_auth_type

AskSecret = Callable[[CloudEntry], "str | None"]

TRANSFER_METHOD = "transfer_method"
"""Settings key: how copies move when no ``--method`` is given (auto by default)."""

REACHABILITY = frozenset({"auth_url", "endpoint_url", "ca_bundle", "insecure"})
"""Repository fields whose change is checked against Keystone before it is saved."""


@dataclass(frozen=True)
class CredentialSaved:
    """What ``save_credential`` did: ``replaced`` one, ``verified`` by a login first."""

    credential: Credential
    replaced: bool
    verified: bool


class Services(CatalogUseCases):
    """The use cases of one glint profile: its config, keyring, sessions and engine."""

    def __init__(
        self,
        paths: Paths | None = None,
        *,
        prompt: Prompt | None = None,
        warn: Warn | None = None,
        notice: Notice | None = None,
    ) -> None:
        self.paths = paths or paths_for()
        self._warn = warn or log_warning
        self.secrets = SecretStore(self.paths, prompt=prompt, notice=notice or warn)
        self.config = ConfigStore(self.paths, secrets=self.secrets, warn=warn)
        self.sessions = SessionProvider(self.paths, secrets=self.secrets, warn=warn)
        self._engine_lock = threading.Lock()
        self._engine: Any = None  # the TransferEngine of the run going now, if any

    # -- reading the configuration -------------------------------------------------------
    def repositories(self) -> list[Repository]:
        return self.config.repositories()

    def repository(self, name: str) -> Repository:
        return self.config.get_repository(name)

    def credentials(self, repository: str | None = None) -> list[Credential]:
        """Credentials (never secrets), of one repository when named (a typo is an error)."""
        if repository is not None:
            self.config.get_repository(repository)
        return [c for c in self.config.credentials() if repository in (None, c.repository)]

    def credential(self, ref: ProjectRef) -> Credential:
        return self.config.get_credential(ref)

    def home_repository(self) -> str | None:
        return self.config.home_repository()

    def columns(self) -> list[ProjectRef]:
        """Every configured column (one per credential, one per region of an EC2
        repository), sorted."""
        return self.sessions.refs()

    def column(self, text: str) -> ProjectRef:
        """The configured column *text* names: ``REPO:PROJECT``, ``REPO/REGION:PROJECT``, or
        where it is unambiguous just ``REPO``, ``REPO/REGION`` or ``REPO:REGION``
        (``model.resolve_column``); a ValueError says why not."""
        return resolve_column(text, self.columns())

    def describe_secrets(self) -> str:
        return self.secrets.describe()

    def unlock_secrets(self, *, create: bool = True) -> None:
        """Ask for the keyring's master password now (before a cloud password is typed, or
        before many workers need a secret at once); a wrong one is a SecretsError (exit 2).
        Without *create*, a keyring file that does not exist yet stays uncreated."""
        self.secrets.unlock(create)

    # -- repositories ----------------------------------------------------------------------
    def add_repository(self, repo: Repository, *, verify: bool = True) -> str | None:
        """Save a new repository once its Keystone answers; returns the identity version
        found (None with ``verify=False``: the operator chose to save without checking)."""
        repo = validate_repository(repo)
        if self.config.has_repository(repo.name):
            raise UsageError(
                f"repository {repo.name!r} already exists (use `glint repository edit`)"
            )
        version = self._probe(repo) if verify else None
        self.config.add_repository(repo)
        self._warn_same_cloud(repo)
        return version

    @staticmethod
    def _probe(repo: Repository) -> str | None:
        """Reach the repository before it is saved: Keystone's version (OpenStack), or the
        EC2 endpoint answering (AWS itself: nothing to reach before a key, None)."""
        if repo.cloud_type == "ec2":
            return probe_endpoint(repo) if repo.endpoint_url else None
        return probe_keystone(repo)

    def _warn_same_cloud(self, repo: Repository) -> None:
        """Tell the operator when *repo* is a cloud glint already knows under another name
        (an EC2 cloud is an account: the matrix tells once a key says which)."""
        if repo.cloud_type != "openstack":
            return
        others = [r for r in self.config.repositories() if r.cloud_type == "openstack"]
        twins = same_keystone(repo, others)
        if twins:
            self._warn(same_cloud_warning(repo, twins))

    def edit_repository(
        self, name: str, changes: dict[str, Any], *, verify: bool = True
    ) -> tuple[Repository, list[str]]:
        """Apply the *changes* that differ (a rename keeps credentials and secrets);
        a changed URL, CA bundle or TLS setting is checked against Keystone first.
        Returns the repository and the names of the fields that changed."""
        old = self.config.get_repository(name)
        changed = {k: v for k, v in changes.items() if v is not None and getattr(old, k) != v}
        if not changed:
            return old, []
        if verify and REACHABILITY & set(changed):
            self._probe(validate_repository(replace(old, **changed)))
        return self.config.update_repository(old.name, **changed), sorted(changed)

    def delete_repository(self, name: str) -> tuple[Repository, int]:
        """Forget a repository with its credentials and secrets (images are untouched)."""
        repo = self.config.get_repository(name)
        count = len(self.credentials(repo.name))
        self.config.remove_repository(repo.name)
        return repo, count

    def set_home(self, name: str | None) -> None:
        """Prefer *name* as the source of copies (None: any verified copy)."""
        if name is not None:
            self.config.get_repository(name)  # a clear error for an unknown name
        self.config.set_setting(HOME_REPOSITORY, name)

    def import_clouds(
        self,
        file: str | Path | None = None,
        *,
        clouds: list[str] | None = None,
        rename: str | None = None,
        verify: bool = True,
        ask_secret: AskSecret | None = None,
    ) -> tuple[Path, list[ImportResult]]:
        """Import clouds.yaml entries (only *clouds*, when named; the single one under the
        name *rename*). Each credential is saved under the credential rule."""
        path, entries = load_clouds(file)
        if clouds:
            names = {e.cloud for e in entries}
            missing = [c for c in clouds if c not in names]
            if missing:
                raise UsageError(f"{path}: no cloud named {missing[0]!r} (has: {', '.join(names)})")
            entries = [e for e in entries if e.cloud in clouds]
        if rename is not None:
            if len(entries) != 1:
                raise UsageError("--name needs exactly one --cloud")
            _rename_entry(entries[0], rename)
        if not entries:
            raise UsageError(f"{path}: no clouds to import")
        self.secrets.unlock()  # the master password (if any) before any cloud secret is asked

        def save(repo: Repository, cred: Credential, secret: str, new_repository: bool) -> None:
            if verify:
                self._login(repo, cred, secret)
            if new_repository:
                self.config.add_repository(repo)
                self._warn_same_cloud(repo)
            self._store_credential(cred, secret)

        return path, import_entries(entries, self.config, save, ask_secret)

    # -- credentials -----------------------------------------------------------------------
    def save_credential(
        self, cred: Credential, secret: str, *, verify: bool = True
    ) -> CredentialSaved:
        """Add or replace the credential of ``cred.ref``, under the credential rule.

        With *verify* (the default) the login is tried first and its precise CloudError
        (wrong password, unknown project, unreachable, no image endpoint) is raised with
        nothing written; ``verify=False`` is the operator's explicit "save without checking".

        An EC2 credential may leave ``project`` empty: the login says which account the
        key belongs to, and the saved credential (returned) is that account's. A profile or
        the environment keeps no secret: nothing is written to the keyring for them.
        """
        cred = self.check_credential(cred)
        repo = self.config.get_repository(cred.repository)
        if not secret and cred.auth_type not in SECRETLESS_AUTH_TYPES:
            raise UsageError("the password / secret is empty; nothing saved")
        if verify:
            account = self._login(repo, cred, secret)
            if repo.cloud_type == "ec2":
                cred = replace(cred, project=account)
        elif not cred.project:
            raise UsageError(
                f"without a login glint cannot learn the account: name it, "
                f"`glint credentials add {cred.repository}:ACCOUNT …`"
            )
        replaced = self._store_credential(cred, secret)
        return CredentialSaved(cred, replaced, verify)

    def check_credential(self, cred: Credential) -> Credential:
        """*cred* with every field checked and its repository known: callers check before
        they ask for a secret, so a typo never costs the operator a typed password.
        (An EC2 credential's empty project is "the account the login names".)"""
        repo = self.config.get_repository(cred.repository)
        unknown_account = repo.cloud_type == "ec2" and not cred.project
        checked = validate_credential(replace(cred, project="-") if unknown_account else cred)
        check_auth_type(checked, repo)
        return replace(checked, project="") if unknown_account else checked

    def delete_credential(self, ref: ProjectRef) -> Credential:
        """Remove the credential of *ref* and its secret."""
        return self.config.remove_credential(ref)

    def _login(self, repo: Repository, cred: Credential, secret: str) -> str:
        """Log in once (with the profile's timeouts) in every region of the repository;
        the adapter raises the precise CloudError when it does not work. Returns the
        project (account) id the login is scoped to."""
        project = ""
        for region in repo.regions or (None,):
            place = replace(repo, region=region) if region else repo
            with open_session(place, cred, secret, timeouts=self.sessions.timeouts) as session:
                session.check()
                project = session.project_id
        return project

    def _store_credential(self, cred: Credential, secret: str) -> bool:
        """Write the secret, then the record; if the record cannot be written, put back
        whatever the keyring held under that key. Returns True when a credential was
        replaced (its old secret is dropped by the config only once the new one is saved)."""
        replaced = self.config.find_credential(cred.ref) is not None
        if cred.auth_type in SECRETLESS_AUTH_TYPES:  # a profile, the environment: no secret
            self.config.add_credential(cred, replace_existing=True)
            return replaced
        previous = self.secrets.get(cred.secret_key)
        self.secrets.set(cred.secret_key, secret)
        try:
            self.config.add_credential(cred, replace_existing=True)
        except BaseException:
            if previous is None:
                self.secrets.delete(cred.secret_key)
            else:
                self.secrets.set(cred.secret_key, previous)
            raise
        return replaced

    # -- testing a connection ----------------------------------------------------------------
    def test_connection(self, repository: str, ref: ProjectRef | None = None) -> str:
        """One line saying what works: Keystone answers (no credential yet), or the
        credential of *ref* logs in and how many images it sees."""
        repo = self.config.get_repository(repository)
        if ref is None:
            if repo.cloud_type == "ec2":
                found = self._probe(repo)
                return f"{repo.name}: {found or 'AWS: add a credential to check a login'}"
            return f"{repo.name}: Keystone {probe_keystone(repo)} answers"
        with self.sessions.open(ref) as session:
            session.check()
            count = sum(1 for _ in session.list_images())
        return f"{ref}: login works, {count} images visible"

    # -- the matrix, plans and runs ----------------------------------------------------------
    def load_matrix(
        self,
        columns: list[ProjectRef] | None = None,
        *,
        on_column: Callable[[ColumnStatus], None] | None = None,
        need_columns: bool = False,
    ) -> Matrix:
        """List every configured column, or only *columns*, concurrently (``on_column``
        hears each one finish): only their clouds are asked.

        Each of *columns* must be configured; *need_columns* makes "nothing configured"
        an error rather than an empty matrix (the CLI has nothing to show). A bad
        ``"timeouts"`` setting or a wrong master password fails the whole load once
        (ConfigError / SecretsError, exit 2), before any column is asked.
        """
        refs = self.columns()
        if need_columns and not refs:
            raise ConfigError(
                "no credentials configured: add a repository and a credential first "
                "(glint repository add, glint credentials add)"
            )
        for ref in columns or ():
            # a configured column (an EC2 region's), or a region of an OpenStack one
            if ref not in refs and ProjectRef(ref.repository, ref.project) not in refs:
                raise UsageError(f"{ref} is not a configured REPO:PROJECT")
        if not refs:
            return refresh(self.sessions, [], on_column=on_column)
        self.sessions.timeouts  # noqa: B018 - read (and checked) once, not per column
        self.secrets.unlock(create=False)  # one master password prompt, not one per column
        return refresh(
            self.sessions, sorted(set(columns)) if columns else refs, on_column=on_column
        )

    def make_plan(
        self,
        matrix: Matrix,
        desired: Desired,
        *,
        on_conflict: str = "refuse",
        visibility: str = "private",
        source: ProjectRef | None = None,
        method: str | None = None,
        store: str | None = None,
        source_url: str | None = None,
        choices: Choices | None = None,
    ) -> Plan:
        """The plan for *desired* over *matrix*, copies preferring the home repository
        (*choices*: a same-name conflict's answer per copy target, from the UI's review),
        each copy destination with its transfer method (*method*, else the profile's
        ``transfer_method`` setting, else auto: ``core.methodchoice`` asks the clouds)."""
        plan = build_plan(
            matrix,
            desired,
            home_repository=self.home_repository(),
            on_conflict=on_conflict,
            visibility=visibility,
            source=source,
            store=store,
            choices=choices,
        )
        if not plan.copies:
            return plan
        asked = method or self.transfer_method()
        return choose_methods(plan, self.sessions.open, asked, source_url=source_url)

    def transfer_method(self) -> str:
        """The profile's default transfer method (``settings.json`` ``transfer_method``)."""
        return str(self.config.get_setting(TRANSFER_METHOD) or AUTO)

    def plan_from_file(
        self, path: str | Path, *, prune: bool = False, **plan_options: Any
    ) -> tuple[Plan, Matrix]:
        """The plan that makes the clouds match a DESIRED.json file (and the matrix it read)."""
        mapping = load_desired_file(path)
        matrix = self.load_matrix(need_columns=True)
        desired = desired_from_mapping(mapping, matrix, prune=prune)
        return self.make_plan(matrix, desired, **plan_options), matrix

    def plan_upload(
        self,
        path: str | Path,
        name: str,
        targets: list[ProjectRef],
        *,
        disk_format: str | None = None,
        properties: dict[str, str] | None = None,
        visibility: str = "private",
        on_hash: uploads.Progress | None = None,
    ) -> tuple[Plan, list[tuple[ProjectRef, str]]]:
        """The plan that uploads a local file to *targets* (``core.uploads``): the file is
        hashed here first (*on_hash* hears how far), then only the targets' columns are
        listed, so a same-name image there is refused, not overwritten. Also returns the
        targets that hold the file under that name already (and the image ids)."""
        path = Path(path).expanduser()
        configured = self.columns()
        for ref in targets:
            if ref not in configured:
                raise UsageError(f"{ref} is not a configured REPO:PROJECT")
        if not targets:
            raise UsageError("name at least one destination (--to REPO:PROJECT)")
        return uploads.plan_file(
            lambda: self.load_matrix(targets),
            path, name, targets, disk_format, properties, visibility, on_hash,
        )  # fmt: skip

    def run_plan(
        self,
        plan: Plan,
        cancel: threading.Event | None,
        on_event: Callable[[Event], None],
        *,
        options: Any = None,
    ) -> Any:
        """Run *plan* (blocks until it is over) and return the engine's RunResult.

        *options* is a ``core.transfer.TransferOptions``; ``cancel`` stops the whole run,
        ``cancel_action`` one action or destination of it.
        """
        from glint_tui.core.transfer import (
            TransferEngine,  # the engine is heavy: on demand
            TransferOptions,
        )

        options = replace(
            options or TransferOptions(), import_stall=self.sessions.timeouts.import_stall
        )
        engine = TransferEngine(self.sessions, self.paths, on_event=on_event, options=options)
        with self._engine_lock:
            self._engine = engine
        try:
            return engine.run(plan, cancel)
        finally:
            with self._engine_lock:
                self._engine = None

    def cancel_action(self, action_id: str, ref: ProjectRef | None = None) -> bool:
        """Cancel one action (or one destination) of the running plan; never blocks."""
        with self._engine_lock:
            engine = self._engine
        return engine is not None and engine.cancel_action(action_id, ref)

    def reconcile(self, on_event: Callable[[Event], None] | None = None) -> ReconcileReport:
        """Delete what dead runs left half-made (and nothing else)."""
        return reconcile(self.sessions, self.paths, on_event=on_event)


def _rename_entry(entry: CloudEntry, name: str) -> None:
    """Import a clouds.yaml entry under another repository name."""
    try:
        check_repository_name(name)
    except ValueError as e:
        raise UsageError(f"--name: {e}") from None
    if entry.repository is not None:
        entry.repository = replace(entry.repository, name=name)
    if entry.credential is not None:
        project = entry.credential.project
        if entry.credential.auth_type == "application_credential" and project == repository_name(
            entry.cloud
        ):
            project = name
        entry.credential = replace(entry.credential, repository=name, project=project)
