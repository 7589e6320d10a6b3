"""What monitoring sees of a run: Healthchecks-style pings and a Prometheus textfile.

``glint_backup_healthcheck_url`` gets ``URL/start`` when a run starts, ``URL`` when it
succeeds and ``URL/<exit code>`` when it fails (the convention of Healthchecks.io), each
with a one-line summary as the body. A ping that fails is logged and never changes the
run's exit code. ``glint_backup_metrics_file`` is rewritten atomically (temp file and
rename, 0644 so node_exporter's textfile collector can read it) after every run; the time
of the last success is carried over from the previous file when a run fails.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
import urllib.request
from pathlib import Path

from glint_backup import logsetup

PING_TIMEOUT = 10.0
METRICS_MODE = 0o644


def ping(url: str | None, suffix: str = "", body: str = "") -> None:
    if not url:
        return
    target = url.rstrip("/") + (f"/{suffix}" if suffix else "")
    request = urllib.request.Request(target, data=body.encode()[:10_000], method="POST",
                                     headers={"User-Agent": "glint-backup"})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=PING_TIMEOUT) as response:
            response.read(1024)
    except (OSError, ValueError) as e:  # URLError and HTTPError are OSErrors
        logsetup.get().warning("healthcheck ping %s failed: %s", _safe(target), e)


def _safe(url: str) -> str:
    """The ping URL's host and path: its secret uuid stays out of the log."""
    return re.sub(r"[0-9a-fA-F-]{16,}", "…", url)


def _last_success(path: Path) -> float | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    match = re.search(r"^glint_backup_last_success_timestamp_seconds\S* (\S+)$", text, re.M)
    try:
        return float(match.group(1)) if match else None
    except ValueError:
        return None


def write_metrics(path: Path | None, repository: str, exit_code: int, seconds: float,
                  summary: dict | None) -> None:  # fmt: skip
    if path is None:
        return
    now = time.time()
    last_ok = now if exit_code == 0 else _last_success(path)
    escaped = repository.replace("\\", "\\\\").replace('"', '\\"')
    label = f'{{repository="{escaped}"}}'
    summary = summary or {}
    rows = [
        ("last_run_timestamp_seconds", "gauge", "when the last run ended", now),
        ("last_success_timestamp_seconds", "gauge", "when a run last succeeded", last_ok),
        ("last_exit_code", "gauge", "exit code of the last run", exit_code),
        ("last_duration_seconds", "gauge", "how long the last run took", seconds),
        ("last_images", "gauge", "images listed by the last run", summary.get("images")),
        ("last_downloaded_bytes", "gauge", "image bytes the last run fetched",
         summary.get("downloaded_bytes")),
        ("last_stored_bytes", "gauge", "repository bytes the last run wrote",
         summary.get("stored_bytes")),
        ("last_errors", "gauge", "images the last run could not back up",
         len(summary.get("errors") or ())),
    ]  # fmt: skip
    lines = []
    for name, kind, help_text, value in rows:
        if value is None:
            continue
        lines += [f"# HELP glint_backup_{name} {help_text}", f"# TYPE glint_backup_{name} {kind}",
                  f"glint_backup_{name}{label} {float(value):.3f}"]  # fmt: skip
    _atomic_text(path, "\n".join(lines) + "\n")


def _atomic_text(path: Path, text: str) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as e:
        logsetup.get().warning("cannot write the metrics file %s: %s", path, e.strerror)
        return
    try:
        os.fchmod(fd, METRICS_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        logsetup.get().warning("cannot write the metrics file %s: %s", path, e.strerror)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
