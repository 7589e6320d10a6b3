"""glint-backup into object storage: a real Swift beside sandbox cloud c1, spoken to through
its Swift API (openstacksdk) and through its S3 API (boto3, Swift's s3api + Keystone EC2
credentials). No mock object store."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from glint_backup import config as cfg
from glint_backup.repository import open_store
from glint_tui.core.errors import ImageNotFound
from tests.backup_helpers import (
    backup_cmd,
    remote_config,
    run_backup,
    run_json,
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
KINDS = ["swift", "s3"]


def _remote(tmp_path: Path, sandbox, kind: str, s3_keys, **extra) -> Path:
    return remote_config(tmp_path, sandbox, kind, s3_keys if kind == "s3" else None, **extra)


def _store(conf: Path):
    return open_store(cfg.load(conf))


def _delete(session, image_id: str) -> None:
    with contextlib.suppress(ImageNotFound):
        session.delete_image(image_id)


def _restore_into_c2(conf: Path, sandbox, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The same repository, restoring into cloud c2: Glance and the admin login are c2's,
    the repository's Swift login comes from a clouds.yaml entry for c1."""
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        "clouds:\n  bk-swift:\n    region_name: RegionOne\n    auth:\n"
        f"      auth_url: {sandbox.cloud('c1').keystone_url}/v3\n      username: admin\n"
        "      password: admin-pass\n      project_name: admin\n"
    )
    doc = json.loads(conf.read_text())
    doc["glint_backup_auth_URL"] = sandbox.cloud("c2").keystone_url + "/v3"
    doc["glint_backup_repository_cloud"] = "bk-swift"
    out = conf.with_name("c2.json")
    out.write_text(json.dumps(doc))
    return out, dict(os.environ, OS_CLIENT_CONFIG_FILE=str(clouds))


@pytest.mark.parametrize("kind", KINDS)
def test_first_run_noop_new_large_image_and_restore_verified(
    sandbox, swift, s3_keys, admin, tmp_path: Path, kind: str
) -> None:
    conf = _remote(tmp_path, sandbox, kind, s3_keys)
    first = run_json(conf)
    assert first["changed"] and first["downloaded"] >= 1
    again = run_json(conf)
    assert not again["changed"] and again["downloaded"] == 0
    data = random_bytes(12 << 20)  # > 2 segments/parts of 5 MiB: a large object
    img = upload_image(admin, unique(f"bk-{kind}"), data, hep_role="worker")
    c2 = sandbox.admin_session("c2")
    try:
        third = run_json(conf)
        assert third["changed"] and third["downloaded"] == 1
        store = _store(conf)
        try:
            assert store.has(sha512(data))
            if kind == "swift":  # stored as a static large object: segments + manifest
                head = store.backend._head(store.backend._name(store.key_of(sha512(data))),
                                           manifest=True)  # fmt: skip
                assert head.headers.get("X-Static-Large-Object") == "True"
        finally:
            store.close()
        assert run_json(conf, "verify", "--read-data")["ok"]
        result = run_json(conf, "restore", img.id)  # Glance still holds it: nothing to do
        assert result[0]["status"] == "skipped"
        conf_c2, env = _restore_into_c2(conf, sandbox, tmp_path)
        result = run_json(conf_c2, "restore", img.id, env=env)
        assert [(r["id"], r["status"]) for r in result] == [(img.id, "restored")]
        assert download_sha512(c2, img.id) == sha512(data)
        assert c2.get_image(img.id).properties["hep_role"] == "worker"
    finally:
        _delete(c2, img.id)
        c2.close()
        _delete(admin, img.id)


@pytest.mark.parametrize("kind", KINDS)
def test_sigkill_mid_upload_second_host_refused_and_rerun_cleans_up(
    sandbox, swift, s3_keys, admin, tmp_path: Path, kind: str
) -> None:
    conf = _remote(tmp_path, sandbox, kind, s3_keys)
    run_json(conf)
    store = _store(conf)
    before = store.snapshot_ids()
    big = upload_image(admin, unique(f"bk-kill-{kind}"), os.urandom(120 << 20))
    try:
        env_a = dict(os.environ, GLINT_HOME=str(tmp_path / "host-a"))
        proc = subprocess.Popen(backup_cmd(conf), env=env_a, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)  # fmt: skip

        def partial() -> bool:
            if kind == "swift":  # segments of the big image (the samples have their own)
                return any(big.os_hash_value[2:] in k for k, _ in store.backend.list("segments/"))
            uploads = store.backend.client.list_multipart_uploads(Bucket=store.backend.bucket)
            return bool(uploads.get("Uploads"))

        wait_for(partial, timeout=120, what="a partial large upload", every=0.05)
        env_b = dict(os.environ, GLINT_HOME=str(tmp_path / "host-b"))
        # Glance hangs mid-stream, so the first run surely still holds the lock (on a loaded
        # machine it could otherwise finish before the second one starts)
        with frozen(sandbox.cloud("c1")):
            # "another host": its own local lock directory; the remote lock refuses it
            second = run_backup(conf, env=env_b)
            assert second.returncode == 4, second.stderr
            assert "holds the lock" in second.stderr and "host" in second.stderr
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
        assert store.snapshot_ids() == before  # no manifest names the half-made object
        assert not store.has(big.os_hash_value)
        done = run_backup(conf, "--json", env=env_b)  # same host, dead pid: lock taken over
        assert done.returncode == 0, done.stderr
        assert "stale lock" in done.stderr
        store.close()
        store = _store(conf)
        assert store.has(big.os_hash_value)
        if kind == "swift":  # every segment left belongs to the live large object it names
            for key, _ in store.backend.list("segments/"):
                owner, upload = key[len("segments/") :].rsplit("/", 2)[:2]
                head = store.backend._head(store.backend._name(owner), manifest=True)
                assert head.headers.get("X-Object-Meta-Glint-Upload") == upload, key
        else:
            uploads = store.backend.client.list_multipart_uploads(Bucket=store.backend.bucket)
            assert not uploads.get("Uploads")
        assert run_json(conf, "verify", "--read-data")["ok"]
    finally:
        store.close()
        _delete(admin, big.id)


def test_compression_auto_shrinks_zeros_and_stores_random_data_as_is(
    sandbox, swift, s3_keys, admin, tmp_path: Path
) -> None:
    conf = _remote(tmp_path, sandbox, "swift", s3_keys, glint_backup_compression="auto")
    zeros = upload_image(admin, unique("bk-zeros"), bytes(8 << 20))
    noise = upload_image(admin, unique("bk-noise"), os.urandom(3 << 20))
    try:
        run_json(conf)
        store = _store(conf)
        try:
            zkey, nkey = store.key_of(zeros.os_hash_value), store.key_of(noise.os_hash_value)
            assert zkey.endswith(".zst") and store.index()[zkey] < (8 << 20) // 100
            assert not nkey.endswith(".zst") and store.index()[nkey] == 3 << 20
        finally:
            store.close()
        stats = run_json(conf, "stats")
        assert stats["original_bytes"] > stats["stored_bytes"] and stats["compression_ratio"] > 1
        assert run_json(conf, "verify", "--read-data")["ok"]  # sha512 of the decompressed bytes
    finally:
        _delete(admin, zeros.id)
        _delete(admin, noise.id)


def test_encryption_wrong_password_and_a_flipped_byte(
    sandbox, swift, s3_keys, admin, tmp_path: Path
) -> None:
    pw = tmp_path / "repo.pw"
    pw.write_text("correct horse battery staple\n")
    pw.chmod(0o600)
    conf = _remote(tmp_path, sandbox, "s3", s3_keys, glint_backup_encryption=True,
                   glint_backup_encryption_pw_file=str(pw))  # fmt: skip
    name = unique("bk-secret-name")
    data = random_bytes(300_000)
    img = upload_image(admin, name, data)
    try:
        run_json(conf)
        store = _store(conf)
        try:
            keys = [k for k, _ in store.backend.list("")]
            assert not any(sha512(data) in k or name in k for k in keys)  # names reveal nothing
            for key in keys:
                body = store.backend.read_bytes(key) or b""
                assert name.encode() not in body and data[:64] not in body
            key = store.key_of(sha512(data))
            blob = bytearray(store.backend.read_bytes(key))
            blob[len(blob) // 2] ^= 0x01
            store.backend.write_bytes(key, bytes(blob))
        finally:
            store.close()
        wrong = tmp_path / "wrong.pw"
        wrong.write_text("Tr0ub4dor&3\n")
        wrong.chmod(0o600)
        bad = conf.with_name("bad.json")
        bad.write_text(conf.read_text().replace(str(pw), str(wrong)))
        done = run_backup(bad, "snapshots")
        assert done.returncode == 6 and "wrong repository password" in done.stderr
        assert "Tr0ub4dor" not in done.stderr + done.stdout
        c2 = sandbox.admin_session("c2")
        try:
            conf_c2, env = _restore_into_c2(conf, sandbox, tmp_path)
            done = run_backup(conf_c2, "restore", img.id, "--json", env=env)
            assert done.returncode == 3 and "damaged" in done.stdout
            with pytest.raises(ImageNotFound):
                c2.get_image(img.id)  # refused: nothing half-restored left behind
        finally:
            c2.close()
        done = run_backup(conf, "verify", "--read-data")
        assert done.returncode == 8 and sha512(data) in done.stdout
        healed = run_json(conf)  # the damaged object was moved aside: fetched again
        assert healed["downloaded"] == 1
        assert run_json(conf, "verify", "--read-data")["ok"]
    finally:
        _delete(admin, img.id)


def test_verify_subset_diff_and_stats(sandbox, swift, s3_keys, admin, tmp_path: Path) -> None:
    conf = _remote(tmp_path, sandbox, "swift", s3_keys)
    imgs = [upload_image(admin, unique("bk-sub"), random_bytes(10_000 + i)) for i in range(6)]
    try:
        run_json(conf)
        total = run_json(conf, "verify", "--read-data")["read_objects"]
        half = run_json(conf, "verify", "--read-data-subset", "50%")["read_objects"]
        assert 0 < half < total
        slices = [run_json(conf, "verify", "--read-data-subset", f"{n}/3")["read_objects"]
                  for n in (1, 2, 3)]  # fmt: skip
        assert sum(slices) == total  # the slices cover every object exactly once
        done = run_backup(conf, "verify", "--read-data-subset", "150%")
        assert done.returncode == 2 and "--read-data-subset" in done.stderr
        first = run_json(conf, "snapshots")[-1]["id"]
        admin.update_image(imgs[0].id, glint_note="changed")
        admin.delete_image(imgs[1].id)
        added = upload_image(admin, unique("bk-added"), random_bytes(5000))
        imgs.append(added)
        run_json(conf)
        d = run_json(conf, "diff", first)
        assert [e["id"] for e in d["added"]] == [added.id]
        assert [e["id"] for e in d["removed"]] == [imgs[1].id]
        changed = {e["id"]: e for e in d["changed"]}
        assert "properties" in changed[imgs[0].id]["fields"]
        assert not changed[imgs[0].id]["data_changed"]
        stats = run_json(conf, "stats")
        assert stats["snapshots"] == 2 and stats["images"] >= 6
        assert stats["objects"] >= 7 and stats["stored_bytes"] == stats["original_bytes"]
    finally:
        for img in imgs:
            _delete(admin, img.id)


def test_copy_local_to_swift_moves_only_what_is_missing_verified(
    sandbox, swift, s3_keys, tmp_path: Path
) -> None:
    from tests.backup_helpers import write_config

    local = write_config(tmp_path, sandbox)
    run_json(local)
    url = f"swift://bk-copy-{time.time_ns()}/offsite"
    done = run_json(local, "copy", "--to", url)
    assert len(done["snapshots"]) == 1 and done["objects"] >= 1 and not done["failed"]
    again = run_json(local, "copy", "--to", url)
    assert again["snapshots"] == [] and again["objects"] == 0 and again["skipped"] == 1
    remote = tmp_path / "remote.json"
    doc = json.loads(local.read_text())
    del doc["glint_backup_dir"]
    remote.write_text(json.dumps({**doc, "glint_backup_repository": url}))
    assert run_json(remote, "snapshots") == run_json(local, "snapshots")
    assert run_json(remote, "verify", "--read-data")["ok"]


@pytest.mark.parametrize("size", [200_000, 12 << 20], ids=["one-put", "large"])
@pytest.mark.parametrize("kind", KINDS)
def test_bytes_that_differ_from_glances_sha512_store_nothing(
    sandbox, swift, s3_keys, admin, tmp_path: Path, kind: str, size: int
) -> None:
    """Glance's file is swapped for other bytes of the same size: the upload aborts before
    it commits, the run reports the image (exit 3), and no object, segment or upload stays."""
    conf = _remote(tmp_path, sandbox, kind, s3_keys)
    img = upload_image(admin, unique("bk-swap"), random_bytes(size))
    backing = sandbox.cloud("c1").image_store / img.id
    try:
        backing.write_bytes(random_bytes(size))
        done = run_backup(conf, "--json")
        assert done.returncode == 3, done.stderr
        assert [e["id"] for e in json.loads(done.stdout)["errors"]] == [img.id]
        store = _store(conf)
        try:
            assert not store.has(img.os_hash_value)
            if kind == "swift":  # the sample images' large objects have segments; not this
                assert not [k for k, _ in store.backend.list("segments/")
                            if img.os_hash_value[2:] in k]  # fmt: skip
            else:
                uploads = store.backend.client.list_multipart_uploads(Bucket=store.backend.bucket)
                assert not uploads.get("Uploads")
        finally:
            store.close()
    finally:
        _delete(admin, img.id)
