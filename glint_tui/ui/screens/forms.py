"""Forms: a repository (add/edit) and a credential (per repository and project).

Each form saves through the backend in a worker thread and stays open with the error if
that fails, under the same rules as the CLI: a repository is saved once its Keystone
answers, a credential once a login with it worked, unless the operator ticks "save
without checking". The password goes from a masked Input to the backend; it is never
echoed, logged or kept in the form after saving.
"""

from __future__ import annotations

from typing import TypeVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from glint_tui.core.errors import GlintError
from glint_tui.core.model import Credential, Repository
from glint_tui.core.safetext import escape
from glint_tui.ui.backend import (
    AUTH_TYPES,
    INTERFACES,
    LiveBackend,
    validate_credential,
    validate_repository,
)
from glint_tui.ui.safe import plain
from glint_tui.ui.widgets.ticks import TickBox

NO_VERIFY = "no-verify"  # id of the "save without checking" checkbox of both forms
ResultType = TypeVar("ResultType")


def _row(label: str, widget: Input | Select | Checkbox) -> Horizontal:
    return Horizontal(Label(label), widget, classes="form-row")


class Saved(Message):
    """A form's worker is done: *ok*, or why not; what was saved (None if nothing)."""

    def __init__(self, ok: bool, message: str, saved: object = None) -> None:
        super().__init__()
        self.ok, self.message, self.saved = ok, message, saved


class _Form(ModalScreen[ResultType]):
    """What both forms share: Save/Cancel buttons, Enter saves, a line for errors and
    progress, the "save without checking" box, and a Save that waits for its worker."""

    def _footer(self, save_label: str) -> ComposeResult:
        yield Label("", id="form-error", classes="error-text")
        with Horizontal(classes="buttons"):
            yield Button("Cancel", id="cancel")
            yield Button(f"{save_label} (ctrl+s)", id="save", variant="primary")

    def text(self, wid: str) -> str:
        return self.query_one(f"#{wid}", Input).value.strip()

    def say(self, text: object) -> None:
        """One line on the form; it may quote a cloud or a typed value, so never markup."""
        self.query_one("#form-error", Label).update(plain(text))

    def start_saving(self, checking: str) -> bool:
        """Disable Save until the worker answers and say what it does (*checking* first,
        unless "save without checking" is ticked). True: check before saving."""
        verify = not self.query_one(f"#{NO_VERIFY}", Checkbox).value
        self.say(checking if verify else "Saving without checking…")
        self.query_one("#save", Button).disabled = True
        return verify

    def saved(self, message: Saved) -> bool:
        """The worker's answer: Save works again; an error stays on the form."""
        self.query_one("#save", Button).disabled = False
        if not message.ok:
            self.say(message.message)
        return message.ok

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def on_input_submitted(self) -> None:
        self.action_save()


class RepositoryForm(_Form["tuple[Repository, str] | None"]):
    """Add (``repo=None``) or edit a repository. Dismisses with (what was saved, a line
    for the operator) once saved, or None when cancelled."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="repoform.cancel"),
        Binding("ctrl+s", "save", "Save", id="repoform.save"),
    ]

    def __init__(self, backend: LiveBackend, repo: Repository | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.backend = backend
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
                    "TLS", TickBox("skip verification (insecure)", r.insecure, id="insecure")
                )
                yield _row(
                    "Check", TickBox("save without checking that Keystone answers", id=NO_VERIFY)
                )
            yield from self._footer("Save")

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    def action_save(self) -> None:
        text = self.text
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
            self.say(str(e))
            return
        self._save_worker(repo, self.start_saving("Checking that Keystone answers…"))

    @work(thread=True, exclusive=True, group="repository")
    def _save_worker(self, repo: Repository, verify: bool) -> None:
        try:
            if self.repo is None:
                message = self.backend.add_repository(repo, verify=verify)
            else:
                message = self.backend.edit_repository(self.repo.name, repo, verify=verify)
        except GlintError as e:
            self.post_message(Saved(False, f"not saved: {e}"))
            return
        self.post_message(Saved(True, message, repo))

    def on_saved(self, message: Saved) -> None:
        if self.saved(message):
            self.dismiss((message.saved, message.message))

    def action_cancel(self) -> None:
        self.dismiss(None)


class CredentialForm(_Form[bool]):
    """Username + masked password (or application credential) for REPO:PROJECT.

    Saving logs in once first, so a typo is caught now and never replaces a working
    secret; only then are the secret (keyring) and the record (config) written. Ticking
    "save without checking" skips the login. Dismisses True once saved.
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
                yield _row("Check", TickBox("save without checking the login first", id=NO_VERIFY))
            yield from self._footer("Save and test")

    def on_mount(self) -> None:
        self.query_one("#project" if not self.cred else "#secret", Input).focus()

    def action_save(self) -> None:
        text = self.text
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
            self.say(str(e))
            return
        if not secret:
            self.say("The password / secret is empty.")
            return
        self._save_worker(cred, secret, self.start_saving("Logging in…"))

    @work(thread=True, exclusive=True, group="credential")
    def _save_worker(self, cred: Credential, secret: str, verify: bool) -> None:
        try:
            saved = self.backend.save_credential(cred, secret, verify=verify)
        except GlintError as e:
            kept = "; the credential saved before is unchanged" if self.cred else ""
            self.post_message(Saved(False, f"not saved: {e}{kept}"))
            return
        verb = "replaced" if saved.replaced else "saved"
        how = "login works" if saved.verified else "login not checked"
        self.post_message(Saved(True, f"{cred.ref}: {verb}, {how}"))

    def on_saved(self, message: Saved) -> None:
        self.query_one("#secret", Input).value = ""
        if self.saved(message):
            self.app.notify(escape(message.message), markup=False)
            self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
