"""``glint-backup --every 6h``: a long-running loop for hosts without cron or systemd.

Each tick is a normal run (same lock, so it also coexists with a cron job). A failing
run is logged and the loop goes on. SIGTERM/SIGINT between runs end the loop (exit 0);
during a run they interrupt it like a one-shot run (temp files removed, exit 130).
"""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Callable

from glint_backup import logsetup
from glint_backup.errors import BackupConfigError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL = 60  # a backup every few seconds would hammer Glance and never finish
MAX_INTERVAL = 31 * 86400


def parse_interval(text: str) -> int:
    """``30m``, ``6h``, ``1d`` (or plain seconds), from 1 minute to 31 days -> seconds."""
    match = re.fullmatch(r"\s*(\d{1,9})\s*([smhd]?)\s*", text or "")
    if not match:
        raise BackupConfigError(
            f"--every: expected a number with a unit s, m, h or d (e.g. 30m, 6h, 1d), got {text!r}"
        )
    seconds = int(match.group(1)) * _UNITS[match.group(2) or "s"]
    if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
        raise BackupConfigError(
            f"--every: {text.strip()!r} is out of range: between 1 minute (1m) and 31 days (31d)"
        )
    return seconds


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
    import schedule

    log = logsetup.get()
    last = 0

    def tick() -> None:
        nonlocal last
        try:
            last = job()
        except Exception as e:  # a failed run must not end the loop
            log.error("run failed: %s", e)
            last = 1

    scheduler = schedule.Scheduler()
    scheduler.every(seconds).seconds.do(tick)
    log.info("daemon: a run every %d s", seconds)
    tick()
    while not stop.is_set():
        scheduler.run_pending()
        idle = scheduler.idle_seconds
        stop.wait(max(0.05, min(idle if idle is not None else 1.0, 60.0)))
    log.info("daemon stopped (the last run exited %d)", last)
    return 0
