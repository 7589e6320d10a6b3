"""glint-backup's exit codes and the errors that carry them.

Cron and monitoring act on the exit code alone, so every distinct situation an operator
must handle differently (retry later, mount the disk, fix the password) has its own code.
"""

from __future__ import annotations

from glint_tui.core.errors import GlintError

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_CONFIG = 2
EXIT_PARTIAL = 3
EXIT_LOCKED = 4
EXIT_NO_STORE = 5
EXIT_AUTH = 6
EXIT_DISK_FULL = 7
EXIT_DAMAGED = 8
EXIT_INTERRUPTED = 130

EXIT_CODES = {
    EXIT_OK: "success (or nothing to do)",
    EXIT_FATAL: "fatal error (cloud unreachable, listing failed, unexpected error)",
    EXIT_CONFIG: "bad configuration, password source or command line; running as root",
    EXIT_PARTIAL: "partial: some images failed (download error, 5xx, checksum mismatch)",
    EXIT_LOCKED: "another glint-backup run holds the lock on this backup directory",
    EXIT_NO_STORE: "backup directory missing, not initialised, or not mounted",
    EXIT_AUTH: "authentication failed (Keystone refused the admin user or password)",
    EXIT_DISK_FULL: "the backup disk is full: the run stopped cleanly",
    EXIT_DAMAGED: "verify found damaged or missing objects (prune refused)",
    EXIT_INTERRUPTED: "interrupted (SIGINT/SIGTERM)",
}


class BackupError(GlintError):
    """A glint-backup failure reported as one line with its exit code."""

    exit_code = EXIT_FATAL


class BackupConfigError(BackupError):
    exit_code = EXIT_CONFIG


class Locked(BackupError):
    exit_code = EXIT_LOCKED


class NoStore(BackupError):
    exit_code = EXIT_NO_STORE


class AuthFailed(BackupError):
    exit_code = EXIT_AUTH


class DiskFull(BackupError):
    exit_code = EXIT_DISK_FULL


class Damaged(BackupError):
    exit_code = EXIT_DAMAGED
