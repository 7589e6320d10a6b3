"""The sandbox Swift: its preconditions (without starting it), and `--with-swift` end to end."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import urllib.request
from pathlib import Path

import psutil
import pytest

from glint_tui.sandbox.swift import SwiftError, check_xattrs
from tests.helpers import free_port_base, run_glint


def test_xattrs_are_checked_on_the_real_sandbox_file_system(tmp_path: Path) -> None:
    check_xattrs(tmp_path / "d1")  # ext4 here: Swift can keep its metadata
    assert list((tmp_path / "d1").iterdir()) == []  # the probe is removed


def test_a_file_system_without_xattrs_is_refused_with_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fake: os.setxattr answers ENOTSUP, as on a file system without user xattrs."""

    def refuse(*_args: object) -> None:
        raise OSError(errno.ENOTSUP, os.strerror(errno.ENOTSUP))

    monkeypatch.setattr(os, "setxattr", refuse)
    with pytest.raises(SwiftError) as info:
        check_xattrs(tmp_path / "d1")
    message = str(info.value)
    assert "extended attributes" in message and str(tmp_path / "d1") in message
    assert "GLINT_HOME" in message


@pytest.mark.sandbox
def test_glint_sandbox_up_with_swift_as_a_user_runs_it(tmp_path: Path) -> None:
    """`glint sandbox up --with-swift` in its own GLINT_HOME on free ports: status shows a
    Swift that answers (Swift and S3 APIs), and `glint sandbox down` stops every process."""
    env = dict(os.environ, GLINT_HOME=str(tmp_path / "home"))
    env.pop("GLINT_PROFILE", None)
    base = free_port_base(1)

    def glint(*args: str) -> subprocess.CompletedProcess[str]:
        return run_glint(env, *args, timeout=600)

    up = glint("sandbox", "up", "-n", "1", "--no-seed", "--with-swift", "--port-base", str(base))
    try:
        assert up.returncode == 0, up.stderr
        assert f"Swift http://127.0.0.1:{base + 12}" in up.stderr
        status = json.loads(glint("sandbox", "status", "--json").stdout)
        swift = status[0]["swift"]
        assert swift["running"] and swift["url"] == f"http://127.0.0.1:{base + 12}"
        with urllib.request.urlopen(swift["url"] + "/info", timeout=30) as answer:
            info = json.loads(answer.read())
        assert "swift" in info and "s3api" in info  # the S3 API is the same server's
        pids = [p for p in swift["pids"].values() if p]
        assert len(pids) == 4  # account, container, object, proxy
        assert "swift" in glint("sandbox", "status").stdout
        assert glint("sandbox", "down").returncode == 0
        assert not any(
            psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids
        )
        after = json.loads(glint("sandbox", "status", "--json").stdout)
        assert not after[0]["swift"]["running"]
    finally:
        glint("sandbox", "wipe")
    assert not (tmp_path / "home" / "profiles" / "sandbox").exists()
