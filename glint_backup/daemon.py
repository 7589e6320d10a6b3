"""``glint-backup --every 6h``: a long-running loop for hosts without cron or systemd.

Each tick is a normal run (same lock, so it also coexists with a cron job). A failing
run is logged and the loop goes on; SIGTERM/SIGINT end the loop between or during runs.
"""

from __future__ import annotations

import re
import signal
import threading
from collections.abc import Callable

from glint_backup import logsetup
from glint_backup.errors import BackupConfigError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_interval(text: str) -> int:
    """``90s``, ``30m``, ``6h``, ``1d`` (or plain seconds) -> seconds."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd]?)\s*", text or "")
    if not match or int(match.group(1)) == 0:
        raise BackupConfigError(f"--every: expected e.g. 30m, 6h or 1d, got {text!r}")
    return int(match.group(1)) * _UNITS[match.group(2) or "s"]


def loop(seconds: int, job: Callable[[], int], stop: threading.Event | None = None) -> int:
    """Run *job* now and then every *seconds* until told to stop; return the last code."""
    import schedule

    log = logsetup.get()
    stop = stop or threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: stopping after the current run", signum)
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)

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
    return last
