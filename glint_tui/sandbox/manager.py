"""``glint sandbox up|down|status|wipe``: N real clouds, their repositories and sample images.

Everything lives in the sandbox profile (``paths_for("sandbox")``): the clouds' files,
the repositories, the credentials and an encrypted keyring whose master password is a
0600 file in that profile. The operator's own configuration is never read or written.
"""

from __future__ import annotations

import json
import os
import secrets as pysecrets
import shutil
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from glint_tui.core.errors import GlintError
from glint_tui.core.fsutil import atomic_write_bytes, atomic_write_json
from glint_tui.core.model import Credential, ProjectRef, Repository
from glint_tui.core.paths import SANDBOX_PROFILE, Paths, paths_for
from glint_tui.sandbox.cloud import (
    ADMIN_PASSWORD,
    HOST,
    MEMBERS,
    Cloud,
    migrated_template,
)
from glint_tui.sandbox.ec2 import DEFAULT_ACCOUNT as EC2_ACCOUNT
from glint_tui.sandbox.ec2 import DUMMY_KEY_ID, DUMMY_SECRET, MotoServer
from glint_tui.sandbox.ec2 import REGIONS as EC2_REGIONS
from glint_tui.sandbox.pipinstall import Meter
from glint_tui.sandbox.servervenv import ensure_server_venv, server_venv_path
from glint_tui.sandbox.shapes import PLAIN, Shape, describe_glances, load_shape, settle_shape

DEFAULT_PORT_BASE = 25000
MAX_CLOUDS = 9
Progress = Callable[[str], None]


class SandboxError(GlintError):
    exit_code = 1


def _quiet(_: str) -> None:
    pass


class Sandbox:
    """The sandbox clouds of one profile. State (port base, count) is kept in sandbox.json."""

    def __init__(self, paths: Paths | None = None, port_base: int | None = None):
        self.paths = paths or paths_for(SANDBOX_PROFILE)
        self.root = self.paths.data_dir / "clouds"
        state = self._state()
        env_base = os.environ.get("GLINT_SANDBOX_PORT_BASE")
        self.port_base = int(port_base or state.get("port_base") or env_base or DEFAULT_PORT_BASE)
        self.count = int(state.get("count", 0))
        self.shape = load_shape(self.root) or PLAIN
        self.with_swift = bool(state.get("swift", False))
        self.with_ec2 = bool(state.get("ec2", False))  # up --with-ec2 once: moto on every up

    # -- state --------------------------------------------------------------------------
    @property
    def state_file(self) -> Path:
        return self.root / "sandbox.json"

    def _state(self) -> dict[str, Any]:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return {}

    def _save_state(self) -> None:
        atomic_write_json(
            self.state_file,
            {
                "port_base": self.port_base,
                "count": self.count,
                "swift": self.with_swift,
                "ec2": self.with_ec2,
            },
        )

    @property
    def clouds(self) -> list[Cloud]:
        venv = server_venv_path()
        return [
            Cloud(self.root, i, self.port_base, venv, self.shape) for i in range(1, self.count + 1)
        ]

    def cloud(self, name: str) -> Cloud:
        for c in self.clouds:
            if c.name == name:
                return c
        raise SandboxError(f"no sandbox cloud named {name!r}")

    # -- lifecycle ----------------------------------------------------------------------
    def swift(self):  # -> sandbox.swift.Swift
        """The Swift beside cloud c1 (``up --with-swift``); its venv is built on first use."""
        from glint_tui.sandbox.swift import Swift, swift_venv_path

        return Swift(self.cloud("c1"), swift_venv_path())

    def start_swift(self, progress: Progress = _quiet):  # -> sandbox.swift.Swift
        """Build Swift's venv if needed, register it in c1's Keystone, start it."""
        from glint_tui.sandbox.swift import ensure_swift_venv

        ensure_swift_venv(progress)
        self.with_swift = True
        self._save_state()
        server = self.swift()
        server.up(progress)
        return server

    def up(
        self,
        count: int | None = None,
        seed: bool = True,
        progress: Progress = _quiet,
        shape: Shape | None = None,
        meter: Meter | None = None,
        with_swift: bool = False,
        with_ec2: bool = False,
    ) -> None:
        """Start *count* clouds (default: as many as before, else 3); idempotent.

        *shape* (regions, stores of c1) is fixed when the sandbox is created; None keeps it.
        *with_swift* and *with_ec2* are remembered: every later ``up`` starts them too.
        *meter* shows the first run's install of the servers (else: a few progress lines).
        """
        count = count or self.count or 3
        if not 1 <= count <= MAX_CLOUDS:
            raise SandboxError(f"the sandbox runs 1 to {MAX_CLOUDS} clouds, not {count}")
        started = time.monotonic()
        exists = self.count > 0 and Cloud(self.root, 1, self.port_base, Path()).initialised
        self.shape = settle_shape(self.root, shape, exists)
        venv = ensure_server_venv(progress, meter)
        self.count = max(count, self.count)
        clouds = self.clouds[:count]
        self._check_ports(clouds)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._save_state()
        template = migrated_template(self.root, venv, self.port_base)

        def bring_up(cloud: Cloud) -> None:
            from glint_tui.sandbox.identity import register

            cloud.write_configs()
            fresh = not cloud.initialised
            if fresh:
                shutil.rmtree(cloud.data, ignore_errors=True)
                cloud.write_configs()
                cloud.initialise(template)
            cloud.start("keystone")
            cloud.wait_ready("keystone")
            if fresh:
                register(cloud)
            glances = [g.service for g in cloud.glances]
            for service in glances:
                cloud.start(service)
            for service in glances:
                cloud.wait_ready(service)
            (cloud.dir / "ready").touch()
            progress(f"{cloud.name}: Keystone {cloud.keystone_url}  {describe_glances(cloud)}")

        progress(f"starting {count} sandbox cloud(s) on {HOST} …")
        with ThreadPoolExecutor(count) as pool:
            for future in [pool.submit(bring_up, c) for c in clouds]:
                future.result()
        self.register_repositories(clouds)
        if with_swift or self.with_swift:
            self.start_swift(progress)
        if with_ec2 or self.with_ec2:
            self.up_ec2(progress)
        if seed:
            from glint_tui.sandbox.seed import seed_clouds

            seed_clouds(self, clouds, progress)
        progress(f"sandbox up in {time.monotonic() - started:.1f}s (profile: {self.paths.profile})")

    def _check_ports(self, clouds: list[Cloud]) -> None:
        for cloud in clouds:
            for service, port in cloud.ports:
                if cloud.alive(service):
                    continue
                with socket.socket() as s:
                    if s.connect_ex((HOST, port)) == 0:
                        raise SandboxError(
                            f"port {port} on {HOST} is in use by another program; "
                            "choose other ports with `glint sandbox up --port-base N`"
                        )

    def down(self, progress: Progress = _quiet) -> None:
        """Stop only the processes this sandbox started (by the PIDs in its pidfiles)."""
        if self.with_swift and self.count:
            self.swift().stop()
        with ThreadPoolExecutor(max(1, len(self.clouds))) as pool:
            list(pool.map(lambda c: c.stop(), self.clouds))
        self.moto.stop()
        progress(f"stopped {len(self.clouds)} sandbox cloud(s)")

    def wipe(self, progress: Progress = _quiet) -> None:
        """Stop, then delete the clouds and the sandbox profile's repositories and secrets."""
        self.down(progress)
        profile_root = self.paths.config_dir.parent
        for d in (self.root, self.paths.config_dir, self.paths.cache_dir, self.paths.state_dir):
            shutil.rmtree(d, ignore_errors=True)
        if profile_root.name == SANDBOX_PROFILE:
            shutil.rmtree(profile_root, ignore_errors=True)
        self.count = 0
        self.with_ec2 = False
        progress("sandbox wiped")

    def status(self) -> list[dict[str, Any]]:
        rows = []
        for c in self.clouds:
            row: dict[str, Any] = {"name": c.name}
            k = "keystone"
            row[k] = {"url": c.keystone_url, "pid": c.pid(k), "running": c.alive(k)}
            for g in c.glances:  # "glance" (RegionOne), then "glance2" … in a shaped cloud
                s = g.service
                row[s] = {"url": g.url, "pid": c.pid(s), "running": c.alive(s),
                          "region": g.region, "stores": list(g.stores)}  # fmt: skip
            if self.with_swift and c.name == "c1":
                row["swift"] = self.swift().status()
            rows.append(row)
        return rows

    @property
    def running(self) -> bool:
        clouds = self.count > 0 and all(c.alive(s) for c in self.clouds for s in c.services)
        return clouds and (not self.with_ec2 or self.moto.alive())

    # -- glint's view of it --------------------------------------------------------------
    def member_credentials(self, cloud: Cloud) -> list[tuple[Credential, str]]:
        return [
            (Credential(cloud.name, project, user), password) for user, password, project in MEMBERS
        ]

    def admin_credential(self, cloud: Cloud) -> tuple[Credential, str]:
        return Credential(cloud.name, "admin", "admin"), ADMIN_PASSWORD

    def repository(self, cloud: Cloud) -> Repository:
        return Repository(
            name=cloud.name,
            auth_url=cloud.keystone_url + "/v3",
            description=f"glint sandbox cloud {cloud.name} (Keystone + Glance on {HOST})",
            region="RegionOne",
        )

    def _master_password_file(self) -> None:
        password_file = self.paths.config_dir / "keyring-password"
        if not password_file.exists():
            atomic_write_bytes(password_file, pysecrets.token_urlsafe(32).encode(), 0o600)

    def register_repositories(self, clouds: list[Cloud]) -> None:
        """Write the sandbox clouds and member credentials into the sandbox profile."""
        from glint_tui.core.config import ConfigStore
        from glint_tui.core.secrets import SecretStore

        self.paths.ensure()
        self._master_password_file()
        store = ConfigStore(self.paths)
        secrets = SecretStore(self.paths)
        known = {r.name for r in store.repositories()}
        creds = {(c.repository, c.project, c.username) for c in store.credentials()}
        for cloud in clouds:
            if cloud.name not in known:
                store.add_repository(self.repository(cloud))
            for cred, password in self.member_credentials(cloud):
                secrets.set(cred.secret_key, password)
                if (cred.repository, cred.project, cred.username) not in creds:
                    store.add_credential(cred)

    # -- the EC2 emulator (--with-ec2) -------------------------------------------------
    @property
    def moto(self) -> MotoServer:
        """The sandbox's EC2 emulator: port BASE+9 (the clouds use BASE+10N…)."""
        return MotoServer(self.root / "ec2", self.port_base + 9)

    def up_ec2(self, progress: Progress = _quiet) -> None:
        """Start moto and register it as repository ``ec2`` (regions us-east-1 and
        eu-west-1) with moto's dummy keys, in the sandbox profile; every later ``up``
        starts it again (moto keeps its AMIs in memory: they are gone after ``down``)."""
        self.with_ec2 = True
        self._save_state()
        self.moto.start()
        self.register_ec2(self.moto.url)
        progress(f"ec2: EC2 emulator (moto) {self.moto.url}, regions {', '.join(EC2_REGIONS)}")

    def register_ec2(self, url: str, name: str = "ec2") -> Repository:
        """Repository *name* for the emulator at *url*, and its dummy-key credential."""
        from glint_tui.core.config import ConfigStore
        from glint_tui.core.secrets import SecretStore

        self.paths.ensure()
        self._master_password_file()
        store = ConfigStore(self.paths)
        repo = Repository(
            name=name,
            auth_url="",
            cloud_type="ec2",
            description=f"glint sandbox EC2 emulator (moto on {HOST})",
            regions=EC2_REGIONS,
            endpoint_url=url,
        )
        if not store.has_repository(name):
            store.add_repository(repo)
        cred = Credential(name, EC2_ACCOUNT, DUMMY_KEY_ID, auth_type="access_key")
        SecretStore(self.paths).set(cred.secret_key, DUMMY_SECRET)
        store.add_credential(cred, replace_existing=True)
        return repo

    def refs(self, clouds: list[Cloud] | None = None) -> list[ProjectRef]:
        return [cred.ref for c in (clouds or self.clouds) for cred, _ in self.member_credentials(c)]


def ensure_sandbox_running(
    progress: Progress = _quiet, count: int = 3, meter: Meter | None = None
) -> Sandbox:
    """What ``glint --sandbox`` does first: bring the clouds up unless they already run."""
    sandbox = Sandbox()
    if not sandbox.running:
        sandbox.up(count, progress=progress, meter=meter)
    return sandbox
