"""``pip install`` into a venv with a progress meter an operator can read, not pip's noise.

pip says little while it works: one ``Collecting``/``Processing`` line per package it
resolves and fetches, then one ``Installing collected packages: a, b, …`` line naming
all N, then nothing until it is done. So the meter counts the packages fetched (of about
``expected``, a figure measured for the pins; the exact N once pip names them), then
the packages installed (``*.dist-info`` directories appearing in site-packages, which
pip writes as it finishes each one). The time left is extrapolated from the elapsed
time and the fraction done, with each phase weighted by its measured share of the
whole, and only once there is something to extrapolate from.

pip's own output goes to a log file; on failure the error carries its tail and the
log's path.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from glint_tui.core.errors import GlintError

# of the wall time: fetching is most of it (measured without pip's cache: 64 s of 67 s,
# 98 s of 103 s; with a warm cache about 30 s of 50 s)
FETCH_SHARE = 0.85
QUIET_AFTER = 5.0  # seconds without a line from pip before the meter says it waits
TAIL_LINES = 20
_NAME = re.compile(r"^(?:Collecting|Processing)\s+(?:\S*/)?([A-Za-z0-9][A-Za-z0-9._-]*)")
_FILE_VERSION = re.compile(r"-\d.*$")  # "mdurl-0.1.2-py3-none-any.whl" -> "mdurl"


class InstallError(GlintError):
    exit_code = 1


@dataclass(frozen=True)
class Step:
    """Where the install is, for a one-line meter."""

    phase: str  # "fetching" | "installing"
    done: int
    total: int
    exact: bool  # False while the total is the measured estimate
    current: str  # the package pip is on
    elapsed: float
    seconds_left: float | None
    waiting: float = 0.0  # seconds since pip last said anything, once that is long

    @property
    def fraction(self) -> float:
        share = FETCH_SHARE if self.phase == "fetching" else 1 - FETCH_SHARE
        start = 0.0 if self.phase == "fetching" else FETCH_SHARE
        return min(1.0, start + share * self.done / max(1, self.total))

    def line(self, width: int = 20) -> str:
        """``[######······] 57/~130 packages fetched (oslo.config) · about 25 s left``."""
        filled = round(width * self.fraction)
        bar = "#" * filled + "." * (width - filled)
        total = f"{'' if self.exact else '~'}{self.total}"
        verb = "fetched" if self.phase == "fetching" else "installed"
        text = f"[{bar}] {self.done}/{total} packages {verb}"
        if self.current:
            text += f" ({self.current})"
        if self.waiting:
            text += f" · pip waiting {self.waiting:.0f} s"
        if self.seconds_left is not None:
            text += f" · about {_round_seconds(self.seconds_left)} left"
        return text


Meter = Callable[[Step], None]


def _round_seconds(seconds: float) -> str:
    if seconds >= 90:
        return f"{round(seconds / 60)} min"
    return f"{max(5, 5 * round(seconds / 5))} s"


def _site_packages(venv: Path) -> Path | None:
    found = sorted((venv / "lib").glob("python*/site-packages"))
    return found[0] if found else None


def _dist_infos(site: Path | None) -> int:
    return sum(1 for _ in site.glob("*.dist-info")) if site else 0


class _Tracker:
    """Turns pip's lines (and site-packages) into Steps."""

    def __init__(self, venv: Path, expected: int, meter: Meter) -> None:
        self.meter = meter
        self.expected = expected
        self.started = time.monotonic()
        self.fetched: list[str] = []
        self.to_install: list[str] = []
        self.site = _site_packages(venv)
        self.baseline = _dist_infos(self.site)  # pip and setuptools of the fresh venv
        self.lock = threading.Lock()
        self.last_line = self.started
        self.last: tuple[str, int, int, bool, str] | None = None

    def line(self, text: str) -> None:
        self.last_line = time.monotonic()
        match = _NAME.match(text)
        if match and not self.to_install:
            self.fetched.append(_FILE_VERSION.sub("", match.group(1)))
            self.expected = max(self.expected, len(self.fetched) + 1)
            self._report("fetching", len(self.fetched), self.expected, False, self.fetched[-1])
        elif text.startswith("Installing collected packages:"):
            names = text.split(":", 1)[1]
            self.to_install = [n.strip() for n in names.split(",") if n.strip()]
            self.installed()

    def tick(self) -> None:
        """Between pip's lines: the install phase's progress, else the time still moves."""
        if self.to_install:
            self.installed()
        elif self.last is not None:
            self._report(*self.last)

    def installed(self) -> None:
        """One look at site-packages during the install phase."""
        if not self.to_install:
            return
        total = len(self.to_install)
        done = max(0, min(total, _dist_infos(self.site) - self.baseline))
        current = self.to_install[min(done, total - 1)]
        self._report("installing", done, total, True, current)

    def _report(self, phase: str, done: int, total: int, exact: bool, current: str) -> None:
        self.last = (phase, done, total, exact, current)
        now = time.monotonic()
        elapsed = now - self.started
        quiet = now - self.last_line
        waiting = quiet if quiet >= QUIET_AFTER and phase == "fetching" else 0.0
        step = Step(phase, done, total, exact, current, elapsed, None, waiting)
        fraction = step.fraction
        if fraction >= 0.05 and elapsed >= 3:
            left = elapsed * (1 - fraction) / fraction
            step = Step(phase, done, total, exact, current, elapsed, left, waiting)
        with self.lock:
            self.meter(step)


def pip_install(
    venv: Path,
    requirements: tuple[str, ...],
    *,
    log: Path,
    expected: int,
    meter: Meter,
    extra_args: tuple[str, ...] = (),
) -> int:
    """Install *requirements* with the venv's pip; returns the number of packages installed.

    Raises InstallError (with the tail of pip's output and the log's path) if pip fails.
    """
    cmd = [str(venv / "bin" / "python"), "-m", "pip", "install"]
    cmd += ["--disable-pip-version-check", "--progress-bar", "off", "--no-input"]
    cmd += [*extra_args, *requirements]
    tracker = _Tracker(venv, expected, meter)
    log.parent.mkdir(parents=True, exist_ok=True)
    tail: list[str] = []
    stop = threading.Event()

    def watch() -> None:  # pip prints nothing while it installs: look at site-packages
        while not stop.wait(0.5):
            tracker.tick()

    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},  # else pip's lines come in bursts
        )  # fmt: skip
        watcher = threading.Thread(target=watch, name="pip-install-watch", daemon=True)
        watcher.start()
        assert proc.stdout is not None
        try:
            for raw in proc.stdout:
                out.write(raw)
                line = raw.rstrip()
                tail = (tail + [line])[-TAIL_LINES:]
                tracker.line(line)
        finally:
            code = proc.wait()
            stop.set()
            watcher.join()
    tracker.installed()  # the last look: all of them, when pip succeeded
    if code != 0:
        raise InstallError(
            f"pip failed (exit {code}); its last lines:\n"
            + "\n".join("  " + t for t in tail)
            + f"\nfull log: {log}"
        )
    return len(tracker.to_install)
