"""Cron-friendly logging: silent on success, WARNING+ on stderr, INFO in the log file.

The file handler is a WatchedFileHandler: after logrotate moves the file away, the next
record reopens the path, so no ``copytruncate`` or signal is needed. The log names images,
projects and hosts, so it is created (and re-created after rotation) readable by its owner
only, whatever the umask; an existing file with wider permissions is narrowed.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import stat
import sys
from pathlib import Path

LOGGER = "glint_backup"
LOG_MODE = 0o600


def _private_opener(path: str, flags: int) -> int:
    fd = os.open(path, flags, LOG_MODE)
    with contextlib.suppress(OSError):  # a file we do not own keeps its mode
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, LOG_MODE)
    return fd


class PrivateWatchedFileHandler(logging.handlers.WatchedFileHandler):
    """A WatchedFileHandler whose file is 0600 from the first byte."""

    def _open(self):  # type: ignore[override]
        return open(  # noqa: SIM115 - the handler owns and closes the stream
            self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors,
            opener=_private_opener,
        )  # fmt: skip


def setup(logfile: Path | None = None, verbose: bool = False) -> logging.Logger:
    """(Re)configure glint-backup's logger; safe to call more than once per process."""
    log = logging.getLogger(LOGGER)
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    log.setLevel(logging.INFO)
    log.propagate = False
    err = logging.StreamHandler(sys.stderr)
    err.setLevel(logging.INFO if verbose else logging.WARNING)
    err.setFormatter(logging.Formatter("glint-backup: %(levelname)s: %(message)s"))
    log.addHandler(err)
    if logfile is not None:
        try:
            fh = PrivateWatchedFileHandler(logfile, encoding="utf-8")
        except OSError as e:
            from glint_backup.errors import BackupConfigError

            raise BackupConfigError(
                f"glint_backup_logfile: cannot open {logfile}: {e.strerror}"
            ) from None
        fh.setLevel(logging.INFO)
        fh.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(message)s"))
        log.addHandler(fh)
    return log


def get() -> logging.Logger:
    return logging.getLogger(LOGGER)
