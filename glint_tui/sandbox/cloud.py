"""One sandbox cloud: Keystone + Glance under uWSGI, SQLite, file store, loopback only."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import textwrap
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from cryptography.fernet import Fernet

from glint_tui.sandbox import shapes
from glint_tui.sandbox.shapes import HOST, PLAIN, GlanceSite, Shape

REGION = "RegionOne"
ADMIN_PASSWORD = "admin-pass"
GLANCE_SERVICE_PASSWORD = "glance-pass"
PROJECTS = ("alpha", "beta")
# (user, password, project): a non-admin member per project
MEMBERS = (("alice", "alice-pass", "alpha"), ("bob", "bob-pass", "beta"))
SERVICES = ("keystone", "glance")


class Cloud:
    """Files, ports and processes of one cloud, ``c<N>`` under *root*."""

    def __init__(self, root: Path, index: int, port_base: int, venv: Path, shape: Shape = PLAIN):
        self.index = index
        self.name = f"c{index}"
        self.venv = venv
        self.dir = root / self.name
        self.keystone_port = port_base + 10 * index
        self.glance_port = port_base + 10 * index + 1
        self.keystone_url = f"http://{HOST}:{self.keystone_port}"
        self.glance_url = f"http://{HOST}:{self.glance_port}"
        self.glances: list[GlanceSite] = shapes.glance_sites(self, shape)

    @property
    def services(self) -> tuple[str, ...]:
        """Keystone, then one Glance per region (``glance``, ``glance2``, …)."""
        return ("keystone", *(g.service for g in self.glances))

    @property
    def ports(self) -> list[tuple[str, int]]:
        return [("keystone", self.keystone_port), *((g.service, g.port) for g in self.glances)]

    def glance(self, service: str) -> GlanceSite:
        return next(g for g in self.glances if g.service == service)

    # -- layout -------------------------------------------------------------------------
    @property
    def data(self) -> Path:
        return self.dir / "data"

    @property
    def image_store(self) -> Path:
        """Glance's file store: one file per image id (tests corrupt these on purpose)."""
        return self.data / "images"

    def etc(self, service: str) -> Path:
        return self.dir / "etc" / service

    def pidfile(self, service: str) -> Path:
        return self.dir / "run" / f"{service}.pid"

    def log(self, service: str) -> Path:
        return self.dir / "log" / f"uwsgi-{service}.log"

    def ini(self, service: str) -> Path:
        return self.etc(service) / "uwsgi.ini"

    def service_env(self, service: str) -> dict[str, str]:
        """Where the service finds its configuration. In the process environment, not
        the ini's ``env =``: pyuwsgi's Python has read os.environ before uWSGI sets it."""
        if service == "keystone":
            return {"OS_KEYSTONE_CONFIG_DIR": str(self.etc(service))}
        return {"OS_GLANCE_CONFIG_DIR": str(self.etc(service))}

    # -- configuration ------------------------------------------------------------------
    def write_configs(self) -> None:
        d = self.data
        for site in self.glances:
            for sub in ("staging", "tasks", "cache", "locks"):
                (site.data / sub).mkdir(parents=True, exist_ok=True)
            for store in site.stores:
                site.store_dir(store).mkdir(parents=True, exist_ok=True)
        for sub in ("fernet-keys", "credential-keys"):
            (d / sub).mkdir(parents=True, exist_ok=True, mode=0o700)
        for p in (*map(self.etc, self.services), self.dir / "log", self.dir / "run"):
            p.mkdir(parents=True, exist_ok=True)
        logs = self.dir / "log"
        _write(
            self.etc("keystone") / "keystone.conf",
            f"""
            [DEFAULT]
            debug = false
            log_file = {logs}/keystone.log
            [database]
            connection = sqlite:///{d}/keystone.db
            [token]
            provider = fernet
            expiration = {os.environ.get("GLINT_SANDBOX_TOKEN_EXPIRATION", "3600")}
            [fernet_tokens]
            key_repository = {d}/fernet-keys/
            [fernet_receipts]
            key_repository = {d}/fernet-keys/
            [credential]
            key_repository = {d}/credential-keys/
            [cache]
            enabled = true
            backend = oslo_cache.dict
            expiration_time = 600
            [identity]
            password_hash_rounds = 4
            [oslo_messaging_notifications]
            driver = noop
            """,
        )
        paste_src = self.venv / "etc" / "glance" / "glance-api-paste.ini"
        for site in self.glances:
            self._write_glance_conf(site, paste_src)
        # Glance reads chunked bodies via uwsgi.chunked_read(); default limit is 1 MiB
        glance_extra = (
            "socket-timeout = 600\nchunked-input-limit = 67108864\nchunked-input-timeout = 300"
        )
        servers = [("keystone", self.keystone_port, "keystone.wsgi.api:application", "")]
        for g in self.glances:
            servers.append((g.service, g.port, "glance.wsgi.api:application", glance_extra))
        for service, port, module, extra in servers:
            _write(
                self.ini(service),
                f"""
                [uwsgi]
                http-socket = {HOST}:{port}
                module = {module}
                master = true
                processes = 1
                threads = 4
                enable-threads = true
                lazy-apps = true
                need-app = true
                die-on-term = true
                exit-on-reload = true
                buffer-size = 65535
                add-header = Connection: close
                pidfile = {self.pidfile(service)}
                logto = {self.log(service)}
                disable-logging = true
                """
                + extra
                + "\n",
            )

    def _write_glance_conf(self, site: GlanceSite, paste_src: Path) -> None:
        etc, d, logs = self.etc(site.service), site.data, self.dir / "log"
        paste = etc / "glance-api-paste.ini"
        paste.write_text(
            paste_src.read_text().replace(
                "/etc/glance/healthcheck_disable", str(etc / "healthcheck_disable")
            )
        )
        conf: dict[str, dict[str, str]] = {
            "DEFAULT": {
                "debug": "false",
                "log_file": f"{logs}/{site.service}-api.log",
                "enabled_backends": "local:file",
                "worker_self_reference_url": site.url,
                "public_endpoint": site.url,
                "image_cache_dir": f"{d}/cache/",
            },
            "database": {"connection": f"sqlite:///{d}/glance.db"},
            "glance_store": {"default_backend": site.stores[0]},
            "os_glance_staging_store": {"filesystem_store_datadir": f"{d}/staging/"},
            "os_glance_tasks_store": {"filesystem_store_datadir": f"{d}/tasks/"},
            "keystone_authtoken": {
                "www_authenticate_uri": self.keystone_url,
                "auth_url": self.keystone_url,
                "auth_type": "password",
                "project_domain_name": "Default",
                "user_domain_name": "Default",
                "project_name": "service",
                "username": "glance",
                "password": GLANCE_SERVICE_PASSWORD,
            },
            "paste_deploy": {"flavor": "keystone", "config_file": str(paste)},
            "oslo_concurrency": {"lock_path": f"{d}/locks"},
            "oslo_messaging_notifications": {"driver": "noop"},
        }
        shapes.shape_glance_options(site, conf)
        (etc / "glance-api.conf").write_text(shapes.render_ini(conf))

    def initialise(self, template: Path) -> None:
        """Fresh databases from the shared migrated template, own keys, own bootstrap."""
        shutil.copy(template / "keystone.db", self.data / "keystone.db")
        for site in self.glances:
            shutil.copy(template / "glance.db", site.data / "glance.db")
        for repo in ("fernet-keys", "credential-keys"):
            for n in ("0", "1"):  # 0 = staged, 1 = primary, as keystone-manage writes them
                fd = os.open(self.data / repo / n, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(Fernet.generate_key())
        self.manage(
            "keystone",
            "bootstrap",
            "--bootstrap-password", ADMIN_PASSWORD,
            "--bootstrap-username", "admin",
            "--bootstrap-project-name", "admin",
            "--bootstrap-role-name", "admin",
            "--bootstrap-service-name", "keystone",
            "--bootstrap-region-id", REGION,
            "--bootstrap-admin-url", self.keystone_url,
            "--bootstrap-public-url", self.keystone_url,
            "--bootstrap-internal-url", self.keystone_url,
        )  # fmt: skip

    def manage(self, service: str, *args: str) -> None:
        exe = self.venv / "bin" / f"{service}-manage"
        conf = self.etc(service) / f"{'keystone' if service == 'keystone' else 'glance-api'}.conf"
        _run([str(exe), "--config-file", str(conf), *args])

    @property
    def initialised(self) -> bool:
        return (self.data / "keystone.db").exists() and (self.dir / "ready").exists()

    # -- processes ----------------------------------------------------------------------
    def pid(self, service: str) -> int | None:
        try:
            return int(self.pidfile(service).read_text().strip())
        except (OSError, ValueError):
            return None

    def alive(self, service: str) -> bool:
        """True only if the pidfile's process is still *our* uWSGI (guards against PID reuse)."""
        pid = self.pid(service)
        if not pid:
            return False
        try:
            exe = Path(f"/proc/{pid}/exe").resolve()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            return False
        # pyuwsgi: the venv's Python running the venv's uwsgi script on this service's
        # ini, with the venv's own uWSGI extension loaded (a reused PID is none of these)
        python = (self.venv / "bin" / "python").resolve()
        uwsgi = [str(p.resolve()) for p in self.venv.glob("lib/python*/site-packages/pyuwsgi*.so")]
        args = cmdline.split(b"\0")[1:4]
        ours = exe == python and any(u in maps for u in uwsgi)
        return ours and args == [str(a).encode() for a in self.command(service)]

    def command(self, service: str) -> list[str | Path]:
        """What starts the service (after the interpreter: the ``uwsgi`` entry point)."""
        return [self.venv / "bin" / "uwsgi", "--ini", self.ini(service)]

    def start(self, service: str) -> None:
        if self.alive(service):
            return
        subprocess.Popen(
            [str(a) for a in self.command(service)],
            env={**os.environ, **self.service_env(service)},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def wait_ready(self, service: str, timeout: float = 120.0) -> None:
        if service == "keystone":
            url = self.keystone_url + "/v3"
        else:
            url = self.glance(service).url + "/healthcheck"
        wait_http(url, timeout, log=self.log(service))

    def stop(self, services: tuple[str, ...] | None = None, timeout: float = 15.0) -> None:
        """SIGTERM our masters (by PID), SIGKILL master and workers after *timeout*."""
        targets: list[tuple[int, list[int]]] = []
        for service in services or self.services:
            if self.alive(service):
                pid = self.pid(service)
                assert pid is not None
                kids = _children(pid)
                os.kill(pid, signal.SIGTERM)
                targets.append((pid, kids))
        deadline = time.monotonic() + timeout
        for pid, kids in targets:
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                _reap(pid)  # our own child lingers as a zombie until reaped
                time.sleep(0.05)
            for p in [pid, *kids]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p, signal.SIGKILL)
            _reap(pid)


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _write(path: Path, text: str) -> None:
    path.write_text(textwrap.dedent(text).lstrip())


def _run(cmd: list[str]) -> None:
    r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if r.returncode:
        raise RuntimeError(f"{' '.join(cmd[:2])} … failed ({r.returncode}):\n{r.stderr[-2000:]}")


def wait_http(url: str, timeout: float, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                if r.status < 400:
                    return
        except urllib.error.HTTPError as e:
            last = e
        except (OSError, urllib.error.URLError) as e:
            last = e
        time.sleep(0.2)
    hint = f" (see {log})" if log else ""
    raise RuntimeError(f"{url} not ready after {timeout:.0f}s: {last}{hint}")


_TEMPLATE_LOCK = threading.Lock()


def migrated_template(root: Path, venv: Path, port_base: int) -> Path:
    """Empty, migrated keystone.db and glance.db, built once and copied to each cloud."""
    tdir = root / "_template"
    with _TEMPLATE_LOCK:
        if (tdir / "done").exists():
            return tdir
        shutil.rmtree(tdir, ignore_errors=True)
        scratch = Cloud(tdir, 0, port_base, venv)
        scratch.write_configs()
        errors: list[BaseException] = []

        def sync(service: str) -> None:
            try:
                scratch.manage(service, "db_sync")
            except BaseException as e:  # surfaced below
                errors.append(e)

        threads = [threading.Thread(target=sync, args=(s,)) for s in SERVICES]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        shutil.copy(scratch.data / "keystone.db", tdir / "keystone.db")
        shutil.copy(scratch.data / "glance.db", tdir / "glance.db")
        (tdir / "done").touch()
        return tdir
