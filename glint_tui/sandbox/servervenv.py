"""The server-side virtual environment (keystone, glance, uWSGI), created on first use.

It is kept apart from glint's own install so glint stays lean: an operator who never
runs the sandbox never downloads Keystone or Glance. Versions are pinned to the ones
the sandbox is tested with. uWSGI comes as ``pyuwsgi``, its binary wheel (the uWSGI
server built as a Python extension, with the ``uwsgi`` command as its entry point), so
nothing is compiled: no C compiler or Python headers are needed. The path carries a
digest of the pins, so a change of pins builds a new environment beside the old one
instead of replacing one that a running sandbox (or test run) still uses.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import venv
from collections.abc import Callable
from pathlib import Path

import platformdirs

from glint_tui.core.errors import GlintError
from glint_tui.sandbox.pipinstall import InstallError, Meter, Step, pip_install

PINS = ("keystone==30.0.0", "glance==33.0.0", "pyuwsgi==2.0.30.post1")
EXPECTED_PACKAGES = 132  # what PINS installed on Python 3.11 (measured, 2026-12)
MARKER = ".glint-server-venv"


class ServerVenvError(GlintError):
    exit_code = 1


def server_venv_path() -> Path:
    """Shared by every profile and by the test suite: building it costs about a minute."""
    digest = hashlib.sha256("\n".join(PINS).encode()).hexdigest()[:12]
    return venv_path("GLINT_SERVER_VENV", f"server-venv-{digest}")


def venv_path(env_var: str, name: str) -> Path:
    """``$env_var`` if set, else ``<user data dir>/glint/<name>``."""
    override = os.environ.get(env_var)
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir("glint")) / name


def is_ready(path: Path, pins: tuple[str, ...] = PINS) -> bool:
    marker = path / MARKER
    return marker.exists() and marker.read_text().split() == list(pins)


def _every_quarter(progress: Callable[[str], None]) -> Meter:
    """A meter for output that is not a terminal: a line per phase and per quarter."""
    last: list[tuple[str, int]] = []

    def meter(step: Step) -> None:
        mark = (step.phase, int(4 * step.done / max(1, step.total)))
        if not last or mark != last[-1]:
            last.append(mark)
            progress("  " + step.line())

    return meter


def ensure_server_venv(
    progress: Callable[[str], None] = lambda s: None, meter: Meter | None = None
) -> Path:
    """Return the ready server venv, building it (with a progress *meter*) if needed.

    Without *meter*, progress is a few lines through *progress*.
    """
    path = server_venv_path()
    if is_ready(path):
        return path
    what = "sandbox servers"  # Keystone, Glance, uWSGI
    # never fall back to compiling uWSGI from source: say so instead
    return build_venv(
        path, PINS, progress, what, "a minute or two; nothing is compiled",
        expected=EXPECTED_PACKAGES, meter=meter, extra_args=("--only-binary", "pyuwsgi"),
    )  # fmt: skip


def build_venv(
    path: Path,
    pins: tuple[str, ...],
    progress: Callable[[str], None],
    what: str,
    how_long: str,
    *,
    expected: int = 1,
    meter: Meter | None = None,
    extra_args: tuple[str, ...] = (),
) -> Path:
    """(Re)create the venv at *path* with *pins* installed (pip's output in a log beside
    it, a progress *meter*); the marker records the pins."""
    progress(f"installing {what} into {path} (one time, {how_long})")
    started = time.monotonic()
    if path.exists():
        shutil.rmtree(path)
    venv.EnvBuilder(with_pip=True, clear=True).create(path)
    log = path.with_name(path.name + ".pip.log")
    try:
        count = pip_install(
            path, pins, log=log, expected=expected,
            meter=meter or _every_quarter(progress), extra_args=extra_args,
        )  # fmt: skip
    except InstallError as e:
        raise ServerVenvError(f"installing {what} failed: {e}") from None
    (path / MARKER).write_text("\n".join(pins) + "\n")
    progress(f"{what} installed ({count} packages in {time.monotonic() - started:.0f} s)")
    return path
