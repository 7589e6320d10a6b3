"""Cron-friendly logging: silent on success, WARNING+ on stderr, INFO in the log file.

The file handler is a WatchedFileHandler: after logrotate moves the file away, the next
record reopens the path, so no ``copytruncate`` or signal is needed.
"""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

LOGGER = "glint_backup"


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
        logfile.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.WatchedFileHandler(logfile, encoding="utf-8")
        fh.setLevel(logging.INFO)
        fh.setFormatter(logging.Formatter("%(asctime)s %(process)d %(levelname)s %(message)s"))
        log.addHandler(fh)
    return log


def get() -> logging.Logger:
    return logging.getLogger(LOGGER)
