"""The repositories screen: list, add, edit, delete (confirmed), test, import clouds.yaml,
and each repository's credentials. Every call to the backend runs in a thread worker.
"""

from __future__ import annotations

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
from glint_tui.ui.glyphs import dot
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
        self.follow: str | None = None  # a repository to put the cursor on (added, renamed)

    def compose(self) -> ComposeResult:
        yield Static(
            "[b]Repositories[/b]"
            + dot()
            + dot().join(
                ("a add", "e edit", "d delete", "t test", "c credential", "i import clouds.yaml")
            )
            + dot()
            + "Esc back",
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
            self.post_message(Listed(*self.backend.listing()))
        except GlintError as e:
            self.post_message(Reported(str(e), error=True))

    def on_listed(self, message: Listed) -> None:
        """Re-list, keeping the cursor on the same row (the nearest one when it is gone):
        a second ``d`` must never land on another row than the operator looked at."""
        self.repos, self.creds = message.repos, message.creds
        table = self.query_one(DataTable)
        was, index = self._identity(self.current), table.cursor_row
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
        table.move_cursor(row=self._row_like(was, index), animate=False)
        self.follow = None

    @staticmethod
    def _identity(row: tuple[Repository, Credential | None] | None) -> tuple[str, str] | None:
        if row is None:
            return None
        repo, cred = row
        return repo.name, cred.project if cred else ""

    def _row_like(self, was: tuple[str, str] | None, index: int) -> int:
        """The row to show: the same row, else the repository just added or renamed,
        else the row now at the old position — the nearest (or the last)."""
        ids = [self._identity(r) for r in self.rows]
        if was in ids and (self.follow is None or self.follow == was[0]):  # type: ignore[index]
            return ids.index(was)
        names = [i[0] for i in ids if i]
        if self.follow in names:
            return names.index(self.follow)  # type: ignore[arg-type]
        return max(0, min(index, len(self.rows) - 1))

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
        def saved(result: tuple[Repository, str] | None) -> None:
            if result is not None:
                repo, message = result
                self.follow = repo.name
                self.post_message(Reported(message))
                self._ask_credential(repo.name)

        self.app.push_screen(RepositoryForm(self.backend), saved)

    def _ask_credential(self, repository: str, cred: Credential | None = None) -> None:
        self.app.push_screen(
            CredentialForm(self.backend, repository, cred), lambda _: self.relist()
        )

    def action_edit(self) -> None:
        cur = self.current
        if cur is None:
            return

        def saved(result: tuple[Repository, str] | None) -> None:
            if result is not None:
                self.follow = result[0].name  # a rename keeps the cursor on it
                self.post_message(Reported(result[1]))

        self.app.push_screen(RepositoryForm(self.backend, cur[0]), saved)

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
            self.post_message(Reported(self.backend.remove(repo, cred)))
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
        try:
            self.post_message(Reported(self.backend.test_connection(repo, cred)))
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
        try:
            text, failed = self.backend.import_clouds(path)
        except GlintError as e:
            self.post_message(Reported(str(e), error=True))
            return
        self.post_message(Reported(text, error=failed))
