"""The secrets glint-backup takes from glint's encrypted keyring, the way cron runs it.

Cron starts glint-backup with a bare environment (PATH, HOME) and no terminal; glint's
encrypted keyring file is then unlocked by the master password file named in
``GLINT_KEYRING_PASSWORD_FILE`` (README: setting it up). The S3 keys
(``glint_backup_s3_key``) and the repository password (``glint_backup_encryption_pw_key``)
are stored there by ``glint-backup set-password --for s3|encryption``, which tries each
first and stores nothing that does not work. Real Swift with its s3api (the sandbox's).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.backup_helpers import remote_config, run_backup, run_json

pytestmark = pytest.mark.sandbox
REPO_PASSWORD = "repository-pass-for-cron"


def _cron_env(tmp_path: Path, master: str = "master-pass-for-cron") -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    password_file = tmp_path / f"keyring-password-{len(master)}"
    password_file.write_text(master + "\n")
    password_file.chmod(0o600)
    return {"PATH": os.environ["PATH"], "HOME": str(home),
            "GLINT_KEYRING_PASSWORD_FILE": str(password_file)}  # fmt: skip


def _one_line(done, code: int, needle: str) -> None:
    assert done.returncode == code, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], lines
    assert "Traceback" not in done.stderr


def test_s3_keys_and_repository_password_from_the_encrypted_keyring_under_cron(
    sandbox, swift, s3_keys, tmp_path: Path
) -> None:
    access, secret = s3_keys
    conf = remote_config(tmp_path, sandbox, "s3", s3_keys)
    doc = json.loads(conf.read_text())
    del doc["glint_backup_s3_credentials_file"]
    doc.update(glint_backup_s3_key="glint-backup-s3", glint_backup_encryption=True,
               glint_backup_encryption_pw_key="glint-backup-repo")  # fmt: skip
    conf.write_text(json.dumps(doc))
    env = _cron_env(tmp_path)

    _one_line(run_backup(conf, env=env, input=""), 2, "'glint-backup-s3' is missing")
    wrong = run_backup(conf, "set-password", "--for", "s3", env=env, input=f"{access}:nope\n")
    _one_line(wrong, 6, "S3 refused these keys")
    _one_line(run_backup(conf, env=env, input=""), 2, "'glint-backup-s3' is missing")
    stored = run_json(conf, "set-password", "--for", "s3", env=env, input=f"{access}:{secret}\n")
    assert stored["stored"] == "glint-backup-s3"
    stored = run_json(conf, "set-password", "--for", "encryption", env=env,
                      input=REPO_PASSWORD + "\n")  # fmt: skip
    assert "no repository yet" in stored["tried"]
    keyring_files = list((tmp_path / "home").rglob("keyring.enc"))
    assert len(keyring_files) == 1
    held = keyring_files[0].read_bytes()
    assert secret.encode() not in held and REPO_PASSWORD.encode() not in held

    # the cron run: no terminal, nothing on stdin, silent on success
    done = run_backup(conf, env=env, input="")
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")
    assert run_json(conf, "verify", "--read-data", env=env, input="")["ok"]
    # the repository is sealed with the stored password: another one is refused, unstored
    other = run_backup(conf, "set-password", "--for", "encryption", env=env, input="not-it\n")
    _one_line(other, 6, "wrong repository password")
    assert run_backup(conf, env=env, input="").returncode == 0

    # a wrong master password file opens nothing: one line, exit 2
    _one_line(run_backup(conf, env=_cron_env(tmp_path, "wrong-master"), input=""), 2,
              "wrong keyring master password")  # fmt: skip
