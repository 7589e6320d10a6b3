"""A real OpenStack Swift beside sandbox cloud c1: ``glint sandbox up --with-swift``.

Swift 2.38 from PyPI in its own venv (built on first use, like the Keystone/Glance one),
on loopback: account, container and object servers with one replica on one device, and a
proxy whose pipeline authenticates against c1's Keystone (keystonemiddleware's authtoken +
Swift's keystoneauth) and also speaks S3 (Swift's s3api + s3token, which checks S3
signatures against Keystone EC2 credentials). Ports: the cloud's BASE+10N+2 (proxy) to
BASE+10N+5. Swift keeps object metadata in extended attributes, so the device directory's
file system is checked for them first and the error says so plainly.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from glint_tui.core.errors import GlintError
from glint_tui.sandbox.cloud import HOST, Cloud, _reap, _write, wait_http
from glint_tui.sandbox.servervenv import build_venv, is_ready, venv_path

PINS = ("swift==2.38.3", "keystonemiddleware==13.0.1")
SERVERS = ("account", "container", "object", "proxy")
SERVICE_USER = "swift"
SERVICE_PASSWORD = "swift-pass"
S3_REGION = "us-east-1"  # s3api's default location; boto3 signs for it


class SwiftError(GlintError):
    exit_code = 1


def swift_venv_path() -> Path:
    return venv_path("GLINT_SWIFT_VENV", "swift-venv")


def ensure_swift_venv(progress: Callable[[str], None] = lambda s: None) -> Path:
    path = swift_venv_path()
    if is_ready(path, PINS):
        return path
    return build_venv(path, PINS, progress, "the sandbox Swift environment", "about 30 s")


def check_xattrs(directory: Path) -> None:
    """Swift stores object metadata in user.* extended attributes: refuse early without."""
    directory.mkdir(parents=True, exist_ok=True)
    probe = directory / ".xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.swift.probe", b"x" * 254)  # Swift writes 254-byte pieces
    except OSError as e:
        raise SwiftError(
            f"Swift needs extended attributes (user.* xattrs) on the file system of {directory}, "
            f"and it refused them ({e.strerror}); put the sandbox on ext4, xfs or btrfs "
            "(or a tmpfs of Linux 6.6+), for example with GLINT_HOME=/path/on/ext4"
        ) from None
    finally:
        probe.unlink()


class Swift:
    """Files, ports and processes of the Swift that authenticates against *cloud*."""

    def __init__(self, cloud: Cloud, venv: Path):
        self.cloud = cloud
        self.venv = venv
        self.dir = cloud.dir / "swift"
        self.ports = {name: cloud.keystone_port + 2 + i for i, name in enumerate(
            ("proxy", "account", "container", "object"))}  # fmt: skip
        self.url = f"http://{HOST}:{self.ports['proxy']}"

    @property
    def etc(self) -> Path:
        return self.dir / "etc"

    @property
    def devices(self) -> Path:
        return self.dir / "srv"

    def conf(self, server: str) -> Path:
        return self.etc / f"{server}-server.conf"

    def pidfile(self, server: str) -> Path:
        return self.dir / "run" / f"{server}.pid"

    def log(self, server: str) -> Path:
        return self.dir / "log" / f"{server}.log"

    def storage_url(self, project_id: str) -> str:
        return f"{self.url}/v1/AUTH_{project_id}"

    # -- configuration ------------------------------------------------------------------
    def write_configs(self) -> None:
        for d in (self.etc, self.devices / "d1", self.dir / "run", self.dir / "log"):
            d.mkdir(parents=True, exist_ok=True)
        check_xattrs(self.devices / "d1")
        hash_file = self.etc / "hash"
        if not hash_file.exists():
            hash_file.write_text(secrets.token_hex(16))
        _write(self.etc / "swift.conf", f"""
            [swift-hash]
            swift_hash_path_suffix = {hash_file.read_text()}
            [storage-policy:0]
            name = Policy-0
            default = yes
            """)  # fmt: skip
        common = f"""
            [DEFAULT]
            bind_ip = {HOST}
            workers = 0
            swift_dir = {self.etc}
            devices = {self.devices}
            mount_check = false
            disable_fallocate = true
            log_level = WARNING
            """
        for server in ("account", "container", "object"):
            _write(self.conf(server), f"""{common}
            bind_port = {self.ports[server]}
            [pipeline:main]
            pipeline = {server}-server
            [app:{server}-server]
            use = egg:swift#{server}
            """)  # fmt: skip
        _write(self.conf("proxy"), self._proxy_conf(common))
        self._build_rings()

    def _proxy_conf(self, common: str) -> str:
        keystone = self.cloud.keystone_url
        service_auth = f"""
            auth_type = password
            auth_url = {keystone}/v3
            project_domain_name = Default
            user_domain_name = Default
            project_name = service
            username = {SERVICE_USER}
            password = {SERVICE_PASSWORD}
            """
        return f"""{common}
            bind_port = {self.ports["proxy"]}
            [pipeline:main]
            pipeline = catch_errors gatekeeper healthcheck proxy-logging listing_formats bulk
                authtoken s3api s3token keystoneauth copy slo dlo proxy-logging proxy-server
            [app:proxy-server]
            use = egg:swift#proxy
            account_autocreate = true
            [filter:catch_errors]
            use = egg:swift#catch_errors
            [filter:gatekeeper]
            use = egg:swift#gatekeeper
            [filter:healthcheck]
            use = egg:swift#healthcheck
            [filter:proxy-logging]
            use = egg:swift#proxy_logging
            [filter:listing_formats]
            use = egg:swift#listing_formats
            [filter:bulk]
            use = egg:swift#bulk
            [filter:copy]
            use = egg:swift#copy
            [filter:slo]
            use = egg:swift#slo
            [filter:dlo]
            use = egg:swift#dlo
            [filter:s3api]
            use = egg:swift#s3api
            location = {S3_REGION}
            [filter:s3token]
            use = egg:swift#s3token
            auth_uri = {keystone}/v3
            secret_cache_duration = 0
            {service_auth}
            [filter:authtoken]
            paste.filter_factory = keystonemiddleware.auth_token:filter_factory
            www_authenticate_uri = {keystone}/v3
            delay_auth_decision = true
            include_service_catalog = false
            {service_auth}
            [filter:keystoneauth]
            use = egg:swift#keystoneauth
            operator_roles = admin, member
            reseller_admin_role = ResellerAdmin
            """

    def _build_rings(self) -> None:
        builder = str(self.venv / "bin" / "swift-ring-builder")
        for ring in ("account", "container", "object"):
            if (self.etc / f"{ring}.ring.gz").exists():
                continue
            path = str(self.etc / f"{ring}.builder")
            device = f"r1z1-{HOST}:{self.ports[ring]}/d1"
            for args in (["create", "4", "1", "1"], ["add", device, "100"], ["rebalance"]):
                done = subprocess.run([builder, path, *args], capture_output=True, text=True)
                # rebalance exits 1 with a warning when nothing moved: the ring exists though
                if done.returncode not in (0, 1) or (done.returncode and args != ["rebalance"]):
                    raise SwiftError(f"swift-ring-builder {ring} {args[0]} failed: {done.stdout}")

    def register(self) -> None:
        """The swift service user, the object-store service and its endpoints in Keystone."""
        from glint_tui.sandbox.identity import register_swift

        register_swift(self.cloud, self.url + "/v1/AUTH_$(project_id)s", SERVICE_USER,
                       SERVICE_PASSWORD)  # fmt: skip

    # -- processes ------------------------------------------------------------------------
    def pid(self, server: str) -> int | None:
        try:
            return int(self.pidfile(server).read_text().strip())
        except (OSError, ValueError):
            return None

    def alive(self, server: str) -> bool:
        """Our process only: its command line names our config file (guards PID reuse)."""
        pid = self.pid(server)
        if not pid:
            return False
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return str(self.conf(server)).encode() in cmdline

    def start(self) -> None:
        for server in SERVERS:
            if self.alive(server):
                continue
            exe = self.venv / "bin" / f"swift-{server}-server"
            with open(self.log(server), "ab") as log:
                proc = subprocess.Popen(
                    [str(exe), str(self.conf(server)), "--verbose"],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                    start_new_session=True,
                )  # fmt: skip
            self.pidfile(server).write_text(f"{proc.pid}\n")

    def wait_ready(self, timeout: float = 120.0) -> None:
        wait_http(self.url + "/healthcheck", timeout, log=self.log("proxy"))

    def stop(self, timeout: float = 15.0) -> None:
        live = [(s, self.pid(s)) for s in SERVERS if self.alive(s)]
        for _, pid in live:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for server, pid in live:
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                _reap(pid)
                if not self.alive(server):
                    break
                time.sleep(0.05)
            if self.alive(server):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pid, signal.SIGKILL)
            _reap(pid)

    def up(self, progress: Callable[[str], None]) -> None:
        self.write_configs()
        if not (self.dir / "registered").exists():
            self.register()
            (self.dir / "registered").touch()
        self.start()
        self.wait_ready()
        progress(f"{self.cloud.name}: Swift {self.url} (Swift API /v1, S3 API /)")

    def status(self) -> dict[str, object]:
        return {"url": self.url, "running": all(self.alive(s) for s in SERVERS),
                "pids": {s: self.pid(s) for s in SERVERS}}  # fmt: skip
