"""Forms: a repository (add/edit) and a credential (per repository and project).

The credential's password goes straight from a masked Input to ``SecretStore.set`` in a
worker thread; it is never echoed, logged or kept in the form after saving.
"""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from glint_tui.core.config import AUTH_TYPES, validate_credential, validate_repository
from glint_tui.core.errors import GlintError
from glint_tui.core.model import INTERFACES, Credential, Repository
from glint_tui.core.safetext import escape
from glint_tui.ui.backend import LiveBackend
from glint_tui.ui.safe import plain


def _row(label: str, widget: Input | Select | Checkbox) -> Horizontal:
    return Horizontal(Label(label), widget, classes="form-row")


class RepositoryForm(ModalScreen["Repository | None"]):
    """Add (``repo=None``) or edit a repository. Dismisses with the validated record."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="repoform.cancel"),
        Binding("ctrl+s", "save", "Save", id="repoform.save"),
    ]

    def __init__(self, repo: Repository | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.repo = repo

    def compose(self) -> ComposeResult:
        r = self.repo or Repository(name="", auth_url="")
        title = f"Edit repository {r.name}" if self.repo else "Add a repository"
        with Vertical(classes="dialog form", id="repo-form"):
            yield Static(title, classes="dialog-title")
            with VerticalScroll():
                yield _row("Name", Input(r.name, id="name", placeholder="e.g. site-a"))
                yield _row(
                    "Auth URL",
                    Input(r.auth_url, id="auth_url", placeholder="https://keystone:5000/v3"),
                )
                yield _row("Description", Input(r.description, id="description"))
                yield _row("Region", Input(r.region or "", id="region", placeholder="optional"))
                yield _row(
                    "Interface",
                    Select(
                        [(i, i) for i in INTERFACES],
                        value=r.interface,
                        id="interface",
                        allow_blank=False,
                    ),
                )
                yield _row(
                    "CA bundle", Input(r.ca_bundle or "", id="ca_bundle", placeholder="optional")
                )
                yield _row(
                    "TLS", Checkbox("skip verification (insecure)", r.insecure, id="insecure")
                )
            yield Label("", id="form-error", classes="error-text")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save (ctrl+s)", id="save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def on_input_submitted(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        def text(wid: str) -> str:
            return self.query_one(f"#{wid}", Input).value.strip()

        try:
            repo = validate_repository(
                Repository(
                    name=text("name"),
                    auth_url=text("auth_url"),
                    description=text("description"),
                    region=text("region") or None,
                    interface=str(self.query_one("#interface", Select).value),
                    ca_bundle=text("ca_bundle") or None,
                    insecure=self.query_one("#insecure", Checkbox).value,
                )
            )
        except GlintError as e:
            self.query_one("#form-error", Label).update(plain(e))
            return
        self.dismiss(repo)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CredentialSaved(Message):
    def __init__(self, ok: bool, message: str) -> None:
        super().__init__()
        self.ok, self.message = ok, message


class CredentialForm(ModalScreen[bool]):
    """Username + masked password (or application credential) for REPO:PROJECT.

    Saving stores the secret in the keyring, the rest in the config, then logs in once so
    a typo is caught now, not at the next transfer. Dismisses True once saved.
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="credform.cancel"),
        Binding("ctrl+s", "save", "Save", id="credform.save"),
    ]

    def __init__(self, backend: LiveBackend, repository: str, cred: Credential | None = None):
        super().__init__(classes="dialog-screen")
        self.backend = backend
        self.repository = repository
        self.cred = cred

    def compose(self) -> ComposeResult:
        c = self.cred or Credential(self.repository, "", "")
        with Vertical(classes="dialog form", id="cred-form"):
            yield Static(f"Credential for repository {self.repository}", classes="dialog-title")
            with VerticalScroll():
                yield _row("Project", Input(c.project, id="project", placeholder="project name"))
                yield _row(
                    "Auth type",
                    Select(
                        [(a, a) for a in AUTH_TYPES],
                        value=c.auth_type,
                        id="auth_type",
                        allow_blank=False,
                    ),
                )
                yield _row(
                    "Username", Input(c.username, id="username", placeholder="or app cred id")
                )
                yield _row(
                    "Password", Input(password=True, id="secret", placeholder="stored in keyring")
                )
                yield _row("User domain", Input(c.user_domain, id="user_domain"))
                yield _row("Project domain", Input(c.project_domain, id="project_domain"))
            yield Label("", id="form-error", classes="error-text")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save and test (ctrl+s)", id="save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#project" if not self.cred else "#secret", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def on_input_submitted(self) -> None:
        self.action_save()

    def action_save(self) -> None:
        def text(wid: str) -> str:
            return self.query_one(f"#{wid}", Input).value.strip()

        secret_input = self.query_one("#secret", Input)
        secret = secret_input.value
        try:
            cred = validate_credential(
                Credential(
                    repository=self.repository,
                    project=text("project"),
                    username=text("username"),
                    auth_type=str(self.query_one("#auth_type", Select).value),
                    user_domain=text("user_domain") or "Default",
                    project_domain=text("project_domain") or "Default",
                )
            )
        except GlintError as e:
            self.query_one("#form-error", Label).update(plain(e))
            return
        if not secret:
            self.query_one("#form-error", Label).update("The password / secret is empty.")
            return
        self.query_one("#form-error", Label).update("Saving and logging in…")
        self.query_one("#save", Button).disabled = True
        self._save_worker(cred, secret)

    @work(thread=True, exclusive=True, group="credential")
    def _save_worker(self, cred: Credential, secret: str) -> None:
        backend = self.backend
        try:
            backend.secrets.set(cred.secret_key, secret)
            backend.config.add_credential(cred, replace_existing=True)
        except GlintError as e:
            self.post_message(CredentialSaved(False, f"not saved: {e}"))
            return
        try:
            session = backend.sessions.open(cred.ref)
            try:
                session.check()
            finally:
                session.close()
        except GlintError as e:
            self.post_message(CredentialSaved(False, f"saved, but the login failed: {e}"))
            return
        self.post_message(CredentialSaved(True, f"{cred.ref}: saved, login works"))

    def on_credential_saved(self, message: CredentialSaved) -> None:
        self.query_one("#secret", Input).value = ""
        self.query_one("#save", Button).disabled = False
        if message.ok:
            self.app.notify(escape(message.message), markup=False)
            self.dismiss(True)
        else:
            self.query_one("#form-error", Label).update(plain(message.message))

    def action_cancel(self) -> None:
        self.dismiss(False)
