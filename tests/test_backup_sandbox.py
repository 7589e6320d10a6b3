"""glint-backup against real sandbox clouds: runs, failures, verify, restore, retention."""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from glint_backup import cli
from glint_backup.lock import locked
from glint_backup.storage import local as local_storage
from glint_tui.core.clouds.openstack import CORE_UPDATES
from glint_tui.core.errors import ImageNotFound
from tests.backup_helpers import (
    backup_cmd,
    latest_manifest,
    run_backup,
    run_json,
    snapshot_files,
    write_config,
)
from tests.helpers import (
    download_sha512,
    frozen,
    random_bytes,
    sha512,
    unique,
    upload_image,
    wait_for,
)

pytestmark = pytest.mark.sandbox


def _delete(session, image_id: str) -> None:
    try:
        rec = session.get_image(image_id)
        if rec.protected:
            session.update_image(image_id, protected=False)
        session.delete_image(image_id)
    except ImageNotFound:
        pass


def test_first_full_run_all_pages_then_noop(sandbox, admin, tmp_path: Path) -> None:
    hidden = upload_image(admin, unique("bk-hidden"), random_bytes(4096))
    admin.update_image(hidden.id, hidden=True)
    try:
        # page size 2: the listing must follow many pages to see every image
        conf = write_config(tmp_path, sandbox, glint_backup_page_size=2)
        done = run_backup(conf)
        assert done.returncode == 0, done.stderr
        assert done.stdout == "" and done.stderr == ""  # cron: silent on success
        store = tmp_path / "store"
        manifest = latest_manifest(store)
        expected = {r.id for r in admin.list_images(all_projects=True)}
        assert len(expected) > 4
        got = {e["id"]: e for e in manifest["images"]}
        assert set(got) == expected
        assert got[hidden.id]["hidden"] is True
        owners = {e["owner"] for e in got.values()}
        assert len(owners) >= 2  # admin (the hidden image) and alpha (the samples)
        for e in got.values():
            if e["status"] == "active":
                obj = store / "objects" / e["object"][:2] / e["object"][2:]
                assert e["object"] == e["os_hash_value"]
                assert stat.S_IMODE(obj.stat().st_mode) == 0o444
                assert obj.stat().st_size == e["size"]
        shared = [e for e in got.values() if e["name"] == "shared-tools"]
        assert shared and shared[0]["members"], "members of shared images are backed up"
        before = snapshot_files(store)

        done = run_backup(conf)
        assert done.returncode == 0 and done.stdout == "" and done.stderr == ""
        assert snapshot_files(store) == before
        assert "no change" in (tmp_path / "log" / "glint-backup.log").read_text()
    finally:
        _delete(admin, hidden.id)


def test_new_image_then_metadata_only_change(sandbox, admin, tmp_path: Path) -> None:
    conf = write_config(tmp_path, sandbox)
    first = run_json(conf)
    assert first["changed"] and first["downloaded"] >= 1
    img = upload_image(admin, unique("bk-new"), random_bytes(300_000), os_distro="testos")
    try:
        second = run_json(conf)
        assert second["changed"] and second["downloaded"] == 1
        assert second["downloaded_bytes"] == 300_000
        admin.update_image(img.id, glint_note="changed", min_ram=512)
        third = run_json(conf)
        assert third["changed"] and third["downloaded"] == 0  # no second download
        entry = {e["id"]: e for e in latest_manifest(tmp_path / "store")["images"]}[img.id]
        assert entry["properties"]["glint_note"] == "changed" and entry["min_ram"] == 512
        assert len(snapshot_files(tmp_path / "store")) == 3
        listed = run_json(conf, "list")
        assert isinstance(listed, list) and img.id in {e["id"] for e in listed}
        snaps = run_json(conf, "snapshots")
        assert isinstance(snaps, list) and len(snaps) == 3
    finally:
        _delete(admin, img.id)


def test_dry_run_writes_nothing(sandbox, tmp_path: Path) -> None:
    conf = write_config(tmp_path, sandbox, glint_backup_testing="True")
    done = run_backup(conf)
    assert done.returncode == 0, done.stderr
    assert "would download" in done.stdout and "bytes" in done.stdout
    assert list((tmp_path / "store").iterdir()) == []


def test_deleted_image_restorable_with_new_id(sandbox, admin, tmp_path: Path) -> None:
    data = random_bytes(200_000)
    img = upload_image(admin, unique("bk-del"), data, glint_note="keep me")
    admin.update_image(img.id, tags=["gold", "x86"], min_disk=1)
    conf = write_config(tmp_path, sandbox)
    created = []
    try:
        run_json(conf)
        old = latest_manifest(tmp_path / "store")["id"]
        admin.delete_image(img.id)
        after = run_json(conf)
        assert after["changed"]
        assert img.id not in {e["id"] for e in latest_manifest(tmp_path / "store")["images"]}
        # Glance refuses the old id: a clear error pointing at --new-id
        done = run_backup(conf, "restore", "--snapshot", old, img.id)
        assert done.returncode == 3 and "--new-id" in done.stdout + done.stderr
        result = run_json(conf, "restore", "--snapshot", old, img.id, "--new-id")
        assert result[0]["status"] == "restored" and result[0]["new_id"]
        created.append(result[0]["new_id"])
        human = run_backup(conf, "list", old)
        assert img.id in human.stdout
        back = admin.get_image(result[0]["new_id"])
        assert download_sha512(admin, back.id) == sha512(data)
        assert back.properties["glint_note"] == "keep me"
        assert set(back.tags) == {"gold", "x86"} and back.min_disk == 1
        assert back.owner == img.owner and back.name == img.name
    finally:
        _delete(admin, img.id)
        for i in created:
            _delete(admin, i)


def test_restore_same_id_into_another_cloud(sandbox, admin, tmp_path: Path) -> None:
    data = random_bytes(150_000)
    with sandbox.session("c1:beta") as beta:
        beta_id = beta.project_id
    img = upload_image(admin, unique("bk-c2"), data, visibility="shared", hep_role="worker")
    admin.add_member(img.id, beta_id)
    admin.update_image(img.id, protected=True, hidden=True)
    c2 = sandbox.admin_session("c2")
    try:
        conf1 = write_config(tmp_path, sandbox)
        run_json(conf1)
        conf2 = write_config(tmp_path, sandbox, cloud="c2")  # same store, other cloud
        result = run_json(conf2, "restore", img.id)
        assert [(r["id"], r["status"], r["new_id"]) for r in result] == [(img.id, "restored", None)]
        owner_settable = "owner" in CORE_UPDATES
        back = c2.get_image(img.id)
        assert back.status == "active" and back.protected and back.hidden
        assert back.os_hash_value == sha512(data) == download_sha512(c2, img.id)
        assert back.properties["hep_role"] == "worker" and back.visibility == "shared"
        if owner_settable:
            assert back.owner == img.owner and result[0]["message"] == ""
        else:  # the adapter cannot set owner yet: the operator is told, not misled
            assert "owner left as" in result[0]["message"]
        assert beta_id in {m.member_id for m in c2.list_members(img.id)}
        again = run_json(conf2, "restore", img.id)
        assert again[0]["status"] == "skipped"
    finally:
        _delete(c2, img.id)
        c2.close()
        _delete(admin, img.id)


def test_sigkill_mid_download_and_concurrent_run(sandbox, admin, tmp_path: Path) -> None:
    conf = write_config(tmp_path, sandbox)
    store = tmp_path / "store"
    run_json(conf)
    before = snapshot_files(store)
    big = upload_image(admin, unique("bk-big"), os.urandom(160 << 20))
    try:
        proc = subprocess.Popen(backup_cmd(conf), stdout=subprocess.PIPE, stderr=subprocess.PIPE)

        def partial() -> bool:
            return any(p.stat().st_size > 0 for p in (store / "tmp").glob("*.part"))

        wait_for(partial, timeout=60, what="a partial download in tmp/", every=0.005)
        # Glance hangs mid-stream, so the first run surely still holds the lock (on a loaded
        # machine it could otherwise finish before the second one starts)
        with frozen(sandbox.cloud("c1")):
            # a second run while the first holds the lock: distinct exit code
            second = run_backup(conf)
            assert second.returncode == 4 and "lock" in second.stderr
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        proc.stdout.close()
        proc.stderr.close()
        assert snapshot_files(store) == before  # previous snapshot intact, none added
        assert list((store / "tmp").glob("*.part"))  # the killed run's temp file
        done = run_json(conf)  # the lock is free again; the temp file is cleaned
        assert done["downloaded"] == 1
        assert list((store / "tmp").iterdir()) == []
        entry = {e["id"]: e for e in latest_manifest(store)["images"]}[big.id]
        assert entry["object"] == big.os_hash_value
    finally:
        _delete(admin, big.id)


def test_wrong_password_is_auth_exit_and_never_shown(sandbox, tmp_path: Path) -> None:
    conf = write_config(tmp_path, sandbox)
    wrong = "Wr0ng-Secret-Value-77"
    pw = tmp_path / "admin-c1.pw"
    pw.write_text(wrong + "\n")
    done = run_backup(conf, "-v")
    assert done.returncode == 6, done.stderr
    assert "authentication failed" in done.stderr
    log = (tmp_path / "log" / "glint-backup.log").read_text()
    for text in (done.stdout, done.stderr, log):
        assert wrong not in text
    assert not list((tmp_path / "store").glob("snapshots/*.json"))
    assert not list((tmp_path / "store").glob("objects/*/*"))


def test_locked_store_gives_exit_4(sandbox, tmp_path: Path) -> None:
    conf = write_config(tmp_path, sandbox)
    with locked(tmp_path / "store"):
        done = run_backup(conf)
    assert done.returncode == 4 and "holds the lock" in done.stderr


def test_missing_or_unmounted_backup_dir(sandbox, tmp_path: Path) -> None:
    conf = write_config(tmp_path, sandbox)
    run_json(conf)
    store = tmp_path / "store"
    moved = tmp_path / "elsewhere"
    store.rename(moved)  # "the disk is not mounted": the directory is gone
    done = run_backup(conf)
    assert done.returncode == 5 and "mounted" in done.stderr
    store.mkdir()  # an empty mount point left behind: must not start a new store there
    done = run_backup(conf)
    assert done.returncode == 5 and "mounted" in done.stderr
    assert [p.name for p in store.iterdir()] in ([], [".lock"])


def test_verify_finds_corruption_and_next_run_heals(sandbox, admin, tmp_path: Path) -> None:
    data = random_bytes(100_000)
    img = upload_image(admin, unique("bk-rot"), data)
    try:
        conf = write_config(tmp_path, sandbox)
        run_json(conf)
        obj = tmp_path / "store" / "objects" / sha512(data)[:2] / sha512(data)[2:]
        obj.chmod(0o644)
        with open(obj, "r+b") as f:
            f.seek(5000)
            f.write(b"\xff\x00bitrot")
        obj.chmod(0o444)
        assert run_backup(conf, "verify").returncode == 0  # same size: only data shows it
        done = run_backup(conf, "verify", "--read-data")
        assert done.returncode == 8 and sha512(data) in done.stdout
        assert not obj.exists()
        refused = run_backup(conf, "prune")
        assert refused.returncode == 8 and "refused" in refused.stderr
        healed = run_json(conf)
        assert healed["downloaded"] == 1
        assert hashlib.sha512(obj.read_bytes()).hexdigest() == sha512(data)
        report = run_json(conf, "verify", "--read-data")
        assert report["ok"] and report["problems"] == []
    finally:
        _delete(admin, img.id)


def test_download_failure_is_partial_never_a_deletion(sandbox, admin, tmp_path: Path) -> None:
    conf = write_config(tmp_path, sandbox)
    data = random_bytes(50_000)
    img = upload_image(admin, unique("bk-gone"), data)
    backing = sandbox.cloud("c1").image_store / img.id
    try:
        run_json(conf)  # holds the image
        # make Glance's copy unreadable AND change the content key by a re-upload
        img2 = upload_image(admin, unique("bk-gone2"), random_bytes(60_000))
        (sandbox.cloud("c1").image_store / img2.id).unlink()  # Glance serves 204 now
        done = run_backup(conf, "--json")
        assert done.returncode == 3, done.stderr
        summary = json.loads(done.stdout)
        assert [e["id"] for e in summary["errors"]] == [img2.id]
        entries = {e["id"]: e for e in latest_manifest(tmp_path / "store")["images"]}
        assert img2.id in entries and entries[img2.id]["error"]  # recorded, not dropped
        assert entries[img.id]["object"] == sha512(data)
        assert backing.exists()
    finally:
        _delete(admin, img.id)
        _delete(admin, img2.id)


def test_backup_stops_cleanly_on_fake_full_disk(
    sandbox, admin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """A fake: a real full disk cannot be produced safely, so free space is reported as 0."""
    conf = write_config(tmp_path, sandbox)
    assert cli.main(["-c", str(conf), "--allow-root"]) == 0
    before = snapshot_files(tmp_path / "store")
    img = upload_image(admin, unique("bk-full"), random_bytes(80_000))
    try:
        monkeypatch.setattr(local_storage, "free_bytes", lambda _d: 1024)
        code = cli.main(["-c", str(conf), "--allow-root"])
        err = capsys.readouterr().err
        assert code == 7 and "full" in err
        assert list((tmp_path / "store" / "tmp").iterdir()) == []
        after = snapshot_files(tmp_path / "store")
        assert set(before) <= set(after)  # nothing older touched
        entry = {e["id"]: e for e in latest_manifest(tmp_path / "store")["images"]}[img.id]
        assert entry["object"] is None and "full" in entry["error"]
        monkeypatch.undo()
        assert cli.main(["-c", str(conf), "--allow-root"]) == 0
    finally:
        _delete(admin, img.id)


def test_forget_and_prune(sandbox, admin, tmp_path: Path) -> None:
    conf = write_config(tmp_path, sandbox)
    store = tmp_path / "store"
    img = upload_image(admin, unique("bk-old"), random_bytes(70_000))
    try:
        run_json(conf)
        obj = img.os_hash_value
        admin.delete_image(img.id)
        run_json(conf)
        assert len(snapshot_files(store)) == 2
        done = run_backup(conf, "forget")
        assert done.returncode == 2 and "empty policy" in done.stderr
        plan = run_json(conf, "forget", "--keep-last", "1", "--dry-run")
        assert len(plan["forget"]) == 1 and len(snapshot_files(store)) == 2
        run_json(conf, "forget", "--keep-last", "1")
        assert len(snapshot_files(store)) == 1
        pruned = run_json(conf, "prune")
        assert obj in pruned["removed"] and pruned["freed_bytes"] >= 70_000
        assert not (store / "objects" / obj[:2] / obj[2:]).exists()
        assert run_json(conf, "verify", "--read-data")["ok"]
    finally:
        _delete(admin, img.id)


def test_password_from_keyring_and_systemd_credential(sandbox, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = dict(os.environ, GLINT_HOME=str(home), GLINT_PROFILE="default",
               GLINT_KEYRING_PASSWORD="master-pass-for-test")  # fmt: skip
    conf = write_config(tmp_path, sandbox)
    doc = json.loads(conf.read_text())
    del doc["glint_backup_admin_pw_file"]
    conf.write_text(json.dumps(doc))
    wrong = run_backup(conf, "set-password", env=env, input="not-the-password\n")
    assert wrong.returncode == 6 and "authentication failed" in wrong.stderr  # tried first
    assert run_backup(conf, env=env).returncode == 2  # ... and not stored
    stored = run_backup(conf, "set-password", env=env, input="admin-pass\n")
    assert stored.returncode == 0, stored.stderr
    assert "admin-pass" not in (home / "profiles" / "default" / "data" / "keyring.enc").read_text()
    done = run_backup(conf, "--json", env=env)
    assert done.returncode == 0, done.stderr
    # systemd: LoadCredential= puts the secret in $CREDENTIALS_DIRECTORY/<pw_key>
    creds = tmp_path / "creds"
    creds.mkdir(mode=0o700)
    (creds / "glint-backup-admin").write_text("admin-pass")
    env2 = dict(os.environ, GLINT_HOME=str(tmp_path / "empty-home"),
                CREDENTIALS_DIRECTORY=str(creds))  # fmt: skip
    done = run_backup(conf, env=env2)
    assert done.returncode == 0, done.stderr


def test_password_from_fake_hiera_command(sandbox, tmp_path: Path) -> None:
    """A fake `hiera` on PATH (puppet is not installed here): args in, secret on stdout."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "hiera").write_text(
        "#!/bin/sh\n"
        f'[ "$1" = "-c" ] && [ "$2" = "{tmp_path}/hiera.yaml" ] && '
        '[ "$3" = "glint-backup-admin" ] && echo admin-pass && exit 0\nexit 1\n'
    )
    (bindir / "hiera").chmod(0o755)
    conf = write_config(tmp_path, sandbox)
    doc = json.loads(conf.read_text())
    del doc["glint_backup_admin_pw_file"]
    doc["glint_backup_hiera_config"] = str(tmp_path / "hiera.yaml")
    conf.write_text(json.dumps(doc))
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}")
    assert run_backup(conf, env=env).returncode == 0
    doc["glint_backup_admin_pw_key"] = "other-key"
    conf.write_text(json.dumps(doc))
    done = run_backup(conf, env=env)
    assert done.returncode == 2 and "hiera lookup" in done.stderr


def test_daemon_survives_a_failed_run(sandbox, tmp_path: Path) -> None:
    """The daemon's loop, in-process with a 1 s tick (the command line allows 1 min at least):
    the first tick fails (locked), a later one succeeds, and the loop never ended between."""
    import threading

    from glint_backup.daemon import loop

    conf = write_config(tmp_path, sandbox)
    store = tmp_path / "store"
    lock_fd = os.open(store / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(lock_fd, fcntl.LOCK_EX)  # the first tick fails: locked
    codes: list[int] = []
    stop = threading.Event()

    def job() -> int:
        codes.append(cli.main(["-c", str(conf), "--allow-root"]))
        if codes[-1] == 4:
            fcntl.flock(lock_fd, fcntl.LOCK_UN)
        if codes[-1] == 0:
            stop.set()
        return codes[-1]

    watchdog = threading.Timer(120, stop.set)
    watchdog.start()
    try:
        assert loop(1, job, stop) == 0
    finally:
        watchdog.cancel()
        os.close(lock_fd)
    assert codes[0] == 4 and codes[-1] == 0
    assert list((store / "snapshots").glob("*.json"))


def test_a_real_run_never_loads_the_ui(sandbox, tmp_path: Path) -> None:
    conf = write_config(tmp_path, sandbox)
    code = (
        "import sys\n"
        "from glint_backup import cli\n"
        f"rc = cli.main(['-c', {str(conf)!r}, '--allow-root'])\n"
        "bad = [m for m in sys.modules if m.startswith(('textual', 'glint_tui.ui'))]\n"
        "print(rc, bad)"
    )
    out = subprocess.run(
        [os.sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert out.stdout.strip() == "0 []", out.stderr
    assert list((tmp_path / "store" / "snapshots").glob("*.json"))
