"""Repositories/credentials files: validation names file and key, 0600 atomic writes,
locking between processes, renames carry credentials and secrets, clouds.yaml parsing."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from glint_tui.core import cloudsyaml
from glint_tui.core.config import ConfigStore
from glint_tui.core.errors import ConfigError
from glint_tui.core.model import Credential, Repository
from glint_tui.core.paths import Paths, paths_for
from glint_tui.core.secrets import SecretStore, forget_unlocked_keys


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    """An isolated profile with glint's encrypted keyring unlocked from the environment."""
    monkeypatch.setenv("GLINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GLINT_PROFILE", raising=False)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.delenv("GLINT_KEYRING_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("GLINT_KEYRING_PASSWORD", "test-master")
    forget_unlocked_keys()
    return paths_for()


def repo(name: str = "c1", **kw: object) -> Repository:
    return Repository(name=name, auth_url="https://keystone.example.org:5000/v3", **kw)  # type: ignore[arg-type]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write(path: Path, doc: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)


# -- round trip and file properties ---------------------------------------------------------


def test_repository_round_trip_is_versioned_and_private(paths: Paths) -> None:
    old_umask = os.umask(0o022)
    try:
        store = ConfigStore(paths)
        store.add_repository(repo(description="main cloud", region="RegionOne"))
    finally:
        os.umask(old_umask)
    assert ConfigStore(paths).get_repository("c1").region == "RegionOne"
    doc = json.loads(paths.repositories_file.read_text())
    assert doc["version"] == 1 and doc["repositories"][0]["description"] == "main cloud"
    assert mode(paths.repositories_file) == 0o600
    leftovers = [p.name for p in paths.config_dir.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_credentials_file_holds_no_secret(paths: Paths) -> None:
    store = ConfigStore(paths)
    store.add_repository(repo())
    cred = Credential("c1", "alpha", "alice")
    SecretStore(paths).set(cred.secret_key, "s3cret-Pa55word")
    store.add_credential(cred)
    assert mode(paths.credentials_file) == 0o600
    for f in paths.config_dir.iterdir():
        assert b"s3cret-Pa55word" not in f.read_bytes(), f
    assert b"s3cret-Pa55word" not in (paths.data_dir / "keyring.enc").read_bytes()
    assert store.get_credential("c1:alpha") == cred


# -- validation on load names the file and the key ------------------------------------------


def test_bad_auth_url_in_file_names_file_and_key(paths: Paths) -> None:
    good = repo("ok").to_dict()
    bad = dict(repo("bad").to_dict(), auth_url="keystone.example.org:5000")
    write(paths.repositories_file, {"version": 1, "repositories": [good, bad]})
    with pytest.raises(ConfigError) as e:
        ConfigStore(paths).repositories()
    assert str(e.value) == (
        f"{paths.repositories_file}: repositories[1].auth_url: must be an http(s) URL"
    )


@pytest.mark.parametrize(
    "change, key, words",
    [
        ({"name": "a:b"}, "name", "no '/', ':'"),
        ({"name": "a/b"}, "name", "no '/', ':'"),  # the separators of REPO/REGION:PROJECT
        ({"cloud_type": "vmware"}, "cloud_type", "must be one of openstack"),
        ({"interface": "private"}, "interface", "public, internal, admin"),
        ({"ca_bundle": "/nonexistent/ca.pem"}, "ca_bundle", "does not exist"),
        ({"insecure": "yes"}, "insecure", "true or false"),
        ({"descripton": "typo"}, "descripton", "unknown key"),
    ],
)
def test_each_bad_field_is_named(paths: Paths, change: dict, key: str, words: str) -> None:
    write(paths.repositories_file, {"version": 1, "repositories": [{**repo().to_dict(), **change}]})
    with pytest.raises(ConfigError) as e:
        ConfigStore(paths).repositories()
    assert f"{paths.repositories_file}: repositories[0].{key}: " in str(e.value)
    assert words in str(e.value)


def test_broken_json_and_wrong_version_are_named(paths: Paths) -> None:
    write(paths.repositories_file, '{"version": 1, "repositories": [}')
    with pytest.raises(ConfigError, match=r"repositories\.json: not valid JSON: .*line 1"):
        ConfigStore(paths).repositories()
    write(paths.repositories_file, {"version": 7, "repositories": []})
    with pytest.raises(ConfigError, match=r"repositories\.json: version: expected 1, found 7"):
        ConfigStore(paths).repositories()


def test_password_in_credentials_file_is_refused_with_a_hint(paths: Paths) -> None:
    ConfigStore(paths).add_repository(repo())
    entry = {**Credential("c1", "alpha", "alice").to_dict(), "password": "oops"}
    write(paths.credentials_file, {"version": 1, "credentials": [entry]})
    with pytest.raises(ConfigError) as e:
        ConfigStore(paths).credentials()
    assert f"{paths.credentials_file}: credentials[0].password: secrets don't belong" in str(
        e.value
    )


def test_credential_of_unknown_repository_in_file(paths: Paths) -> None:
    write(paths.repositories_file, {"version": 1, "repositories": []})
    entry = Credential("ghost", "alpha", "alice").to_dict()
    write(paths.credentials_file, {"version": 1, "credentials": [entry]})
    with pytest.raises(ConfigError, match=r"credentials\[0\]\.repository: unknown repository"):
        ConfigStore(paths).credentials()


def test_invalid_record_is_refused_and_file_untouched(paths: Paths) -> None:
    store = ConfigStore(paths)
    store.add_repository(repo())
    before = paths.repositories_file.read_bytes()
    with pytest.raises(ConfigError, match="auth_url: must be an http"):
        store.add_repository(Repository("c2", "ftp://x"))
    with pytest.raises(ConfigError, match="already exists"):
        store.add_repository(repo())
    assert paths.repositories_file.read_bytes() == before


def test_insecure_repository_warns(paths: Paths, tmp_path: Path) -> None:
    warnings: list[str] = []
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    store = ConfigStore(paths, warn=warnings.append)
    store.add_repository(repo("safe", ca_bundle=str(ca)))
    assert warnings == []
    store.add_repository(repo("lax", insecure=True))
    assert len(warnings) == 1 and "lax" in warnings[0] and "verification is OFF" in warnings[0]


# -- changes ----------------------------------------------------------------------------------


def test_rename_carries_credentials_and_secrets(paths: Paths) -> None:
    secrets = SecretStore(paths)
    store = ConfigStore(paths, secrets=secrets)
    store.add_repository(repo("old"))
    store.add_repository(repo("other"))
    for project, user in (("alpha", "alice"), ("beta", "bob")):
        cred = Credential("old", project, user)
        secrets.set(cred.secret_key, f"{user}-pass")
        store.add_credential(cred)
    store.update_repository("old", name="new", description="renamed")
    assert [r.name for r in store.repositories()] == ["new", "other"]
    assert {str(c.ref) for c in store.credentials()} == {"new:alpha", "new:beta"}
    assert secrets.get("new:alpha:alice") == "alice-pass"
    assert secrets.get("old:alpha:alice") is None
    with pytest.raises(ConfigError, match="already exists"):
        store.update_repository("new", name="other")
    assert secrets.get("new:beta:bob") == "bob-pass"  # a refused rename moves nothing


def test_remove_repository_removes_credentials_and_secrets(paths: Paths) -> None:
    secrets = SecretStore(paths)
    store = ConfigStore(paths, secrets=secrets)
    store.add_repository(repo("c1"))
    store.add_repository(repo("c2"))
    for r in ("c1", "c2"):
        cred = Credential(r, "alpha", "alice")
        secrets.set(cred.secret_key, "pw")
        store.add_credential(cred)
    removed = store.remove_repository("c1")
    assert [str(c.ref) for c in removed] == ["c1:alpha"]
    assert [str(c.ref) for c in store.credentials()] == ["c2:alpha"]
    assert secrets.get("c1:alpha:alice") is None and secrets.get("c2:alpha:alice") == "pw"


def test_credential_rules(paths: Paths) -> None:
    store = ConfigStore(paths)
    with pytest.raises(ConfigError, match="no repository named 'c1'"):
        store.add_credential(Credential("c1", "alpha", "alice"))
    store.add_repository(repo())
    store.add_credential(Credential("c1", "alpha", "alice"))
    with pytest.raises(ConfigError, match="already exists"):
        store.add_credential(Credential("c1", "alpha", "carol"))
    store.add_credential(Credential("c1", "alpha", "carol"), replace_existing=True)
    assert store.get_credential("c1:alpha").username == "carol"
    with pytest.raises(ConfigError, match="glint credentials add c1:beta"):
        store.get_credential("c1:beta")
    store.remove_credential("c1:alpha")
    assert store.credentials() == []


def test_settings(paths: Paths) -> None:
    store = ConfigStore(paths)
    assert store.get_setting("home_project") is None
    store.set_setting("home_project", "c1:alpha")
    assert ConfigStore(paths).get_setting("home_project") == "c1:alpha"
    assert mode(paths.settings_file) == 0o600


_ADDER = """
import sys
from glint_tui.core.config import ConfigStore
from glint_tui.core.model import Repository
from glint_tui.core.paths import paths_for
store = ConfigStore(paths_for())
for i in range(40):
    store.add_repository(Repository(f"{sys.argv[1]}{i}", "https://k.example.org/v3"))
"""


def test_two_processes_do_not_lose_each_others_writes(paths: Paths) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", _ADDER, p]) for p in ("a", "b")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    names = {r.name for r in ConfigStore(paths).repositories()}
    assert names == {f"{p}{i}" for p in "ab" for i in range(40)}


# -- clouds.yaml --------------------------------------------------------------------------------

CLOUDS = """
clouds:
  prod-alice:
    auth:
      auth_url: https://keystone.example.org:5000/v3
      username: alice
      password: from-clouds-yaml
      project_name: alpha
      user_domain_name: Users
    region_name: RegionTwo
    interface: internal
  prod-app:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example.org:5000/v3
      application_credential_id: 0123abcd
      application_credential_secret: app-secret
  lab:
    verify: false
    auth:
      auth-url: http://lab.example.org:5000/v3
      username: bob
      project-id: 9f1e
  vendor:
    profile: rackspace
"""
SECURE = """
clouds:
  lab:
    auth:
      password: from-secure-yaml
"""


def test_clouds_yaml_parsing_with_secure_merge(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "clouds.yaml").write_text(CLOUDS)
    (tmp_path / "secure.yaml").write_text(SECURE)
    monkeypatch.delenv("OS_CLIENT_CONFIG_FILE", raising=False)
    monkeypatch.delenv("OS_CLIENT_SECURE_FILE", raising=False)
    monkeypatch.chdir(tmp_path)  # ./clouds.yaml is first on openstacksdk's search path
    path, entries = cloudsyaml.load_clouds()
    assert path == tmp_path / "clouds.yaml"
    by = {e.cloud: e for e in entries}
    alice = by["prod-alice"]
    assert alice.repository and alice.repository.region == "RegionTwo"
    assert alice.repository.interface == "internal"
    assert alice.credential == Credential("prod-alice", "alpha", "alice", user_domain="Users")
    assert alice.secret == "from-clouds-yaml"
    app = by["prod-app"]
    assert app.credential and app.credential.auth_type == "application_credential"
    assert app.credential.username == "0123abcd" and app.secret == "app-secret"
    lab = by["lab"]
    assert lab.repository and lab.repository.insecure
    assert lab.credential and lab.credential.project == "9f1e"
    assert lab.secret == "from-secure-yaml"
    assert by["vendor"].problem and "profile" in by["vendor"].problem


def test_clouds_yaml_env_override_and_missing(tmp_path: Path, monkeypatch) -> None:
    other = tmp_path / "elsewhere.yaml"
    other.write_text(CLOUDS)
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(other))
    monkeypatch.chdir(tmp_path)
    assert cloudsyaml.find_clouds_yaml() == other
    monkeypatch.delenv("OS_CLIENT_CONFIG_FILE")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    if any(Path(d, "clouds.yaml").exists() for d in ("/etc/openstack", "/etc/xdg/openstack")):
        pytest.skip("this machine has a system-wide clouds.yaml")
    with pytest.raises(ConfigError, match="no clouds.yaml found"):
        cloudsyaml.find_clouds_yaml()
    bad = tmp_path / "bad.yaml"
    bad.write_text("clouds: [1, 2")
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        cloudsyaml.load_clouds(bad)


def test_refused_rename_onto_a_repository_with_the_same_login_keeps_its_secret(
    paths: Paths,
) -> None:
    """Regression: renaming extra2 -> c2 (taken) used to overwrite, then delete, c2's secret."""
    secrets = SecretStore(paths)
    store = ConfigStore(paths, secrets=secrets)
    for name, password in (("c2", "c2-pass"), ("extra2", "extra2-pass")):
        store.add_repository(repo(name))
        cred = Credential(name, "alpha", "alice")
        secrets.set(cred.secret_key, password)
        store.add_credential(cred)
    with pytest.raises(ConfigError, match="'c2' already exists"):
        store.update_repository("extra2", name="c2")
    assert secrets.get("c2:alpha:alice") == "c2-pass"
    assert secrets.get("extra2:alpha:alice") == "extra2-pass"
    assert [r.name for r in store.repositories()] == ["c2", "extra2"]


def test_rename_never_overwrites_a_secret_already_in_the_keyring(paths: Paths) -> None:
    """A leftover secret under the new name is not clobbered: the rename is refused whole."""
    secrets = SecretStore(paths)
    store = ConfigStore(paths, secrets=secrets)
    store.add_repository(repo("old"))
    cred = Credential("old", "alpha", "alice")
    secrets.set(cred.secret_key, "old-pass")
    store.add_credential(cred)
    secrets.set("new:alpha:alice", "leftover")  # e.g. a keyring delete that failed earlier
    with pytest.raises(ConfigError, match="new:alpha:alice"):
        store.update_repository("old", name="new")
    assert secrets.get("new:alpha:alice") == "leftover"
    assert secrets.get("old:alpha:alice") == "old-pass"
    assert [r.name for r in store.repositories()] == ["old"]
    assert [str(c.ref) for c in store.credentials()] == ["old:alpha"]


def test_insecure_warning_for_plain_http_does_not_talk_about_certificates(paths: Paths) -> None:
    warnings: list[str] = []
    store = ConfigStore(paths, warn=warnings.append)
    store.add_repository(Repository(name="plain", auth_url="http://10.0.0.1:5000/v3"))
    store.update_repository("plain", insecure=True)
    [text] = warnings
    assert "certificate" not in text
    assert "TLS verification is OFF" in text and "only for https" in text and "plain http" in text
    store.add_repository(repo("tls", insecure=True))
    assert "certificate verification is OFF" in warnings[1]
