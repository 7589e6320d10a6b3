"""``glint-backup --every 6h``: a long-running loop for hosts without cron or systemd.

Each tick is a normal run (same lock, so it also coexists with a cron job). A failing
run is logged and the loop goes on. SIGTERM/SIGINT between runs end the loop (exit 0);
during a run they interrupt it like a one-shot run (temp files removed, exit 130).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

from glint_backup import logsetup
from glint_backup.errors import BackupConfigError
from glint_tui.core import every


def parse_interval(text: str) -> int:
    """``30m``, ``6h``, ``1d`` (or plain seconds), from 1 minute to 31 days -> seconds."""
    try:
        return every.parse_interval(text)
    except ValueError as e:
        raise BackupConfigError(f"--every: {e}") from None


def loop(seconds: int, job: Callable[[], int], stop: threading.Event | None = None) -> int:
    """Run *job* now and then every *seconds* until told to stop (then return 0).

    A failed run is logged and the loop goes on: its code is in the log, not the exit.
    """
    log = logsetup.get()
    stop = stop or threading.Event()
    running = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()
        if running.is_set():
            raise KeyboardInterrupt  # the run cleans up on its way out; main exits 130
        log.info("signal %d: daemon stopped", signum)

    def guarded() -> int:
        running.set()
        try:
            return job()
        finally:
            running.clear()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return _ticks(seconds, guarded, stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _ticks(seconds: int, job: Callable[[], int], stop: threading.Event) -> int:
    log = logsetup.get()
    log.info("daemon: a run every %d s", seconds)
    last = every.run_every(seconds, job, stop, log.error)
    log.info("daemon stopped (the last run exited %d)", last)
    return 0
