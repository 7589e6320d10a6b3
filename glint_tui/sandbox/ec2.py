"""An EC2 emulator on loopback: moto in server mode (there is no AWS here).

``glint sandbox up --with-ec2`` and the test bed start one the same way: ``python -m
moto.server`` on 127.0.0.1, its own process (stopped by its PID, never by name), EC2 + EBS
+ STS + IAM behind one URL. What moto is not: it stores EBS blocks without checking their
checksums, keeps little of RegisterImage's arguments (it registers an AMI on a snapshot of
its own), does not copy snapshots' blocks in CopyImage, and checks no key unless started
``strict`` (then the first requests, which make an IAM user and its key, are free; every
later one must be signed by a key moto knows, and its policy is enforced).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from glint_tui.core.errors import GlintError

HOST = "127.0.0.1"
DEFAULT_ACCOUNT = "123456789012"  # moto's account when a key is not one of its IAM keys
DUMMY_KEY_ID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documentation example: not a secret
DUMMY_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
REGIONS = ("us-east-1", "eu-west-1")
INSTALL_HINT = (
    "pip install 'moto[server]' boto3 (or, in glint's checkout: pip install '.[ec2,test]')"
)


class MotoMissing(GlintError):
    exit_code = 2


class MotoServer:
    """One moto server whose files (pid, log) live in *root*."""

    def __init__(
        self,
        root: Path,
        port: int,
        *,
        strict_after: int | None = None,
        amis_file: Path | None = None,
    ) -> None:
        self.root = root
        self.port = port
        self.strict_after = strict_after  # requests moto serves before it checks keys
        self.amis_file = amis_file  # AMIs of other accounts every account sees (moto's list)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pidfile(self) -> Path:
        return self.root / "moto.pid"

    @property
    def log(self) -> Path:
        return self.root / "moto.log"

    def pid(self) -> int | None:
        try:
            return int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None

    def alive(self) -> bool:
        """True only if the pidfile's process is still our moto server (PID reuse)."""
        pid = self.pid()
        if not pid:
            return False
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False
        return b"moto.server" in cmdline and str(self.port).encode() in cmdline

    def start(self, timeout: float = 60.0) -> None:
        if self.alive():
            return
        try:
            import moto.server  # noqa: F401
        except ImportError:
            raise MotoMissing(f"the EC2 emulator needs moto: {INSTALL_HINT}") from None
        with socket.socket() as s:
            if s.connect_ex((HOST, self.port)) == 0:
                raise GlintError(f"port {self.port} on {HOST} is in use by another program")
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        env = {**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
        if self.amis_file is not None:
            env["MOTO_AMIS_PATH"] = str(self.amis_file)
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            env.pop(key, None)
        if self.strict_after is not None:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = str(self.strict_after)
        with open(self.log, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,
            )
        self.pidfile.write_text(str(proc.pid))
        self.wait_ready(timeout, proc)

    def wait_ready(self, timeout: float, proc: subprocess.Popen | None = None) -> None:
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise GlintError(f"moto exited while starting (see {self.log})")
            try:
                with urllib.request.urlopen(f"{self.url}/moto-api/data.json", timeout=5):
                    return
            except (OSError, urllib.error.URLError) as e:
                last = e
            time.sleep(0.2)
        raise GlintError(f"moto at {self.url} not ready after {timeout:.0f}s: {last}")

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM our moto (by PID), SIGKILL after *timeout*."""
        if not self.alive():
            return
        pid = self.pid()
        assert pid is not None
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(pid, os.WNOHANG)
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
        self.pidfile.unlink(missing_ok=True)
