"""First run: the welcome screen, adding a repository and a credential in the UI, and
the master-password modal of the encrypted keyring file (no secret ever on screen)."""

from __future__ import annotations

import pytest

from glint_tui.core.config import ConfigStore
from glint_tui.core.model import Credential, ProjectRef, Repository
from glint_tui.core.paths import Paths
from glint_tui.core.secrets import SecretStore, forget_unlocked_keys
from glint_tui.core.services import Services
from glint_tui.ui.app import GlintApp
from glint_tui.ui.screens.forms import CredentialForm, RepositoryForm
from glint_tui.ui.screens.master_password import MasterPasswordModal
from glint_tui.ui.screens.repositories import RepositoriesScreen
from glint_tui.ui.screens.welcome import WelcomeScreen
from tests.helpers import wait_until
from tests.ui_helpers import run_app, screen_text, type_text

pytestmark = pytest.mark.sandbox

SECRET = "alice-pass"
MASTER = "m4ster-Pw-for-test"


def _fresh_paths(tmp_path) -> Paths:
    root = tmp_path / "first-run"
    return Paths("ui-first", root / "config", root / "data", root / "cache", root / "state")


def _ready(app, cls, focus_id=None):
    screen = app.screen
    if not isinstance(screen, cls):
        return False
    return focus_id is None or getattr(app.focused, "id", None) == focus_id


async def _answer_master(pilot, expect_prompt: str) -> None:
    app = pilot.app
    await wait_until(
        pilot, lambda: _ready(app, MasterPasswordModal, "master-password"), 30, expect_prompt
    )
    assert expect_prompt in app.screen.prompt
    await type_text(pilot, MASTER)
    assert MASTER not in screen_text(app)
    await pilot.press("enter")


def test_first_run_add_repository_and_credential(sandbox, tmp_path, monkeypatch):
    for var in ("GLINT_KEYRING_PASSWORD", "GLINT_KEYRING_PASSWORD_FILE", "PYTHON_KEYRING_BACKEND"):
        monkeypatch.delenv(var, raising=False)
    paths = _fresh_paths(tmp_path)
    c1 = sandbox.cloud("c1")

    async def first():
        app = GlintApp(paths=paths, refresh_interval=None)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(pilot, lambda: isinstance(app.screen, WelcomeScreen), 30, "welcome")
            await wait_until(pilot, lambda: "No repository" in screen_text(app), 5, "welcome text")
            assert "glint --sandbox" in screen_text(app)
            await pilot.press("a")
            await wait_until(pilot, lambda: _ready(app, RepositoryForm, "name"), 10, "repo form")
            await type_text(pilot, "site1")
            await pilot.press("tab")
            await type_text(pilot, c1.keystone_url + "/v3")
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: _ready(app, CredentialForm, "project"), 20, "cred form")
            await type_text(pilot, "alpha")
            await pilot.press("tab", "tab")  # past the auth type
            await type_text(pilot, "alice")
            await pilot.press("tab")
            await type_text(pilot, SECRET)
            assert SECRET not in screen_text(app)  # masked
            await pilot.press("ctrl+s")
            await _answer_master(pilot, "New master password")
            await _answer_master(pilot, "Repeat")
            await wait_until(pilot, lambda: isinstance(app.screen, RepositoriesScreen), 60, "saved")
            table = app.screen.query_one("#repo-table")
            # the table first lists the repository alone, then its saved credential
            await wait_until(
                pilot,
                lambda: (
                    table.row_count == 1
                    and [str(c) for c in table.get_row_at(0)[:3]] == ["site1", "alpha", "alice"]
                ),
                10,
                "the credential listed under its repository",
            )
            assert SECRET not in screen_text(app)
            await pilot.press("escape")
            main = app.main
            await wait_until(
                pilot,
                lambda: app.screen is main and not main.refreshing and main.model.columns,
                60,
                "the matrix with the new repository",
            )
            assert main.model.columns == [ProjectRef("site1", "alpha")]
            assert main.model.matrix.status[ProjectRef("site1", "alpha")].ok
            assert main.model.rows  # the seeded images of c1:alpha

    run_app(first)
    for f in paths.config_dir.rglob("*"):
        if f.is_file():
            assert SECRET not in f.read_text(errors="replace"), f
    assert SECRET.encode() not in (paths.data_dir / "keyring.enc").read_bytes()

    # a new run asks the master password once, then lists the column
    forget_unlocked_keys()

    async def second():
        app = GlintApp(paths=paths, refresh_interval=None)
        async with app.run_test(size=(100, 30)) as pilot:
            await _answer_master(pilot, "Master password")
            main = app.main
            await wait_until(
                pilot, lambda: not main.refreshing and main.model.rows, 60, "matrix after unlock"
            )
            assert not isinstance(app.screen, MasterPasswordModal)

    run_app(second)


def test_mistyped_password_in_the_ui_leaves_the_working_secret_untouched(
    sandbox, tmp_path, monkeypatch
):
    """Replacing a working credential with a typo: the login is tried first, fails, and
    nothing is written (the form says so and stays open); only "save without checking"
    writes an unchecked secret."""
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.delenv("GLINT_KEYRING_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("GLINT_KEYRING_PASSWORD", MASTER)
    forget_unlocked_keys()
    paths = _fresh_paths(tmp_path)
    setup = Services(paths)
    setup.add_repository(Repository("site1", sandbox.cloud("c1").keystone_url + "/v3"))
    alice = Credential("site1", "alpha", "alice")
    setup.save_credential(alice, SECRET)
    typo = "alice-pasz"

    async def body():
        app = GlintApp(paths=paths, refresh_interval=None)
        async with app.run_test(size=(110, 32)) as pilot:
            main = app.main
            await wait_until(pilot, lambda: main.model.columns, 60, "the matrix")
            await pilot.press("e")
            await wait_until(pilot, lambda: _ready(app, RepositoriesScreen), 10, "repositories")
            table = app.screen.query_one("#repo-table")
            await wait_until(pilot, lambda: table.row_count == 1, 10, "the credential row")
            result = app.screen.query_one("#repo-result")
            await pilot.press("t")  # the working credential: the test logs in and lists
            await wait_until(
                pilot, lambda: "login works" in str(result.render()), 60, "the connection test"
            )
            assert "site1:alpha: login works" in str(result.render())
            await pilot.press("c")
            await wait_until(pilot, lambda: _ready(app, CredentialForm, "secret"), 10, "form")
            form = app.screen
            await type_text(pilot, typo)
            await pilot.press("ctrl+s")
            error = form.query_one("#form-error")
            await wait_until(
                pilot, lambda: "not saved" in str(error.render()), 60, "the refused login"
            )
            text = str(error.render())
            assert "wrong user name or password" in text and "unchanged" in text
            assert app.screen is form and form.query_one("#secret").value == ""
            assert SecretStore(paths).get(alice.secret_key) == SECRET
            # the operator's explicit choice: save without checking
            await pilot.click("#no-verify")
            form.query_one("#secret").focus()
            await type_text(pilot, typo)
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: _ready(app, RepositoriesScreen), 30, "saved")

    run_app(body)
    assert ConfigStore(paths).credentials() == [alice]
    assert SecretStore(paths).get(alice.secret_key) == typo
