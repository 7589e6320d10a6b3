"""Keyring policy: an explicit choice is respected, plaintext is never picked silently, and
without a desktop keyring glint uses its encrypted file unlocked by a master password."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from glint_tui.core.errors import SecretsError
from glint_tui.core.paths import Paths, paths_for
from glint_tui.core.secrets import SecretStore, forget_unlocked_keys

SECRET = "Zq9-very-secret-value"


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """An isolated profile on a machine without a desktop keyring (no D-Bus session)."""
    monkeypatch.setenv("GLINT_HOME", str(tmp_path / "home"))
    for var in (
        "GLINT_PROFILE",
        "PYTHON_KEYRING_BACKEND",
        "GLINT_KEYRING_PASSWORD",
        "GLINT_KEYRING_PASSWORD_FILE",
        "DBUS_SESSION_BUS_ADDRESS",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    forget_unlocked_keys()
    yield paths_for()
    forget_unlocked_keys()


def keyring_file(paths: Paths) -> Path:
    return paths.data_dir / "keyring.enc"


def no_prompt(text: str) -> None:
    return None


def test_env_master_password_round_trip(paths: Paths, monkeypatch) -> None:
    monkeypatch.setenv("GLINT_KEYRING_PASSWORD", "master-1")
    told: list[str] = []
    store = SecretStore(paths, prompt=no_prompt, notice=told.append)
    store.set("c1:alpha:alice", SECRET)
    assert store.get("c1:alpha:alice") == SECRET
    assert store.get("c1:alpha:nobody") is None
    data = keyring_file(paths).read_bytes()
    assert SECRET.encode() not in data and b"master-1" not in data
    assert stat.S_IMODE(keyring_file(paths).stat().st_mode) == 0o600
    assert "encrypted keyring file" in store.describe()
    # said once, on first use, to the caller's notice callback: which backend and why
    [said] = told
    assert "encrypted keyring file" in said and "GLINT_KEYRING_PASSWORD" in said
    store.set("c1:beta:bob", "other")
    assert told == [said]
    assert store.delete("c1:alpha:alice") is True
    assert store.delete("c1:alpha:alice") is False
    forget_unlocked_keys()
    assert SecretStore(paths).get("c1:beta:bob") == "other"  # a new process-worth of state


def test_wrong_master_password(paths: Paths, monkeypatch) -> None:
    monkeypatch.setenv("GLINT_KEYRING_PASSWORD", "right")
    SecretStore(paths).set("k", SECRET)
    monkeypatch.setenv("GLINT_KEYRING_PASSWORD", "wrong")
    with pytest.raises(SecretsError, match="^wrong keyring master password"):
        SecretStore(paths).get("k")


def test_password_file_0600_is_used(paths: Paths, tmp_path: Path, monkeypatch) -> None:
    pw = tmp_path / "pw"
    pw.write_text("file-master\n")
    pw.chmod(0o600)
    monkeypatch.setenv("GLINT_KEYRING_PASSWORD_FILE", str(pw))
    SecretStore(paths).set("k", SECRET)
    monkeypatch.delenv("GLINT_KEYRING_PASSWORD_FILE")
    monkeypatch.setenv("GLINT_KEYRING_PASSWORD", "file-master")  # the same password
    assert SecretStore(paths).get("k") == SECRET


def test_password_file_readable_by_others_is_refused(paths: Paths, tmp_path, monkeypatch) -> None:
    pw = tmp_path / "pw"
    pw.write_text("file-master\n")
    pw.chmod(0o644)
    monkeypatch.setenv("GLINT_KEYRING_PASSWORD_FILE", str(pw))
    with pytest.raises(SecretsError) as e:
        SecretStore(paths).set("k", SECRET)
    assert f"{pw}: keyring password file has mode 0644" in str(e.value)
    assert f"chmod 600 {pw}" in str(e.value)
    assert not keyring_file(paths).exists()


def test_profile_password_file(paths: Paths) -> None:
    """``<config dir>/keyring-password`` (what the sandbox profile uses) unlocks the file."""
    pw = paths.config_dir / "keyring-password"
    pw.parent.mkdir(parents=True)
    pw.write_text("profile-master")
    pw.chmod(0o600)
    SecretStore(paths).set("k", SECRET)
    assert SecretStore(paths).get("k") == SECRET
    pw.chmod(0o640)
    forget_unlocked_keys()
    with pytest.raises(SecretsError, match="mode 0640"):
        SecretStore(paths).get("k")


def test_prompt_asked_once_per_run_and_twice_for_a_new_file(paths: Paths) -> None:
    asked: list[str] = []

    def prompt(text: str) -> str:
        asked.append(text)
        return "typed-master"

    store = SecretStore(paths, prompt=prompt)
    store.set("a", "1")
    store.set("b", "2")
    assert SecretStore(paths, prompt=prompt).get("a") == "1"
    assert len(asked) == 2 and "New master password" in asked[0] and "Repeat" in asked[1]
    forget_unlocked_keys()  # next run
    asked.clear()
    assert SecretStore(paths, prompt=prompt).get("b") == "2"
    assert len(asked) == 1 and "Master password" in asked[0]


def test_mismatched_new_master_password_stores_nothing(paths: Paths) -> None:
    answers = iter(["one", "two"])
    with pytest.raises(SecretsError, match="differ"):
        SecretStore(paths, prompt=lambda _: next(answers)).set("a", "1")
    assert not keyring_file(paths).exists()


def test_no_keyring_and_no_master_password_says_how_to_proceed(paths: Paths) -> None:
    store = SecretStore(paths, prompt=no_prompt)
    with pytest.raises(SecretsError) as e:
        store.set("a", SECRET)
    message = str(e.value)
    for hint in (
        "GLINT_KEYRING_PASSWORD",
        "GLINT_KEYRING_PASSWORD_FILE",
        "Secret Service",
        "D-Bus",
        "PYTHON_KEYRING_BACKEND",
        str(paths.config_dir / "keyring-password"),
    ):
        assert hint in message
    assert not keyring_file(paths).exists()


def test_default_policy_never_picks_plaintext(paths: Paths) -> None:
    """keyrings.alt is installed, so keyring's own default here is its PlaintextKeyring."""
    import keyring.backend

    description = SecretStore(paths, prompt=no_prompt).describe()
    assert description.startswith("glint encrypted keyring file")
    assert "no usable system keyring" in description
    # what plain `keyring` would pick on this machine
    default = max(keyring.backend.get_all_keyring(), key=keyring.backend.by_priority)
    if "Plaintext" in type(default).__name__:
        assert "PlaintextKeyring refused (plaintext)" in description


def test_explicit_plaintext_backend_is_respected(paths: Paths, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    store = SecretStore(paths, prompt=no_prompt)
    store.set("c1:alpha:alice", SECRET)
    assert store.get("c1:alpha:alice") == SECRET
    assert "PYTHON_KEYRING_BACKEND" in store.describe() and "PLAINTEXT" in store.describe()
    assert (tmp_path / "xdg-data" / "python_keyring" / "keyring_pass.cfg").exists()
    assert not keyring_file(paths).exists()


def test_keyring_config_file_is_respected(paths: Paths, tmp_path) -> None:
    cfg = tmp_path / "xdg-config" / "python_keyring" / "keyringrc.cfg"
    cfg.parent.mkdir(parents=True)
    cfg.write_text("[backend]\ndefault-keyring = keyrings.alt.file.PlaintextKeyring\n")
    store = SecretStore(paths, prompt=no_prompt)
    assert str(cfg) in store.describe()
    store.set("k", SECRET)
    assert not keyring_file(paths).exists()


def test_unloadable_explicit_backend_is_a_clear_error(paths: Paths, monkeypatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "no.such.Backend")
    with pytest.raises(SecretsError, match="PYTHON_KEYRING_BACKEND=no.such.Backend: cannot load"):
        SecretStore(paths).get("k")


def test_profiles_use_separate_services(tmp_path, paths: Paths, monkeypatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyrings.alt.file.PlaintextKeyring")
    SecretStore(paths).set("c1:alpha:alice", "operator")
    SecretStore(paths_for("sandbox")).set("c1:alpha:alice", "sandbox")
    assert SecretStore(paths).get("c1:alpha:alice") == "operator"
    assert SecretStore(paths_for("sandbox")).get("c1:alpha:alice") == "sandbox"


_SETTER = """
import sys
from glint_tui.core.paths import paths_for
from glint_tui.core.secrets import SecretStore
store = SecretStore(paths_for())
for i in range(10):
    store.set(f"{sys.argv[1]}{i}", f"v{i}")
"""


def test_two_processes_writing_secrets_keep_both(paths: Paths, monkeypatch) -> None:
    monkeypatch.setenv("GLINT_KEYRING_PASSWORD", "m")
    SecretStore(paths).set("seed", "x")  # create the file first: one salt for both
    env = dict(os.environ)
    procs = [subprocess.Popen([sys.executable, "-c", _SETTER, p], env=env) for p in "ab"]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    store = SecretStore(paths)
    assert all(store.get(f"{p}{i}") == f"v{i}" for p in "ab" for i in range(10))
