"""Bad input gets the documented error: one line naming the file (and key), exit 2, never
a traceback. glint's own files (config, settings, keyring, journal) are read through
``core.jsonfile``; values are checked on load and on add/edit. No cloud is needed: every
case fails before glint would talk to one.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from glint_tui.core.config import ConfigStore
from glint_tui.core.errors import ConfigError
from glint_tui.core.jsonfile import BadJSON, parse_json, read_json
from glint_tui.core.model import Credential, Repository
from glint_tui.core.paths import Paths, paths_for
from glint_tui.core.safetext import escape, escape_lines
from glint_tui.core.secrets import forget_unlocked_keys

URL = "http://127.0.0.1:9/v3"  # discard port: nothing listens, nothing is contacted


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    monkeypatch.setenv("GLINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GLINT_PROFILE", raising=False)
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.delenv("GLINT_KEYRING_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("GLINT_KEYRING_PASSWORD", "input-test-master")
    forget_unlocked_keys()
    return paths_for()


def glint(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "glint_tui", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_one_line_error(r: subprocess.CompletedProcess, *words: str, code: int = 2) -> None:
    assert r.returncode == code, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("glint: "), r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


# -- what is escaped ------------------------------------------------------------------------


def test_escape_shows_controls_bidi_and_invisible_characters_and_keeps_the_rest() -> None:
    assert escape("ubuntu-24.04 (é, 日本語, ✓)") == "ubuntu-24.04 (é, 日本語, ✓)"
    assert escape("a\x1b[31mb\nc\td\re\x7f\x9b\x00") == "a\\x1b[31mb\\nc\\td\\re\\x7f\\x9b\\x00"
    assert escape("x\u202ey\u2066z\u200bw\u2028v\xa0u\ufeff") == (
        "x\\u202ey\\u2066z\\u200bw\\u2028v\\xa0u\\ufeff"
    )
    assert escape("lone \ud800 surrogate") == "lone \\ud800 surrogate"
    assert escape(r"C:\path") == r"C:\path"  # a backslash cannot move the cursor
    assert escape_lines("one\x1b\ntwo") == "one\\x1b\ntwo"  # glint's own line breaks stay


# -- the safe JSON loader -------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, words",
    [
        (b'\xff\xfe{"version": 1}', "not UTF-8 text (byte 0xff at offset 0)"),
        (b"\x00\x01\x02binary", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "nested more than"),
        (b"[" * 40 + b"]" * 40, "nested more than 32 levels deep"),
        (b'{"version": ' + b"9" * 5000 + b"}", "not valid JSON: Exceeds the limit"),
        (b'{"version": NaN}', "not valid JSON: NaN is not JSON"),
        (b'{"version": 1', "not valid JSON: Expecting"),
    ],
)
def test_every_unusable_json_is_one_bad_json_error(tmp_path: Path, data: bytes, words: str):
    path = tmp_path / "f.json"
    path.write_bytes(data)
    with pytest.raises(BadJSON) as e:
        read_json(path)
    assert str(e.value).startswith(f"{path}: ") and words in str(e.value)
    assert "\n" not in str(e.value)
    assert isinstance(e.value, ConfigError) and e.value.exit_code == 2


def test_json_loader_reads_good_documents_and_defaults_for_a_missing_file(tmp_path: Path):
    path = tmp_path / "f.json"
    assert read_json(path, default={}) == {}
    with pytest.raises(BadJSON, match="not found"):
        read_json(path)
    path.write_bytes('\ufeff{"a": [1, {"b": "ü"}]}'.encode())  # a BOM from a Windows editor
    assert read_json(path) == {"a": [1, {"b": "ü"}]}
    assert parse_json(b'{"x": 1}', "line 3") == {"x": 1}
    with pytest.raises(BadJSON, match="^line 3: not valid JSON"):
        parse_json(b"{x", "line 3")


# -- glint's config files -------------------------------------------------------------------


def test_non_utf8_repositories_file_is_a_one_line_config_error(paths: Paths) -> None:
    paths.config_dir.mkdir(parents=True)
    paths.repositories_file.write_bytes(b'{"version": 1, "repositories": [{"name": "\xe9"}]}')
    r = glint("repository", "list")
    assert_one_line_error(r, str(paths.repositories_file), "not UTF-8 text")


@pytest.mark.parametrize("which", ["repositories_file", "credentials_file", "settings_file"])
def test_deeply_nested_json_is_a_one_line_config_error(paths: Paths, which: str) -> None:
    ConfigStore(paths).add_repository(Repository("c1", URL))
    path = getattr(paths, which)
    path.write_text("[" * 50_000 + "]" * 50_000)
    r = glint("repository", "list")
    assert_one_line_error(r, str(path), "nested more than")


@pytest.mark.parametrize(
    "which, data",
    [
        ("credentials_file", b"\x89PNG\r\n\x1a\n\x00\x00binary"),
        ("settings_file", b'{"version": 1, "settings": {"home_repository": "\xff"}}'),
        ("settings_file", b'{"version": 1, "settings": {"home_repository": ["c1"]}}'),
        ("repositories_file", b'{"version": 1, "repositories": [{"name": "c1", "auth_url": '),
    ],
)
def test_binary_or_wrong_config_files_are_one_line_errors(paths: Paths, which, data) -> None:
    ConfigStore(paths).add_repository(Repository("c1", URL))
    path = getattr(paths, which)
    path.write_bytes(data)
    assert_one_line_error(glint("repository", "list"), str(path))


# -- values checked on load and on add/edit -------------------------------------------------


@pytest.mark.parametrize(
    "url, words",
    [
        ("http://keystone example.org/v3", "without spaces"),
        ("http://key\x1bstone/v3", "control or invisible character (\\x1b at 10)"),
        ("https://admin:s3cret@keystone.example.org/v3", "must not hold a user name or password"),
        ("https://keystone.example.org:99999/v3", "must be an http(s) URL (Port out of range"),
        ("ftp://keystone.example.org/", "must be an http(s) URL"),
        ("https:///v3", "must be an http(s) URL"),
    ],
)
def test_bad_auth_urls_are_refused_on_add_and_on_load(paths: Paths, url: str, words: str):
    r = glint("repository", "add", "c1", url, "--no-verify")
    assert_one_line_error(r, "auth_url", words)
    assert "s3cret" not in r.stderr  # the refused URL is not echoed
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    doc = {"version": 1, "repositories": [{"name": "c1", "auth_url": url}]}
    paths.repositories_file.write_text(json.dumps(doc))
    r = glint("repository", "list")
    assert_one_line_error(r, f"{paths.repositories_file}: repositories[0].auth_url: ", words)


@pytest.mark.parametrize(
    "record, key, words",
    [
        ({"name": "c1:x"}, "name", "no ':'"),
        ({"name": "c" * 65}, "name", "at most 64 characters"),
        ({"description": "two\nlines"}, "description", "control or invisible character (\\n"),
        ({"region": "Region\u202eOne"}, "region", "(\\u202e at 6)"),
    ],
)
def test_repository_values_are_checked_on_load(paths: Paths, record, key, words) -> None:
    paths.config_dir.mkdir(parents=True)
    doc = {"version": 1, "repositories": [{"name": "c1", "auth_url": URL, **record}]}
    paths.repositories_file.write_text(json.dumps(doc))
    r = glint("repository", "list")
    assert_one_line_error(r, f"{paths.repositories_file}: repositories[0].{key}: ", words)


@pytest.mark.parametrize(
    "field, value, words",
    [
        ("project", "al\x1b[2Jpha", "control or invisible character (\\x1b at 2)"),
        ("project", "p" * 65, "at most 64 characters"),
        ("username", "alice\n", "control or invisible character (\\n at 5)"),
        ("user_domain", "", "must be a non-empty string"),
    ],
)
def test_credential_values_are_checked_on_add_and_on_load(paths: Paths, field, value, words):
    store = ConfigStore(paths)
    store.add_repository(Repository("c1", URL))
    with pytest.raises(ConfigError, match=f"{field}: ") as e:
        store.add_credential(Credential(**{"repository": "c1", "project": "a", "username": "u",
                                           field: value}))  # fmt: skip
    assert words in str(e.value) and "\x1b" not in str(e.value)
    entry = {**Credential("c1", "a", "u").to_dict(), field: value}
    paths.credentials_file.write_text(json.dumps({"version": 1, "credentials": [entry]}))
    r = glint("credentials", "list")
    assert_one_line_error(r, f"{paths.credentials_file}: credentials[0].{field}: ", words)


def test_cli_refuses_a_project_name_with_control_characters_naming_the_key(paths) -> None:
    assert glint("repository", "add", "c1", URL, "--no-verify").returncode == 0
    r = glint("credentials", "add", "c1:al\x1bpha", "--username", "alice", "--password-stdin",
              "--no-verify", stdin="pw\n")  # fmt: skip
    assert_one_line_error(r, "expected REPOSITORY:PROJECT", "got 'c1:al\\x1bpha'")
    r = glint("credentials-add", "--name", "c1", "--tenant", "al\x1bpha", "--username", "alice",
              "--password-stdin", "--no-verify", stdin="pw\n")  # fmt: skip
    assert_one_line_error(r, "project: contains a control or invisible character (\\x1b at 2)")
    assert "\x1b" not in r.stderr
    assert not paths.credentials_file.exists()


def test_error_messages_show_what_the_user_typed_escaped(paths: Paths) -> None:
    assert glint("repository", "add", "c1", URL, "--no-verify").returncode == 0
    r = glint("credentials", "add", "c1:alpha", "--username", "alice", "--password-stdin",
              "--no-verify", stdin="pw\n")  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = glint("images", "--project", "c1:be\x1b[31mta\nFORGED")
    assert_one_line_error(r, "expected REPO:PROJECT, got 'c1:be\\x1b[31mta\\nFORGED'")
    r = glint("images", "--project", "c1:be\u202eta")
    assert_one_line_error(r, "expected REPO:PROJECT, got 'c1:be\\u202eta'")


# -- glint's own files are private ----------------------------------------------------------


def test_glint_state_and_config_files_are_written_0600(paths: Paths) -> None:
    from glint_tui.core.journal import Journal
    from glint_tui.core.secrets import SecretStore

    old = os.umask(0o022)
    try:
        store = ConfigStore(paths)
        store.add_repository(Repository("c1", URL))
        store.add_credential(Credential("c1", "alpha", "alice"))
        store.set_setting("home_repository", "c1")
        SecretStore(paths).set("c1:alpha:alice", "pw")
        journal = Journal(paths, command="test")
        journal.close()
    finally:
        os.umask(old)
    files = [
        paths.repositories_file,
        paths.credentials_file,
        paths.settings_file,
        paths.data_dir / "keyring.enc",
        journal.path,
    ]
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


# -- a reader that goes away ------------------------------------------------------------------


def _closed_pipe_run(*args: str) -> tuple[int, str]:
    """Run glint with its stdout read end already closed (the reader of `| head` is gone)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered, as usual
    proc = subprocess.Popen(
        [sys.executable, "-m", "glint_tui", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    proc.stdout.close()  # before glint has written anything
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return proc.wait(timeout=120), err


def test_closed_pipe_ends_quietly(paths: Paths) -> None:
    doc = {  # 500 KiB of output: far more than a pipe buffers
        "version": 1,
        "repositories": [{"name": f"r{i}", "auth_url": URL, "description": "x" * 200}
                         for i in range(2000)],
    }  # fmt: skip
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    paths.repositories_file.write_text(json.dumps(doc))
    for args in (("repository", "list", "--json"), ("repository", "list")):
        code, err = _closed_pipe_run(*args)
        assert (code, err) == (0, ""), (args, code, err)
    ConfigStore(paths).add_credential(Credential("r0", "alpha", "alice"))
    code, err = _closed_pipe_run("images")  # the column cannot be listed: exit 1 as documented
    assert (code, err) == (1, "")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    shell = subprocess.run(
        [
            "bash",
            "-c",
            f'"{sys.executable}" -m glint_tui repository list --json | head -c 10; '
            'echo " rc=${PIPESTATUS[0]}"',
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert shell.stdout.endswith(" rc=0\n") and shell.stderr == "", shell
