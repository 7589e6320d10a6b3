"""The sandbox: real clouds on loopback, seeded, in their own profile, stopped by PID."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from glint_tui.core.config import ConfigStore
from glint_tui.core.paths import paths_for
from glint_tui.sandbox.cloud import Cloud
from tests.helpers import free_port_base, run_glint


def _pids(cloud: Cloud) -> list[int]:
    pids = []
    for service in ("keystone", "glance"):
        pid = cloud.pid(service)
        assert pid and cloud.alive(service), f"{cloud.name} {service} not running"
        pids.append(pid)
        pids.extend(c.pid for c in psutil.Process(pid).children(recursive=True))
    return pids


def test_every_cloud_has_projects_an_admin_and_a_member_per_project(sandbox) -> None:
    for cloud in sandbox.clouds:
        with sandbox.admin_session(cloud.name) as admin:
            names = {p.name for p in admin.list_projects()}
        assert {"admin", "alpha", "beta"} <= names
        for ref, project in ((f"{cloud.name}:alpha", "alpha"), (f"{cloud.name}:beta", "beta")):
            with sandbox.session(ref) as member:
                assert [p.name for p in member.list_projects()] == [project]


def test_nothing_listens_off_loopback(sandbox) -> None:
    for cloud in sandbox.clouds:
        listening = [
            c.laddr
            for pid in _pids(cloud)
            for c in psutil.Process(pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        ]
        assert listening, f"{cloud.name}: no listening socket found"
        assert {a.ip for a in listening} == {"127.0.0.1"}
        assert {a.port for a in listening} == {cloud.keystone_port, cloud.glance_port}


def test_seed_shows_every_situation_an_operator_meets(sandbox) -> None:
    seen: dict[str, list] = {}
    for cloud in sandbox.clouds:
        for project in ("alpha", "beta"):
            with sandbox.session(f"{cloud.name}:{project}") as s:
                for rec in s.list_images():
                    seen.setdefault(rec.name, []).append((cloud.name, project, s.project_id, rec))
    # on several clouds, and on only one
    assert {c for c, p, _, _ in seen["cirros-0.6"] if p == "alpha"} == {"c1", "c2", "c3"}
    assert {(c, p) for c, p, _, _ in seen["rocky-9-worker"]} == {("c1", "alpha")}
    # two different images sharing one name
    assert len({r.content_key for *_, r in seen["analysis-node"]}) == 2
    # shared with another project: bob sees alice's image, not owned by his project
    shared = [(pid, r) for c, p, pid, r in seen["shared-tools"] if p == "beta"]
    assert shared and all(r.owner != pid for pid, r in shared)
    # public: visible to members of other projects, owned by none of them
    public = seen["public-base"]
    assert {p for _, p, _, _ in public} == {"alpha", "beta"}
    assert all(r.visibility == "public" and r.owner != pid for _, _, pid, r in public)
    # different formats and sizes, all with verifiable content
    records = [r for rows in seen.values() for *_, r in rows]
    assert {r.disk_format for r in records} >= {"raw", "qcow2", "iso"}
    assert len({r.size for r in records}) >= 4
    assert all(r.status == "active" and r.content_key.startswith("sha512:") for r in records)


def test_sandbox_lives_in_its_own_profile(sandbox) -> None:
    sandbox_store = ConfigStore(sandbox.paths)
    assert {r.name for r in sandbox_store.repositories()} >= {"c1", "c2", "c3"}
    assert not paths_for("default").repositories_file.exists()
    for f in (sandbox.paths.repositories_file, sandbox.paths.credentials_file):
        assert f.stat().st_mode & 0o777 == 0o600
    # the member passwords are only in the encrypted keyring, never in clear in a file
    files = [*sandbox.paths.config_dir.rglob("*"), *sandbox.paths.data_dir.glob("keyring*")]
    for f in (f for f in files if f.is_file()):
        text = f.read_bytes()
        assert b"alice-pass" not in text and b"bob-pass" not in text, f


def test_down_never_kills_a_process_it_did_not_start(tmp_path: Path) -> None:
    """A stale pidfile naming someone else's process (PID reuse) must be left alone."""
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        cloud = Cloud(tmp_path, 1, 50000, Path(sys.prefix))
        cloud.pidfile("keystone").parent.mkdir(parents=True)
        cloud.pidfile("keystone").write_text(str(stranger.pid))
        assert not cloud.alive("keystone")
        cloud.stop()
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait()


@pytest.mark.sandbox  # starts a cloud of its own (not the shared fixture)
def test_cli_up_status_down_wipe_cycle(tmp_path: Path) -> None:
    env = dict(os.environ, GLINT_HOME=str(tmp_path / "home"))
    env.pop("GLINT_PROFILE", None)
    base = free_port_base(1)

    def glint(*args: str) -> subprocess.CompletedProcess[str]:
        return run_glint(env, *args, timeout=300)

    up = glint("sandbox", "up", "-n", "1", "--no-seed", "--port-base", str(base))
    try:
        assert up.returncode == 0, up.stderr
        status = json.loads(glint("sandbox", "status", "--json").stdout)
        assert [r["name"] for r in status] == ["c1"]
        pids = [status[0][s]["pid"] for s in ("keystone", "glance")]
        assert all(status[0][s]["running"] for s in ("keystone", "glance"))
        repos = json.loads(glint("--sandbox", "repository", "list", "--json").stdout)
        assert [r["auth_url"] for r in repos] == [f"http://127.0.0.1:{base + 10}/v3"]
        assert glint("sandbox", "down").returncode == 0
        assert not any(
            psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids
        )
        assert "stopped" in glint("sandbox", "status").stdout
    finally:
        glint("sandbox", "wipe")
    assert not (tmp_path / "home" / "profiles" / "sandbox").exists()
