"""glint-backup keeps going on real clouds: damaged manifests, partial accounts, SIGTERM."""

from __future__ import annotations

import json
import signal
import stat
import subprocess
import uuid
from pathlib import Path

import openstack
import pytest

from glint_backup.lock import locked
from glint_tui.sandbox.cloud import ADMIN_PASSWORD
from tests.backup_helpers import backup_cmd, latest_manifest, run_backup, run_json, write_config
from tests.helpers import random_bytes, unique, upload_image, wait_for

pytestmark = pytest.mark.sandbox


def _manifests(store: Path) -> list[Path]:
    return sorted((store / "snapshots").glob("*.json"))


DAMAGE = {
    "not-utf8": lambda text: text.replace('"images"', '"imag\xe9s"').encode("latin-1"),
    "binary": lambda text: b"\x00\x01garbage" + text.encode()[:100],
    "truncated": lambda text: text.encode()[: len(text) // 2],
    "deeply-nested": lambda text: ("[" * 100_000 + "]" * 100_000).encode(),
    "object-outside-the-store": lambda text: text.replace(
        '"object": "', '"object": "../../../../etc/', 1
    ).encode(),
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_manifest_is_moved_aside_and_the_next_backup_runs(
    sandbox, admin, tmp_path: Path, damage: str
) -> None:
    conf = write_config(tmp_path, sandbox)
    store = tmp_path / "store"
    run_json(conf)
    img = upload_image(admin, unique("bk-dmg"), random_bytes(20_000))
    try:
        run_json(conf)
        newest = _manifests(store)[-1]
        newest.chmod(0o644)
        newest.write_bytes(DAMAGE[damage](newest.read_text()))
        # `snapshots` names the file, lists the others and does not fail
        done = run_backup(conf, "snapshots", "--json")
        assert done.returncode == 0, done.stderr
        assert str(newest) in done.stderr and "Traceback" not in done.stderr
        assert len(json.loads(done.stdout)) == 1
        assert not newest.exists()
        moved = list((store / "damaged").glob("snapshot-*"))
        assert len(moved) == 1
        # the next backup runs and records the image again in a new snapshot
        after = run_json(conf)
        assert after["changed"], after
        assert img.id in {e["id"] for e in latest_manifest(store)["images"]}
        # verify keeps telling (and prune stays refused) until the operator deletes it
        done = run_backup(conf, "verify")
        assert done.returncode == 8 and moved[0].name in done.stdout
        assert run_backup(conf, "prune").returncode == 8
        moved[0].unlink()
        assert run_json(conf, "verify")["ok"]
    finally:
        admin.delete_image(img.id)


def test_damaged_newest_manifest_is_reported_by_the_backup_run_itself(
    sandbox, tmp_path: Path
) -> None:
    conf = write_config(tmp_path, sandbox)
    store = tmp_path / "store"
    run_json(conf)
    newest = _manifests(store)[-1]
    newest.chmod(0o644)
    newest.write_bytes(b"\xff\xfe not json")
    done = run_backup(conf)
    assert done.returncode == 0, done.stderr
    assert str(newest) in done.stderr and "damaged" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert len(_manifests(store)) == 1  # a fresh snapshot replaced the lost one
    done = run_backup(conf, "list")
    assert done.returncode == 0 and done.stderr == ""


def test_non_admin_backup_account_is_warned_and_exits_3(sandbox, admin, tmp_path: Path) -> None:
    secret = upload_image(admin, unique("bk-admin-only"), random_bytes(5000))
    try:
        pw = tmp_path / "alice.pw"
        pw.write_text("alice-pass\n")
        pw.chmod(0o600)
        conf = write_config(tmp_path, sandbox, glint_backup_admin_user="alice",
                            glint_backup_admin_tenant="alpha",
                            glint_backup_admin_pw_file=str(pw))  # fmt: skip
        done = run_backup(conf, "--json")
        assert done.returncode == 3, done.stderr
        assert "not admin" in done.stderr and "glint_backup_projects" in done.stderr
        summary = json.loads(done.stdout)
        assert summary["coverage"] and not summary["errors"]
        held = {e["id"] for e in latest_manifest(tmp_path / "store")["images"]}
        assert held and secret.id not in held  # what it could see was still backed up
        log = (tmp_path / "log" / "glint-backup.log").read_text()
        assert "left out" in log
        # again on the next run: never silently accepted
        assert run_backup(conf).returncode == 3
    finally:
        admin.delete_image(secret.id)


def test_non_admin_account_covering_its_projects_exits_0_and_logs_what_is_left_out(
    sandbox, tmp_path: Path
) -> None:
    """carol: a member of alpha and beta; configured to cover both, then alpha only."""
    cloud = sandbox.cloud("c1")
    conn = openstack.connect(
        auth_url=cloud.keystone_url + "/v3", username="admin", password=ADMIN_PASSWORD,
        project_name="admin", user_domain_name="Default", project_domain_name="Default",
        region_name="RegionOne", load_yaml_config=False, load_envvars=False,
    )  # fmt: skip
    name = f"carol-{uuid.uuid4().hex[:6]}"
    user = conn.identity.create_user(name=name, password="carol-pass", domain_id="default")
    bob = sandbox.session("c1:beta")
    in_beta = upload_image(bob, unique("bk-beta"), random_bytes(3000))
    try:
        member = conn.identity.find_role("member")
        for project in ("alpha", "beta"):
            p = conn.identity.find_project(project, domain_id="default")
            conn.identity.assign_project_role_to_user(p, user, member)
        pw = tmp_path / "carol.pw"
        pw.write_text("carol-pass\n")
        pw.chmod(0o600)
        conf = write_config(tmp_path, sandbox, glint_backup_admin_user=name,
                            glint_backup_admin_tenant="alpha", glint_backup_admin_pw_file=str(pw),
                            glint_backup_projects=["alpha", "beta"])  # fmt: skip
        done = run_backup(conf, "--json")
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        manifest = latest_manifest(tmp_path / "store")
        owners = {e["owner"] for e in manifest["images"]}
        beta = conn.identity.find_project("beta", domain_id="default")
        alpha = conn.identity.find_project("alpha", domain_id="default")
        assert {alpha.id, beta.id} <= owners  # beta's images came through its own login
        assert in_beta.id in {e["id"] for e in manifest["images"]}
        assert manifest["source"]["scope"] == {"admin": False, "projects": ["alpha", "beta"]}
        (tmp_path / "x").mkdir()
        conf2 = write_config(tmp_path / "x", sandbox, glint_backup_admin_user=name,
                             glint_backup_admin_tenant="alpha",
                             glint_backup_admin_pw_file=str(pw),
                             glint_backup_projects=["alpha", "gamma"])  # fmt: skip
        done = run_backup(conf2)
        assert done.returncode == 3 and "'gamma'" in done.stderr
        log = (tmp_path / "x" / "log" / "glint-backup.log").read_text()
        assert "not covered although it has a role on them: beta" in log
    finally:
        bob.delete_image(in_beta.id)
        bob.close()
        conn.identity.delete_user(user)
        conn.close()


def test_sigterm_during_backup_leaves_no_partial_files_and_exits_130(
    sandbox, admin, tmp_path: Path
) -> None:
    conf = write_config(tmp_path, sandbox)
    store = tmp_path / "store"
    run_json(conf)
    before = [p.name for p in _manifests(store)]
    big = upload_image(admin, unique("bk-term"), random_bytes(160 << 20))
    try:
        proc = subprocess.Popen(backup_cmd(conf), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip

        def partial() -> bool:
            return any(p.stat().st_size > 0 for p in (store / "tmp").glob("*.part"))

        wait_for(partial, timeout=60, what="a partial download in tmp/", every=0.005)
        for part in (store / "tmp").glob("*.part"):  # image data is private while in flight
            assert stat.S_IMODE(part.stat().st_mode) == 0o600
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "interrupted" in err and "Traceback" not in err
        leftovers = [p for p in store.rglob("*") if p.name.endswith((".part", ".partial", ".tmp"))]
        assert leftovers == []
        assert [p.name for p in _manifests(store)] == before
        with locked(store):  # the lock went with the process
            pass
    finally:
        admin.delete_image(big.id)
