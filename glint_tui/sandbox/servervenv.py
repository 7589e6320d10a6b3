"""The server-side virtual environment (keystone, glance, uwsgi), created on first use.

It is kept apart from glint's own install so glint stays lean: an operator who never
runs the sandbox never downloads Keystone or Glance. Versions are pinned to the ones
the sandbox is tested with.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import venv
from collections.abc import Callable
from pathlib import Path

import platformdirs

from glint_tui.core.errors import GlintError

PINS = ("keystone==30.0.0", "glance==33.0.0", "uwsgi==2.0.31")
MARKER = ".glint-server-venv"


class ServerVenvError(GlintError):
    exit_code = 1


def server_venv_path() -> Path:
    """Shared by every profile and by the test suite: building it costs about a minute."""
    return venv_path("GLINT_SERVER_VENV", "server-venv")


def venv_path(env_var: str, name: str) -> Path:
    """``$env_var`` if set, else ``<user data dir>/glint/<name>``."""
    override = os.environ.get(env_var)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir("glint")) / name


def is_ready(path: Path, pins: tuple[str, ...] = PINS) -> bool:
    marker = path / MARKER
    return marker.exists() and marker.read_text().split() == list(pins)


def ensure_server_venv(progress: Callable[[str], None] = lambda s: None) -> Path:
    """Return the ready server venv, building it (with visible progress) if needed."""
    path = server_venv_path()
    if is_ready(path):
        return path
    if shutil.which("gcc") is None and shutil.which("cc") is None:
        raise ServerVenvError(
            "the sandbox needs a C compiler to build uWSGI (install gcc and the Python headers)"
        )
    return build_venv(path, PINS, progress, "the sandbox server environment", "about a minute")


def build_venv(
    path: Path, pins: tuple[str, ...], progress: Callable[[str], None], what: str, how_long: str
) -> Path:
    """(Re)create the venv at *path* with *pins* installed; the marker records the pins."""
    progress(f"creating {what} in {path} (one time, {how_long})")
    if path.exists():
        shutil.rmtree(path)
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    py = path / "bin" / "python"
    cmd = [str(py), "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]
    cmd += list(pins)
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL
    )
    tail: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        tail = (tail + [line])[-30:]
        if line.startswith(("Collecting", "Building", "Installing", "Successfully")):
            progress("  " + line[:110])
    if proc.wait() != 0:
        raise ServerVenvError(f"installing {what} failed:\n" + "\n".join(tail))
    (path / MARKER).write_text("\n".join(pins) + "\n")
    progress(f"{what} ready")
    return path
