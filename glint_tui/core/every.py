"""Run a job now and then every N seconds (``--every 6h``), with the ``schedule`` package.

For hosts without cron or systemd timers: ``glint catalog apply FILE --every 6h`` and
``glint-backup --every 6h``. Each tick is a normal run. A run that fails (an exception or
a non-zero exit code) is reported through *log* and the loop goes on: its code is in the
log, not the loop's exit. Setting *stop* (the caller's signal handler does) ends the loop
at once when idle; a run in progress is the caller's to interrupt.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL = 60  # a run every few seconds would hammer the clouds and never finish
MAX_INTERVAL = 31 * 86400
LONGEST_NAP = 60.0  # the loop wakes at least this often (a changed clock, a stop)


def parse_interval(text: str, *, minimum: int = MIN_INTERVAL) -> int:
    """``30m``, ``6h``, ``1d`` (or plain seconds), from 1 minute to 31 days -> seconds.

    Raises:
        ValueError: with the message to show after ``--every:``.
    """
    match = re.fullmatch(r"\s*(\d{1,9})\s*([smhd]?)\s*", text or "")
    if not match:
        raise ValueError(
            f"expected a number with a unit s, m, h or d (e.g. 30m, 6h, 1d), got {text!r}"
        )
    seconds = int(match.group(1)) * UNITS[match.group(2) or "s"]
    if not minimum <= seconds <= MAX_INTERVAL:
        raise ValueError(
            f"{text.strip()!r} is out of range: between 1 minute (1m) and 31 days (31d)"
        )
    return seconds


def run_every(
    seconds: float,
    job: Callable[[], int],
    stop: threading.Event,
    log: Callable[[str], None],
) -> int:
    """Run *job* now, then every *seconds*, until *stop* is set; returns the last run's
    exit code (0 before any)."""
    import schedule  # only the loop needs it

    last = 0

    def tick() -> None:
        nonlocal last
        try:
            last = job()
        except Exception as e:  # a failed run must not end the loop
            log(f"run failed: {e}")
            last = 1
        else:
            if last:
                log(f"run ended with exit code {last}; the next one is in {seconds:g} s")

    scheduler = schedule.Scheduler()
    scheduler.every(seconds).seconds.do(tick)
    tick()
    while not stop.is_set():
        scheduler.run_pending()
        idle = scheduler.idle_seconds
        stop.wait(max(0.05, min(idle if idle is not None else 1.0, LONGEST_NAP)))
    return last
