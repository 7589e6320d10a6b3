"""`glint repository …` / `glint credentials …` (and the original Glint spellings) against
the real sandbox clouds: logins are really tried, errors say what is wrong, secrets never
reach argv, output or glint's config files."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from glint_tui.cli import main
from glint_tui.core.config import ConfigStore
from glint_tui.core.errors import ConfigError
from glint_tui.core.paths import Paths, paths_for
from glint_tui.core.secrets import SecretStore, forget_unlocked_keys
from glint_tui.core.sessions import SessionProvider
from tests.helpers import unique

pytestmark = pytest.mark.sandbox


class Home:
    """An operator profile of its own, pointing at the shared sandbox clouds."""

    def __init__(self, root: Path, bed):
        self.root = root
        self.bed = bed

    @property
    def paths(self) -> Paths:
        return paths_for()

    def url(self, cloud: str = "c1") -> str:
        return f"{self.bed.cloud(cloud).keystone_url}/v3"

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def files_text(self) -> str:
        """Everything glint wrote in this profile, as text (to look for leaked secrets)."""
        return "".join(p.read_text(errors="replace") for p in self.root.rglob("*") if p.is_file())


@pytest.fixture
def home(sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Home]:
    monkeypatch.setenv("GLINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GLINT_PROFILE", raising=False)  # the operator's profile, not sandbox
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.delenv("GLINT_KEYRING_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("GLINT_KEYRING_PASSWORD", "cli-test-master")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    forget_unlocked_keys()
    yield Home(tmp_path / "home", sandbox)
    forget_unlocked_keys()


def glint(capsys, monkeypatch, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    """Run the CLI in-process (stdin is never a terminal here)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def glint_process(home: Home, *argv: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "glint_tui", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        env=home.env(),
        timeout=120,
    )


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_repo(capsys, monkeypatch, home: Home, name: str = "c1", *extra: str) -> None:
    code, _, err = glint(capsys, monkeypatch, "repository", "add", name, home.url(), *extra)
    assert code == 0, err


def add_credential(
    capsys, monkeypatch, ref: str, user: str, password: str, *extra: str
) -> tuple[int, str, str]:
    """`glint credentials add REF --username USER --password-stdin [EXTRA]`, fed *password*."""
    return glint(
        capsys, monkeypatch, "credentials", "add", ref, "--username", user, "--password-stdin",
        *extra, stdin=password + "\n",
    )  # fmt: skip


# -- repositories ---------------------------------------------------------------------------


def test_repository_add_checks_keystone_and_lists(home: Home, capsys, monkeypatch) -> None:
    code, out, _ = glint(
        capsys, monkeypatch, "repository", "add", "c1", home.url(), "--description", "first"
    )
    assert code == 0 and "Keystone v3" in out
    code, out, _ = glint(capsys, monkeypatch, "repository", "list", "--json")
    listed = json.loads(out)
    assert [(r["name"], r["auth_url"], r["description"]) for r in listed] == [
        ("c1", home.url(), "first")
    ]
    code, out, _ = glint(capsys, monkeypatch, "repository", "list")
    assert code == 0 and "c1" in out and home.url() in out


def test_repository_add_unreachable_or_not_keystone_saves_nothing(
    home: Home, capsys, monkeypatch
) -> None:
    url = f"http://127.0.0.1:{dead_port()}/v3"
    code, _, err = glint(capsys, monkeypatch, "repository", "add", "gone", url)
    assert code == 1 and "cannot reach" in err and err.count("\n") == 1
    glance = home.bed.cloud("c1").glance_url
    code, _, err = glint(capsys, monkeypatch, "repository", "add", "glance", glance)
    assert code == 1 and "not a Keystone v3 endpoint" in err
    assert ConfigStore(home.paths).repositories() == []
    code, _, err = glint(capsys, monkeypatch, "repository", "add", "gone", url, "--no-verify")
    assert code == 0
    code, _, err = glint(capsys, monkeypatch, "repository", "add", "bad:name", url)
    assert code == 2 and "name: must be letters" in err


def test_broken_repositories_file_is_one_line_exit_2(home: Home, capsys, monkeypatch) -> None:
    add_repo(capsys, monkeypatch, home)
    f = home.paths.repositories_file
    f.write_text(f.read_text().replace('"interface": "public"', '"interface": "outer"'))
    code, out, err = glint(capsys, monkeypatch, "repository", "list")
    assert code == 2 and out == ""
    assert (
        err == f"glint: {f}: repositories[0].interface: must be one of public, internal, "
        "admin (got 'outer')\n"
    )


# -- credentials: the login is tried before saving ------------------------------------------


def test_password_stdin_subprocess_saves_and_never_leaks(home: Home, capsys, monkeypatch) -> None:
    add_repo(capsys, monkeypatch, home)
    run = glint_process(
        home,
        "credentials",
        "add",
        "c1:alpha",
        "--username",
        "alice",
        "--password-stdin",
        stdin="alice-pass\n",
    )
    assert run.returncode == 0, run.stderr
    assert "credential for c1:alpha added (login checked)" in run.stdout
    assert "alice-pass" not in run.stdout + run.stderr
    assert "alice-pass" not in home.files_text()  # encrypted keyring + config files
    listing = glint_process(home, "credentials", "list")
    assert "c1:alpha" in listing.stdout and "alice-pass" not in listing.stdout
    assert "encrypted keyring file" in listing.stdout
    # what the rest of glint does with it: a real session from config + keyring
    with SessionProvider(home.paths).open("c1:alpha") as session:
        session.check()


def test_there_is_no_password_option(home: Home, capsys, monkeypatch) -> None:
    add_repo(capsys, monkeypatch, home)
    with pytest.raises(SystemExit) as e:
        glint(
            capsys,
            monkeypatch,
            "credentials",
            "add",
            "c1:alpha",
            "--username",
            "alice",
            "--password",
            "alice-pass",
        )
    assert e.value.code == 2
    code, _, err = glint(
        capsys, monkeypatch, "credentials", "add", "c1:alpha", "--username", "alice"
    )
    assert code == 2 and "--password-stdin" in err  # no terminal to prompt on


@pytest.mark.parametrize(
    "ref, user, password, words",
    [
        ("c1:alpha", "alice", "not-her-password", "wrong user name or password"),
        ("c1:nosuchproject", "alice", "alice-pass", "project nosuchproject"),
        ("c1:beta", "alice", "alice-pass", "has no role on it"),
    ],
)
def test_login_failures_are_named_and_nothing_saved(
    home: Home, capsys, monkeypatch, ref: str, user: str, password: str, words: str
) -> None:
    add_repo(capsys, monkeypatch, home)
    code, out, err = add_credential(capsys, monkeypatch, ref, user, password)
    assert code == 1 and words in err and "not saved" in err and password not in out + err
    assert ConfigStore(home.paths).credentials() == []


def test_a_failed_replacement_keeps_the_working_secret_and_record(
    home: Home, capsys, monkeypatch
) -> None:
    """The credential rule: a secret is written only after a login with it worked, so a
    typo in a replacement never overwrites the one that works; --no-verify is the
    operator's explicit "save without checking"."""
    add_repo(capsys, monkeypatch, home)

    def add(user: str, password: str, *extra: str) -> tuple[int, str, str]:
        return add_credential(capsys, monkeypatch, "c1:alpha", user, password, *extra)

    assert add("alice", "alice-pass")[0] == 0
    code, out, err = add("alice", "alice-typo")  # same user: the same keyring key
    assert code == 1 and "wrong user name or password" in err and "not saved" in err
    code, out, err = add("bob", "bob-pass")  # another user, no role on alpha
    assert code == 1 and "not saved" in err
    secrets = SecretStore(home.paths)
    assert secrets.get("c1:alpha:alice") == "alice-pass"
    assert secrets.get("c1:alpha:bob") is None
    [cred] = ConfigStore(home.paths).credentials()
    assert (cred.username, cred.auth_type) == ("alice", "password")
    with SessionProvider(home.paths).open("c1:alpha") as session:
        session.check()  # still logs in
    code, out, err = add("alice", "alice-typo", "--no-verify")
    assert code == 0 and "credential for c1:alpha replaced" in out and "checked" not in out
    assert SecretStore(home.paths).get("c1:alpha:alice") == "alice-typo"


def test_unreachable_and_no_image_endpoint(home: Home, capsys, monkeypatch) -> None:
    url = f"http://127.0.0.1:{dead_port()}/v3"
    glint(capsys, monkeypatch, "repository", "add", "down", url, "--no-verify")
    code, _, err = add_credential(capsys, monkeypatch, "down:alpha", "alice", "alice-pass")
    assert code == 1 and "cannot connect" in err and "not saved" in err
    add_repo(capsys, monkeypatch, home, "noregion", "--region", "Atlantis")
    code, _, err = add_credential(capsys, monkeypatch, "noregion:alpha", "alice", "alice-pass")
    assert code == 1 and "catalog has no" in err and "Atlantis" in err
    assert ConfigStore(home.paths).credentials() == []
    code, out, _ = add_credential(
        capsys, monkeypatch, "noregion:alpha", "alice", "alice-pass", "--no-verify"
    )
    assert code == 0 and "added" in out


def test_missing_credential_or_secret_names_the_fix(home: Home, capsys, monkeypatch) -> None:
    add_repo(capsys, monkeypatch, home)
    provider = SessionProvider(home.paths)
    with pytest.raises(ConfigError, match=r"no credential for c1:alpha .*glint credentials add"):
        provider.open("c1:alpha")
    add_credential(capsys, monkeypatch, "c1:alpha", "alice", "alice-pass")
    SecretStore(home.paths).delete("c1:alpha:alice")
    with pytest.raises(ConfigError, match=r"c1:alpha: no secret in the keyring.*--username alice"):
        provider.open("c1:alpha")
    assert provider.refs()[0].project == "alpha"


# -- edit, delete, and the original Glint syntax ---------------------------------------------


def test_original_glint_syntax(home: Home, capsys, monkeypatch) -> None:
    code, _, err = glint(
        capsys,
        monkeypatch,
        "repository-add",
        "--name",
        "old1",
        "--url",
        home.url("c2"),
        "--format",
        "openstack",
        "--description",
        "legacy",
    )
    assert code == 0, err
    code, _, err = glint(
        capsys,
        monkeypatch,
        "credentials-add",
        "--name",
        "old1",
        "--tenant",
        "beta",
        "--username",
        "bob",
        "--password-stdin",
        stdin="bob-pass\n",
    )
    assert code == 0, err
    code, out, _ = glint(capsys, monkeypatch, "repository-list", "--json")
    assert json.loads(out)[0] | {"credentials": 1} == json.loads(out)[0]
    assert json.loads(out)[0]["description"] == "legacy"
    code, out, _ = glint(capsys, monkeypatch, "credentials-list", "--name", "old1", "--json")
    assert [c["ref"] for c in json.loads(out)] == ["old1:beta"]
    code, _, err = glint(
        capsys,
        monkeypatch,
        "repository-edit",
        "--name",
        "old1",
        "--new-name",
        "renamed",
        "--description",
        "moved",
    )
    assert code == 0, err
    # the rename carried the credential AND its secret: a real login still works
    with SessionProvider(home.paths).open("renamed:beta") as session:
        session.check()
    code, _, _ = glint(
        capsys, monkeypatch, "credentials-delete", "--name", "renamed", "--tenant", "beta", "--yes"
    )
    assert code == 0 and ConfigStore(home.paths).credentials() == []
    code, _, _ = glint(capsys, monkeypatch, "repository-delete", "--name", "renamed", "--yes")
    assert code == 0 and ConfigStore(home.paths).repositories() == []


def test_delete_needs_confirmation(home: Home, capsys, monkeypatch) -> None:
    add_repo(capsys, monkeypatch, home)
    add_credential(capsys, monkeypatch, "c1:alpha", "alice", "alice-pass")
    code, _, err = glint(capsys, monkeypatch, "repository", "delete", "c1")
    assert code == 2 and "--yes" in err
    assert len(ConfigStore(home.paths).credentials()) == 1
    code, out, _ = glint(capsys, monkeypatch, "repository", "delete", "c1", "--yes")
    assert code == 0 and "1 credential" in out
    assert SecretStore(home.paths).get("c1:alpha:alice") is None


def test_edit_url_to_dead_endpoint_is_refused(home: Home, capsys, monkeypatch) -> None:
    add_repo(capsys, monkeypatch, home)
    url = f"http://127.0.0.1:{dead_port()}/v3"
    code, _, err = glint(capsys, monkeypatch, "repository", "edit", "c1", "--url", url)
    assert code == 1 and "cannot reach" in err
    assert ConfigStore(home.paths).get_repository("c1").auth_url == home.url()
    code, _, err = glint(
        capsys, monkeypatch, "repository", "edit", "c1", "--insecure", "--no-verify"
    )
    assert code == 0 and "verification is OFF" in err


# -- clouds.yaml import -------------------------------------------------------------------------


def _keystone(url: str, method: str, path: str, body: dict | None, token: str | None = None):
    req = urllib.request.Request(
        url + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json", **({"X-Auth-Token": token} if token else {})},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        text = resp.read()
        return resp.headers, (json.loads(text) if text else None)


@pytest.fixture
def app_credential(sandbox) -> Iterator[tuple[str, str]]:
    """A real application credential of alice on c1:alpha (deleted afterwards)."""
    url = f"{sandbox.cloud('c1').keystone_url}/v3"
    auth = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": "alice", "domain": {"id": "default"}, "password": "alice-pass"}
                },
            },
            "scope": {"project": {"name": "alpha", "domain": {"id": "default"}}},
        }
    }
    headers, body = _keystone(url, "POST", "/auth/tokens", auth)
    token, user_id = headers["X-Subject-Token"], body["token"]["user"]["id"]
    _, created = _keystone(
        url,
        "POST",
        f"/users/{user_id}/application_credentials",
        {"application_credential": {"name": unique("glint-test")}},
        token,
    )
    app = created["application_credential"]
    yield app["id"], app["secret"]
    _keystone(url, "DELETE", f"/users/{user_id}/application_credentials/{app['id']}", None, token)


def test_import_clouds_yaml_with_app_credential(
    home: Home, capsys, monkeypatch, tmp_path: Path, app_credential: tuple[str, str]
) -> None:
    app_id, app_secret = app_credential
    c1, c2 = home.url("c1"), home.url("c2")
    clouds = {
        "clouds": {
            "one-alice": {
                "auth": {
                    "auth_url": c1,
                    "username": "alice",
                    "password": "alice-pass",
                    "project_name": "alpha",
                    "user_domain_name": "Default",
                },
                "region_name": "RegionOne",
            },
            "one-app": {
                "auth_type": "v3applicationcredential",
                "auth": {
                    "auth_url": c1,
                    "application_credential_id": app_id,
                    "application_credential_secret": app_secret,
                },
                "region_name": "RegionOne",
            },
            "two-bob": {"auth": {"auth_url": c2, "username": "bob", "project_name": "beta"}},
            "two-typo": {
                "auth": {
                    "auth_url": c2,
                    "username": "alice",
                    "password": "wrong",
                    "project_name": "alpha",
                }
            },
        }
    }
    (tmp_path / "clouds.yaml").write_text(json.dumps(clouds))  # JSON is valid YAML
    (tmp_path / "secure.yaml").write_text(
        "clouds:\n  two-bob:\n    auth:\n      password: bob-pass\n"
    )
    monkeypatch.chdir(tmp_path)  # found on openstacksdk's search path (./clouds.yaml)
    monkeypatch.delenv("OS_CLIENT_CONFIG_FILE", raising=False)
    monkeypatch.delenv("OS_CLIENT_SECURE_FILE", raising=False)
    code, out, err = glint(capsys, monkeypatch, "repository", "import", "--json")
    results = {r["cloud"]: r for r in json.loads(out)}
    assert code == 3, err  # partial: one entry has a wrong password
    assert results["two-typo"]["status"] == "failed"
    assert "wrong user name or password" in results["two-typo"]["message"]
    assert {k: results[k]["status"] for k in ("one-alice", "one-app", "two-bob")} == {
        "one-alice": "imported",
        "one-app": "imported",
        "two-bob": "imported",
    }
    # entries with the same auth URL share one repository
    assert [r.name for r in ConfigStore(home.paths).repositories()] == ["one-alice", "two-bob"]
    refs = [str(r) for r in SessionProvider(home.paths).refs()]
    assert refs == ["one-alice:alpha", "one-alice:one-app", "two-bob:beta"]
    for secret in ("alice-pass", "bob-pass", app_secret):
        assert secret not in home.files_text() and secret not in out + err
    for ref in refs:  # each imported credential really logs in
        with SessionProvider(home.paths).open(ref) as session:
            session.check()
    # importing again changes nothing
    code, out, _ = glint(capsys, monkeypatch, "repository", "import", "--cloud", "one-alice")
    assert code == 0 and "already configured" in out


def test_credentials_add_app_credential(
    home: Home, capsys, monkeypatch, app_credential: tuple[str, str]
) -> None:
    app_id, app_secret = app_credential
    add_repo(capsys, monkeypatch, home)
    code, _, err = glint(
        capsys, monkeypatch, "credentials", "add", "c1:alpha", "--app-credential", app_id,
        "--password-stdin", stdin="not-the-secret\n",
    )  # fmt: skip
    assert code == 1 and f"application credential {app_id} was refused" in err
    code, out, err = glint(
        capsys, monkeypatch, "credentials", "add", "c1:alpha", "--app-credential", app_id,
        "--password-stdin", stdin=app_secret + "\n",
    )  # fmt: skip
    assert code == 0, err
    assert app_secret not in out + err + home.files_text()
    [cred] = ConfigStore(home.paths).credentials()
    assert (cred.auth_type, cred.username) == ("application_credential", app_id)
    code, _, _ = glint(capsys, monkeypatch, "credentials", "delete", "c1:alpha", "--yes")
    assert code == 0 and SecretStore(home.paths).get(cred.secret_key) is None


def test_column_error_names_its_place_once(home: Home, capsys, monkeypatch) -> None:
    """Regression: `glint images` printed `! c1:alpha: c1:alpha: no secret in the keyring`."""
    add_repo(capsys, monkeypatch, home)
    add_credential(capsys, monkeypatch, "c1:alpha", "alice", "alice-pass")
    SecretStore(home.paths).delete("c1:alpha:alice")
    code, out, _ = glint(capsys, monkeypatch, "images")
    assert code == 1  # no column could be listed
    [line] = [x for x in out.splitlines() if x.startswith("! ")]
    assert line.startswith("! c1:alpha: no secret in the keyring"), out
    assert "c1:alpha: c1:alpha" not in out


def test_failed_rename_onto_a_taken_name_keeps_both_secrets(
    home: Home, capsys, monkeypatch
) -> None:
    """Regression: `repository edit extra2 --rename c2` (taken) deleted c2:alpha's secret."""
    for name, cloud in (("c2", "c2"), ("extra2", "c2")):
        code, _, err = glint(capsys, monkeypatch, "repository", "add", name, home.url(cloud))
        assert code == 0, err
        code, _, err = add_credential(capsys, monkeypatch, f"{name}:alpha", "alice", "alice-pass")
        assert code == 0, err
    code, _, err = glint(capsys, monkeypatch, "repository", "edit", "extra2", "--rename", "c2")
    assert code == 2 and "repository 'c2' already exists" in err
    secrets = SecretStore(home.paths)
    assert secrets.get("c2:alpha:alice") == "alice-pass"
    assert secrets.get("extra2:alpha:alice") == "alice-pass"
    with SessionProvider(home.paths).open("c2:alpha") as session:
        session.check()  # c2 still logs in
