"""The repositories screen: list, add, edit, delete (confirmed), test, import clouds.yaml,
and each repository's credentials. Config and keyring work runs in thread workers.
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Input, Label, Static

from glint_tui.core.errors import GlintError
from glint_tui.core.model import Credential, Repository
from glint_tui.ui.backend import LiveBackend
from glint_tui.ui.safe import plain
from glint_tui.ui.screens.confirm import ConfirmModal
from glint_tui.ui.screens.forms import CredentialForm, RepositoryForm
from glint_tui.ui.widgets.footer import GlintFooter


class Listed(Message):
    def __init__(self, repos: list[Repository], creds: list[Credential]) -> None:
        super().__init__()
        self.repos, self.creds = repos, creds


class Reported(Message):
    """A worker finished something: tell the operator, then re-list."""

    def __init__(self, text: str, error: bool = False) -> None:
        super().__init__()
        self.text, self.error = text, error


class ImportPathModal(ModalScreen["str | None"]):
    """Which clouds.yaml to import (empty: openstacksdk's search path)."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="import.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static("Import repositories from clouds.yaml", classes="dialog-title")
            yield Input(id="path", placeholder="path (empty: search like openstack does)")
            yield Label(
                "Each entry is logged in once before it is saved. Enter imports.", classes="hint"
            )

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class RepositoriesScreen(Screen[None]):
    """Rows: one per repository:project credential (or per repository without one)."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="repos.back"),
        Binding("a", "add", "Add", id="repos.add"),
        Binding("e,enter", "edit", "Edit", id="repos.edit"),
        Binding("d", "delete", "Delete", id="repos.delete"),
        Binding("t", "test", "Test", id="repos.test"),
        Binding("c", "credential", "Credential", id="repos.credential"),
        Binding("i", "import_yaml", "Import", id="repos.import"),
    ]

    def __init__(self, backend: LiveBackend) -> None:
        super().__init__(id="repositories-screen")
        self.backend = backend
        self.repos: list[Repository] = []
        self.creds: list[Credential] = []
        self.rows: list[tuple[Repository, Credential | None]] = []

    def compose(self) -> ComposeResult:
        yield Static(
            "[b]Repositories[/b] · a add · e edit · d delete · t test · "
            "c credential · i import clouds.yaml · Esc back",
            id="status",
        )
        table: DataTable[str] = DataTable(id="repo-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("repository", "project", "user", "auth URL", "description")
        yield table
        yield Static("", id="repo-result")
        yield GlintFooter()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.relist()

    @work(thread=True, exclusive=True, group="repos")
    def relist(self) -> None:
        try:
            self.post_message(
                Listed(self.backend.config.repositories(), self.backend.config.credentials())
            )
        except GlintError as e:
            self.post_message(Reported(str(e), error=True))

    def on_listed(self, message: Listed) -> None:
        self.repos, self.creds = message.repos, message.creds
        table = self.query_one(DataTable)
        table.clear()
        self.rows = []
        for repo in self.repos:
            creds = [c for c in self.creds if c.repository == repo.name] or [None]
            for cred in creds:
                self.rows.append((repo, cred))
                table.add_row(  # a str cell would be read as markup
                    plain(repo.name),
                    plain(cred.project if cred else "—"),
                    plain(cred.username if cred else "—"),
                    plain(repo.auth_url + ("  (insecure)" if repo.insecure else "")),
                    plain(repo.description),
                )

    def on_reported(self, message: Reported) -> None:
        self.query_one("#repo-result", Static).update(
            plain(message.text, "red" if message.error else "")
        )
        self.relist()

    @property
    def current(self) -> tuple[Repository, Credential | None] | None:
        table = self.query_one(DataTable)
        if not self.rows or table.cursor_row < 0 or table.cursor_row >= len(self.rows):
            return None
        return self.rows[table.cursor_row]

    # --- actions -------------------------------------------------------------------------
    def action_back(self) -> None:
        self.dismiss(None)
        self.app.reload_matrix()  # type: ignore[attr-defined]

    def action_add(self) -> None:
        def saved(repo: Repository | None) -> None:
            if repo is not None:
                self._add_worker(repo)

        self.app.push_screen(RepositoryForm(), saved)

    @work(thread=True, group="repos-write")
    def _add_worker(self, repo: Repository) -> None:
        try:
            self.backend.config.add_repository(repo)
        except GlintError as e:
            self.post_message(Reported(str(e), error=True))
            return
        self.post_message(Reported(f"repository {repo.name} added; now add a credential (c)"))
        self.app.call_from_thread(self._ask_credential, repo.name)

    def _ask_credential(self, repository: str, cred: Credential | None = None) -> None:
        self.app.push_screen(
            CredentialForm(self.backend, repository, cred), lambda _: self.relist()
        )

    def action_edit(self) -> None:
        cur = self.current
        if cur is None:
            return
        old = cur[0]

        def saved(repo: Repository | None) -> None:
            if repo is not None:
                self._edit_worker(old.name, repo)

        self.app.push_screen(RepositoryForm(old), saved)

    @work(thread=True, group="repos-write")
    def _edit_worker(self, name: str, repo: Repository) -> None:
        try:
            self.backend.config.update_repository(name, **asdict(repo))
        except GlintError as e:
            self.post_message(Reported(str(e), error=True))
            return
        self.post_message(Reported(f"repository {repo.name} saved"))

    def action_delete(self) -> None:
        cur = self.current
        if cur is None:
            return
        repo, cred = cur
        if cred is not None:
            question = (
                f"Remove the credential {cred.ref} (user {cred.username}) and its "
                "secret? Images in the cloud are not touched."
            )
        else:
            question = (
                f"Remove repository {repo.name} from glint? Images in the cloud are not touched."
            )

        def answer(yes: bool | None) -> None:
            if yes:
                self._delete_worker(repo, cred)

        self.app.push_screen(ConfirmModal(question, yes="Remove"), answer)

    @work(thread=True, group="repos-write")
    def _delete_worker(self, repo: Repository, cred: Credential | None) -> None:
        try:
            if cred is not None:
                self.backend.config.remove_credential(cred.ref)
                self.post_message(Reported(f"credential {cred.ref} removed"))
            else:
                self.backend.config.remove_repository(repo.name)
                self.post_message(Reported(f"repository {repo.name} removed"))
        except GlintError as e:
            self.post_message(Reported(str(e), error=True))

    def action_credential(self) -> None:
        cur = self.current
        if cur is not None:
            self._ask_credential(cur[0].name, cur[1])

    def action_test(self) -> None:
        cur = self.current
        if cur is not None:
            self.query_one("#repo-result", Static).update("testing…")
            self._test_worker(*cur)

    @work(thread=True, exclusive=True, group="repos-test")
    def _test_worker(self, repo: Repository, cred: Credential | None) -> None:
        from glint_tui.core.sessions import probe_keystone

        try:
            if cred is None:
                version = probe_keystone(repo)
                self.post_message(Reported(f"{repo.name}: Keystone {version} answers"))
                return
            session = self.backend.sessions.open(cred.ref)
            try:
                session.check()
                count = sum(1 for _ in session.list_images())
            finally:
                session.close()
            self.post_message(Reported(f"{cred.ref}: login works, {count} images visible"))
        except GlintError as e:
            self.post_message(Reported(f"test failed: {e}", error=True))

    def action_import_yaml(self) -> None:
        def chosen(path: str | None) -> None:
            if path is not None:
                self.query_one("#repo-result", Static).update("importing…")
                self._import_worker(path or None)

        self.app.push_screen(ImportPathModal(), chosen)

    @work(thread=True, exclusive=True, group="repos-write")
    def _import_worker(self, path: str | None) -> None:
        from glint_tui.core.clouds import open_session
        from glint_tui.core.cloudsyaml import import_entries, load_clouds

        def verify(repo: Repository, cred: Credential, secret: str) -> None:
            session = open_session(repo, cred, secret)
            try:
                session.check()
            finally:
                session.close()

        try:
            found, entries = load_clouds(Path(path).expanduser() if path else None)
            results = import_entries(entries, self.backend.config, self.backend.secrets, verify)
        except GlintError as e:
            self.post_message(Reported(str(e), error=True))
            return
        lines = [
            f"{r.cloud}: {r.status}" + (f" ({r.message})" if r.message else "") for r in results
        ]
        failed = any(r.status == "failed" for r in results)
        self.post_message(Reported(f"{found}: " + "; ".join(lines or ["no clouds"]), error=failed))
