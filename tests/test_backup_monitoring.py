"""What monitoring sees of glint-backup: healthcheck pings and the Prometheus textfile."""

from __future__ import annotations

import http.server
import re
import stat
import threading
from pathlib import Path

import pytest

from glint_backup.lock import locked
from tests.backup_helpers import run_backup, run_json, write_config

pytestmark = pytest.mark.sandbox


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: list[tuple[str, str, str]] = []
    status = 200

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        length = int(self.headers.get("Content-Length") or 0)
        self.seen.append((self.command, self.path, self.rfile.read(length).decode()))
        self.send_response(self.status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"OK")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def healthchecks():
    """A loopback HTTP server that records every ping (a stand-in for Healthchecks.io)."""
    _Recorder.seen = []
    _Recorder.status = 200
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, _Recorder
    finally:
        server.shutdown()
        server.server_close()


def _metric(text: str, name: str) -> float:
    match = re.search(rf"^glint_backup_{name}\{{[^}}]*\}} (\S+)$", text, re.M)
    assert match, f"{name} missing from:\n{text}"
    return float(match.group(1))


def test_healthcheck_pings_start_success_and_failure_with_the_exit_code(
    sandbox, tmp_path: Path, healthchecks
) -> None:
    server, recorder = healthchecks
    url = f"http://127.0.0.1:{server.server_port}/ping/0f3c9a2e-1b7d-4c55-9e21-6d8f0a4b7c13"
    metrics = tmp_path / "glint_backup.prom"
    conf = write_config(tmp_path, sandbox, glint_backup_healthcheck_url=url,
                        glint_backup_metrics_file=str(metrics))  # fmt: skip
    summary = run_json(conf)
    paths = [p for _, p, _ in recorder.seen]
    assert paths == ["/ping/0f3c9a2e-1b7d-4c55-9e21-6d8f0a4b7c13/start",
                     "/ping/0f3c9a2e-1b7d-4c55-9e21-6d8f0a4b7c13"]  # fmt: skip
    assert f"{summary['images']} image(s)" in recorder.seen[-1][2]
    text = metrics.read_text()
    assert _metric(text, "last_exit_code") == 0
    assert _metric(text, "last_images") == summary["images"]
    success = _metric(text, "last_success_timestamp_seconds")
    assert stat.S_IMODE(metrics.stat().st_mode) == 0o644  # node_exporter reads it
    assert "# TYPE glint_backup_last_duration_seconds gauge" in text
    # a failing run: /<exit code>, and the time of the last success is kept
    recorder.seen.clear()
    with locked(tmp_path / "store"):
        assert run_backup(conf).returncode == 4
    assert [p.rsplit("/", 1)[-1] for _, p, _ in recorder.seen] == ["start", "4"]
    text = metrics.read_text()
    assert _metric(text, "last_exit_code") == 4
    assert _metric(text, "last_success_timestamp_seconds") == success
    assert not list(tmp_path.glob(".glint_backup.prom.*"))  # written atomically


def test_a_failing_ping_never_fails_the_backup(sandbox, tmp_path: Path, healthchecks) -> None:
    server, recorder = healthchecks
    recorder.status = 500
    url = f"http://127.0.0.1:{server.server_port}/p"
    conf = write_config(tmp_path, sandbox, glint_backup_healthcheck_url=url)
    done = run_backup(conf)
    assert done.returncode == 0
    assert "healthcheck ping" in done.stderr  # told, not failed
    server.shutdown()
    server.server_close()  # nobody listens any more
    done = run_backup(conf)
    assert done.returncode == 0 and "healthcheck ping" in done.stderr
