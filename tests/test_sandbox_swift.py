"""The sandbox Swift's preconditions, without starting it."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from glint_tui.sandbox.swift import SwiftError, check_xattrs


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
