"""glint-backup on bad input and private files, without a cloud: one line, exit 2, 0600."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from glint_backup import logsetup
from glint_backup.lock import locked
from tests.backup_helpers import backup_cmd, offline_doc


def _doc(store: Path, **extra) -> dict:
    return offline_doc(store, **extra)


def _run_raw(tmp_path: Path, data: bytes, *args: str) -> subprocess.CompletedProcess:
    path = tmp_path / "glint-backup.json"
    path.write_bytes(data)
    return subprocess.run(
        backup_cmd(path, *args), capture_output=True, text=True, timeout=60, errors="replace"
    )


def _one_line_config_error(done: subprocess.CompletedProcess, *needles: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_non_utf8_backup_config_is_a_one_line_config_error(tmp_path: Path) -> None:
    # Latin-1 "é" in a user name: what an editor with the wrong locale writes
    data = json.dumps(_doc(tmp_path, glint_backup_admin_user="admXX")).encode()
    data = data.replace(b"XX", b"\xe9")
    done = _run_raw(tmp_path, data)
    _one_line_config_error(done, "glint-backup.json", "not UTF-8")


def test_binary_backup_config_is_a_one_line_config_error(tmp_path: Path) -> None:
    done = _run_raw(tmp_path, b"\x7fELF\x02\x01\x01\x00" + os.urandom(200))
    _one_line_config_error(done, "glint-backup.json")
    assert "not UTF-8 text" in done.stderr or "not valid JSON" in done.stderr, done.stderr


@pytest.mark.parametrize("depth", [40, 100_000])
def test_deeply_nested_backup_config_is_a_one_line_config_error(tmp_path: Path, depth: int) -> None:
    nested = "[" * depth + "]" * depth
    text = json.dumps(_doc(tmp_path))[:-1] + f', "glint_backup_projects": {nested}}}'
    done = _run_raw(tmp_path, text.encode())
    _one_line_config_error(done, "glint-backup.json", "nested more than 32 levels deep")


@pytest.mark.parametrize(
    "url, why",
    [
        ("ftp://keystone.example.org/v3", "http:// or https://"),
        ("https:///v3", "no host"),
        ("http://keystone example.org:5000/v3", "spaces"),
        ("http://keystone.example.org:99999/v3", "not a URL"),
        ("keystone.example.org:5000", "http:// or https://"),
    ],
)
def test_bad_auth_url_is_a_config_error_naming_the_key(tmp_path: Path, url: str, why: str) -> None:
    done = _run_raw(tmp_path, json.dumps(_doc(tmp_path, glint_backup_auth_URL=url)).encode())
    _one_line_config_error(done, "glint_backup_auth_URL", why)


def test_log_file_in_a_missing_directory_is_a_config_error_naming_the_key(
    tmp_path: Path,
) -> None:
    doc = _doc(tmp_path, glint_backup_logfile=str(tmp_path / "no-such-dir" / "backup.log"))
    done = _run_raw(tmp_path, json.dumps(doc).encode())
    _one_line_config_error(done, "glint_backup_logfile", "does not exist")
    assert not (tmp_path / "no-such-dir").exists()


@pytest.mark.parametrize(
    "value, why",
    [("30s", "out of range"), ("32d", "out of range"), ("6 hours", "unit"), ("", "unit")],
)
def test_every_outside_one_minute_to_31_days_is_a_clear_usage_error(
    tmp_path: Path, value: str, why: str
) -> None:
    done = _run_raw(tmp_path, json.dumps(_doc(tmp_path)).encode(), "--every", value)
    _one_line_config_error(done, "--every", why)


def test_project_list_must_be_names(tmp_path: Path) -> None:
    doc = _doc(tmp_path, glint_backup_projects=["alpha", 7])
    done = _run_raw(tmp_path, json.dumps(doc).encode())
    _one_line_config_error(done, "glint_backup_projects", "project names or ids")


def test_backup_log_is_created_0600(tmp_path: Path) -> None:
    log = tmp_path / "log" / "glint-backup.log"
    log.parent.mkdir()
    doc = _doc(tmp_path / "store", glint_backup_logfile=str(log))
    (tmp_path / "store").mkdir()
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    # a permissive umask, as cron may give: the log must still be private
    done = subprocess.run(
        backup_cmd(path, "snapshots"), capture_output=True, text=True, timeout=60,
        preexec_fn=lambda: os.umask(0o022),
    )  # fmt: skip
    assert done.returncode == 5  # an empty directory is not a store yet: logged
    assert log.read_text().strip()
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


def test_backup_log_stays_0600_after_rotation_and_an_old_0644_log_is_narrowed(
    tmp_path: Path,
) -> None:
    log = tmp_path / "glint-backup.log"
    log.write_text("an old line\n")
    log.chmod(0o644)
    old_umask = os.umask(0o022)
    try:
        logger = logsetup.setup(log)
        logger.info("first")
        assert stat.S_IMODE(log.stat().st_mode) == 0o600
        log.rename(tmp_path / "glint-backup.log.1")  # what logrotate does (no copytruncate)
        logger.info("after rotation")
        assert "after rotation" in log.read_text()
        assert stat.S_IMODE(log.stat().st_mode) == 0o600
    finally:
        os.umask(old_umask)
        for handler in list(logging.getLogger(logsetup.LOGGER).handlers):
            handler.close()
        logging.getLogger(logsetup.LOGGER).handlers.clear()


def test_backup_ends_promptly_when_keystone_accepts_and_never_answers(
    tmp_path: Path, silent_keystone
) -> None:
    """A TCP listener that accepts and never replies: the run ends by itself, lock freed."""
    store = tmp_path / "store"
    store.mkdir()
    pw = tmp_path / "pw"
    pw.write_text("some-password\n")
    pw.chmod(0o600)
    doc = _doc(store, glint_backup_auth_URL=silent_keystone.url,
               glint_backup_admin_pw_file=str(pw), glint_backup_testing="False")  # fmt: skip
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    proc = subprocess.Popen(backup_cmd(path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        # the deadline: far below the 300 s a stuck read used to hold the run and its lock
        out, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert silent_keystone.accepted, "the run never connected to the listener"
    assert proc.returncode in (1, 6), (proc.returncode, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "did not answer" in lines[0], lines
    assert "Traceback" not in err and out == ""
    with locked(store):  # the lock was released with the run
        pass
    assert not list(store.glob("snapshots/*.json"))


def test_sigterm_while_idle_ends_the_daemon_at_once(tmp_path: Path) -> None:
    """The daemon between runs: SIGTERM ends it with 0 (the first run failed: no cloud)."""
    store = tmp_path / "store"
    store.mkdir()
    (tmp_path / "log").mkdir()
    log = tmp_path / "log" / "b.log"
    doc = _doc(store, glint_backup_logfile=str(log), glint_backup_testing="False",
               glint_backup_admin_pw_file=str(tmp_path / "pw"))  # fmt: skip
    (tmp_path / "pw").write_text("x\n")
    (tmp_path / "pw").chmod(0o600)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    proc = subprocess.Popen(backup_cmd(path, "--every", "1h"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not (log.exists() and "127.0.0.1:9" in log.read_text()):
            assert time.monotonic() < deadline, "the first run never failed"
            assert proc.poll() is None, "the daemon ended after a failed run"
            time.sleep(0.1)
        proc.terminate()
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(
    "change, needle",
    [
        ({"glint_backup_compression": "fast"}, "off, auto or max"),
        ({"glint_backup_encryption": True}, "glint_backup_encryption_pw_file"),
        ({"glint_backup_repository": "ftp://host/x"}, "glint_backup_repository"),
        ({"glint_backup_repository": "swift:///prefix"}, "no container"),
        ({"glint_backup_repository": "s3://"}, "no bucket"),
        ({"glint_backup_repository": "swift://c", "glint_backup_dir": "/srv"}, "not both"),
        ({"glint_backup_segment_mb": 1}, "glint_backup_segment_mb"),
        ({"glint_backup_healthcheck_url": "hc.example.org/ping"}, "glint_backup_healthcheck_url"),
        ({"glint_backup_members": "sometimes"}, "glint_backup_members: expected auto, listings"),
    ],
)
def test_bad_repository_settings_are_one_line_config_errors(
    tmp_path: Path, change: dict, needle: str
) -> None:
    doc = _doc(tmp_path, **change)
    if "glint_backup_repository" in change and "glint_backup_dir" not in change:
        del doc["glint_backup_dir"]
    done = _run_raw(tmp_path, json.dumps(doc).encode())
    _one_line_config_error(done, needle)
