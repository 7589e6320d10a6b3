"""Shared helpers for the glint-backup tests: a config on a sandbox cloud, running the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from glint_tui.sandbox.cloud import ADMIN_PASSWORD


def write_config(tmp: Path, sandbox, cloud: str = "c1", store: Path | None = None,
                 **extra: Any) -> Path:  # fmt: skip
    """A 0600 password file + config for admin on *cloud*; the store dir is created empty."""
    pw = tmp / f"admin-{cloud}.pw"
    if not pw.exists():
        pw.write_text(ADMIN_PASSWORD + "\n")
        pw.chmod(0o600)
    store = store or tmp / "store"
    store.mkdir(exist_ok=True)
    (tmp / "log").mkdir(exist_ok=True)
    doc = {
        "glint_backup_auth_URL": sandbox.cloud(cloud).keystone_url + "/v3",
        "glint_backup_admin_user": "admin",
        "glint_backup_admin_tenant": "admin",
        "glint_backup_admin_pw_key": "glint-backup-admin",
        "glint_backup_admin_pw_file": str(pw),
        "glint_backup_region": "RegionOne",
        "glint_backup_dir": str(store),
        "glint_backup_logfile": str(tmp / "log" / "glint-backup.log"),
        "glint_backup_testing": "False",
    }
    doc.update(extra)
    path = tmp / f"glint-backup-{cloud}.json"
    path.write_text(json.dumps(doc))
    return path


DEAD_URL = "http://127.0.0.1:9/v2.0"  # discard port: any network call would fail loudly


def offline_doc(store: Path, **extra: Any) -> dict[str, Any]:
    """A valid dry-run config that never reaches a cloud (for tests without one)."""
    doc = {
        "glint_backup_auth_URL": DEAD_URL,
        "glint_backup_admin_user": "admin",
        "glint_backup_admin_tenant": "admin",
        "glint_backup_admin_pw_key": "k",
        "glint_backup_dir": str(store),
        "glint_backup_testing": "True",
    }
    doc.update(extra)
    return doc


def backup_cmd(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "glint_backup", "-c", str(config), "--allow-root", *args]


def run_backup(
    config: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    input: str | None = None,
) -> subprocess.CompletedProcess:
    return subprocess.run(
        backup_cmd(config, *args), capture_output=True, text=True, timeout=timeout,
        env=env or dict(os.environ), input=input,
    )  # fmt: skip


def run_json(config: Path, *args: str, expect: int = 0, **kw: Any) -> Any:
    done = run_backup(config, *args, "--json", **kw)
    assert done.returncode == expect, (done.returncode, done.stdout, done.stderr)
    return json.loads(done.stdout)


def snapshot_files(store: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((store / "snapshots").glob("*.json"))}


def latest_manifest(store: Path) -> dict[str, Any]:
    files = sorted((store / "snapshots").glob("*.json"))
    return json.loads(files[-1].read_text())


def remote_config(tmp: Path, sandbox, kind: str, s3_keys: tuple[str, str] | None = None,
                  name: str | None = None, **extra: Any) -> Path:  # fmt: skip
    """A config whose repository is a fresh container (swift) or bucket (s3) of the
    sandbox Swift; 5 MiB segments/parts so a few MiB already make a large object."""
    import uuid

    from glint_tui.sandbox.swift import Swift

    place = name or f"bk-{uuid.uuid4().hex[:10]}"
    doc: dict[str, Any] = {"glint_backup_repository": f"{kind}://{place}/repo",
                           "glint_backup_segment_mb": 5}  # fmt: skip
    if kind == "s3":
        assert s3_keys is not None
        creds = tmp / "s3-credentials"
        creds.write_text(
            f"[default]\naws_access_key_id = {s3_keys[0]}\naws_secret_access_key = {s3_keys[1]}\n"
        )
        creds.chmod(0o600)
        doc.update(glint_backup_s3_endpoint=Swift(sandbox.cloud("c1"), Path()).url,
                   glint_backup_s3_credentials_file=str(creds))  # fmt: skip
    doc.update(extra)
    conf = write_config(tmp, sandbox, **doc)
    raw = json.loads(conf.read_text())
    del raw["glint_backup_dir"]
    conf.write_text(json.dumps(raw))
    return conf
