"""A wrong master password for glint's encrypted keyring: exit 2 from every command, asked
again (saying so) when it was typed, and never hit by ``glint --sandbox``. No cloud is
needed: the repository points at a port where nothing listens, and every case is decided
before glint would connect.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from glint_tui.core.config import ConfigStore
from glint_tui.core.errors import SecretsError
from glint_tui.core.model import Credential, ProjectRef, Repository
from glint_tui.core.paths import SANDBOX_PROFILE, Paths, paths_for
from glint_tui.core.secrets import SecretStore, forget_unlocked_keys
from glint_tui.ui.app import GlintApp
from glint_tui.ui.screens.master_password import MasterPasswordModal
from tests.ui_helpers import run_app, type_text, wait_until

URL = "http://127.0.0.1:9/v3"
ENV = ("GLINT_KEYRING_PASSWORD", "GLINT_KEYRING_PASSWORD_FILE", "PYTHON_KEYRING_BACKEND")


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GLINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GLINT_PROFILE", raising=False)
    for var in ENV:
        monkeypatch.delenv(var, raising=False)
    forget_unlocked_keys()
    yield tmp_path / "home"
    forget_unlocked_keys()


def configure(paths: Paths, secrets: SecretStore) -> None:
    """One repository and one credential whose secret is in the encrypted keyring."""
    store = ConfigStore(paths, secrets=secrets)
    store.add_repository(Repository("c1", URL))
    cred = Credential("c1", "alpha", "alice")
    secrets.set(cred.secret_key, "alice-pass")
    store.add_credential(cred)


def glint(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "glint_tui", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_wrong_master_password_exits_2(home: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("GLINT_KEYRING_PASSWORD", "the-right-one")
    configure(paths_for(), SecretStore(paths_for()))
    desired = tmp_path / "desired.json"
    desired.write_text(json.dumps({"some-image": ["c1:alpha"]}))
    env = dict(os.environ, GLINT_KEYRING_PASSWORD="a-wrong-one")
    commands = [
        ("images",),
        ("images", "--json"),
        ("copy", "some-image", "--to", "c1:alpha"),
        ("delete", "some-image", "--from", "c1:alpha", "--yes"),
        ("plan", str(desired)),
        ("apply", str(desired), "--yes"),
        ("reconcile",),
    ]
    for args in commands:
        r = glint(*args, env=env)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
        assert r.stderr.startswith("glint: wrong keyring master password for "), (args, r.stderr)
        assert len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr, r.stderr
    r = glint("credentials", "add", "c1:beta", "--username", "bob", "--password-stdin",
              "--no-verify", env=env, stdin="bob-pass\n")  # fmt: skip
    assert r.returncode == 2 and "wrong keyring master password" in r.stderr, r.stderr
    # the right one still opens it: nothing was damaged
    r = glint("images", env=dict(env, GLINT_KEYRING_PASSWORD="the-right-one"))
    assert r.returncode == 1 and "cannot connect" in r.stdout, r.stderr  # reached the cloud


def test_mistyped_master_password_is_asked_again_then_refused(home: Path) -> None:
    answers = ["first-pw", "first-pw"]
    asked: list[str] = []

    def prompt(text: str) -> str | None:
        asked.append(text)
        return answers.pop(0) if answers else None

    paths = paths_for()
    SecretStore(paths, prompt=prompt).set("k", "secret")  # new file: asked twice
    forget_unlocked_keys()
    asked.clear()
    answers[:] = ["typo", "first-pw"]
    assert SecretStore(paths, prompt=prompt).get("k") == "secret"
    assert asked[0].startswith("Master password for glint's keyring file")
    assert asked[1].startswith("Wrong master password, try again. Master password for")
    forget_unlocked_keys()
    answers[:] = ["typo1", "typo2", "typo3", "first-pw"]
    with pytest.raises(SecretsError, match=r"^wrong keyring master password for .* \(3 tries\)"):
        SecretStore(paths, prompt=prompt).get("k")
    assert answers == ["first-pw"]  # three tries, then it stops asking


def test_sandbox_profile_never_uses_the_operators_master_password(home, monkeypatch) -> None:
    paths = paths_for(SANDBOX_PROFILE)
    password_file = paths.config_dir / "keyring-password"
    password_file.parent.mkdir(parents=True)
    password_file.write_text("the-sandbox's-own\n")
    password_file.chmod(0o600)
    SecretStore(paths).set("c1:alpha:alice", "alice-pass")
    forget_unlocked_keys()
    # the operator's own settings, meant for their real keyring, are in the environment
    monkeypatch.setenv("GLINT_KEYRING_PASSWORD", "the-operator's")
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    assert SecretStore(paths).get("c1:alpha:alice") == "alice-pass"
    configure(paths, SecretStore(paths))
    r = glint("--sandbox", "credentials", "list", env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    assert f"glint encrypted keyring file {paths.data_dir / 'keyring.enc'}" in r.stdout


def test_wrong_master_password_is_said_in_the_ui_dialog(home: Path) -> None:
    answers = ["ui-master", "ui-master"]
    paths = paths_for()
    configure(paths, SecretStore(paths, prompt=lambda text: answers.pop(0)))
    forget_unlocked_keys()
    column = ProjectRef("c1", "alpha")

    async def answer(pilot, expect: str, password: str) -> None:
        app = pilot.app
        await wait_until(
            pilot,
            lambda: isinstance(app.screen, MasterPasswordModal) and expect in app.screen.prompt,
            30,
            f"the dialog asking {expect!r}",
        )
        await type_text(pilot, password)
        await pilot.press("enter")

    async def typo_then_right():
        app = GlintApp(paths=paths, refresh_interval=None)
        async with app.run_test(size=(120, 30)) as pilot:
            await answer(pilot, "Master password for", "typo")
            await answer(pilot, "Wrong master password, try again", "ui-master")
            main = app.main
            await wait_until(pilot, lambda: main.model.columns == [column], 30, "the column")
            error = main.model.matrix.status[column].error or ""
            assert "cannot connect" in error and "keyring" not in error  # unlocked, then listed

    async def three_typos():
        app = GlintApp(paths=paths, refresh_interval=None)
        async with app.run_test(size=(120, 30)) as pilot:
            await answer(pilot, "Master password for", "typo1")
            for typo in ("typo2", "typo3"):
                await answer(pilot, "Wrong master password, try again", typo)

            def told():
                return [n for n in app._notifications if n.title == "Refresh failed"]

            [note] = await wait_until(pilot, told, 30, "the refresh failure notice")
            assert note.message.startswith("wrong keyring master password for ")
            assert not isinstance(app.screen, MasterPasswordModal)  # asked 3 times, no more
            assert app.main.model.columns == []

    run_app(typo_then_right)
    forget_unlocked_keys()
    run_app(three_typos)
