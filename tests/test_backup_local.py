"""glint-backup without a cloud: config validation, examples, retention, lock, startup."""

from __future__ import annotations

import configparser
import json
import os
import shlex
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from glint_backup import config as cfg
from glint_backup import logsetup
from glint_backup.cli import build_parser, main
from glint_backup.daemon import parse_interval
from glint_backup.errors import BackupConfigError, Locked
from glint_backup.lock import locked
from glint_backup.retention import Policy, select
from tests.backup_helpers import backup_cmd, offline_doc

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "config"


def _good(tmp_path: Path) -> dict:
    return offline_doc(tmp_path)


def _run_with(tmp_path: Path, doc: dict) -> subprocess.CompletedProcess:
    path = tmp_path / "c.json"
    path.write_text(json.dumps(doc))
    return subprocess.run(backup_cmd(path), capture_output=True, text=True, timeout=60)


def test_original_glint_config_drops_in_and_v2_url_becomes_v3(tmp_path: Path) -> None:
    doc = _good(tmp_path)
    doc["glint_backup_hiera_config"] = "/etc/hiera.yaml"
    doc["glint_backup_logfile"] = "/var/log/glint-backup.log"
    conf = cfg.validate(doc, tmp_path / "x.json")
    assert conf.auth_url == "http://127.0.0.1:9/v3"
    assert conf.testing is True
    assert cfg.validate({**doc, "glint_backup_testing": False}, tmp_path).testing is False


@pytest.mark.parametrize(
    "change, named",
    [
        ({"glint_backup_colour": "blue"}, "glint_backup_colour"),
        ({"glint_backup_dir": 5}, "glint_backup_dir"),
        ({"glint_backup_testing": "maybe"}, "glint_backup_testing"),
        ({"glint_backup_page_size": "10"}, "glint_backup_page_size"),
        ({"glint_backup_admin_user": None}, "glint_backup_admin_user"),
    ],
)
def test_bad_config_is_exit_2_naming_the_key_before_any_network(
    tmp_path: Path, change: dict, named: str
) -> None:
    doc = {**_good(tmp_path), **change}
    doc = {k: v for k, v in doc.items() if v is not None}
    done = _run_with(tmp_path, doc)
    assert done.returncode == 2
    assert named in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_missing_config_and_invalid_json_are_exit_2(tmp_path: Path) -> None:
    done = subprocess.run(backup_cmd(tmp_path / "nope.json"), capture_output=True, text=True)
    assert done.returncode == 2 and "not found" in done.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{ nope")
    done = subprocess.run(backup_cmd(bad), capture_output=True, text=True)
    assert done.returncode == 2 and "not valid JSON" in done.stderr


def test_password_file_must_be_0600(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("secret-value-123\n")
    pw.chmod(0o644)
    doc = {**_good(tmp_path), "glint_backup_admin_pw_file": str(pw)}
    done = _run_with(tmp_path, doc)
    assert done.returncode == 2
    assert "chmod 600" in done.stderr
    assert "secret-value-123" not in done.stderr + done.stdout


def test_refuses_root_without_allow_root(tmp_path: Path, monkeypatch, capsys) -> None:
    """Seen as root (geteuid patched, so this runs for every user, root or not)."""
    path = tmp_path / "c.json"
    path.write_text(json.dumps(_good(tmp_path)))
    monkeypatch.setattr(logsetup.get(), "handlers", [])  # main() sets up logging in-process
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert main(["-c", str(path), "snapshots"]) == 2
    assert "refusing to run as root" in capsys.readouterr().err
    # --allow-root, or another user, gets past the check to the next problem: the
    # backup directory is not a store (exit 5), found without any network call
    assert main(["-c", str(path), "--allow-root", "snapshots"]) == 5
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    assert main(["-c", str(path), "snapshots"]) == 5
    assert "refusing to run as root" not in capsys.readouterr().err


def test_help_starts_without_ui_textual_or_openstack() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from glint_backup import cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: cli.main(['--help'])\n"
        "    except SystemExit: pass\n"
        "bad = [m for m in sys.modules if m.startswith(('textual', 'glint_tui.ui', 'openstack'))]\n"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    helptext = subprocess.run(
        [sys.executable, "-m", "glint_backup", "--help"], capture_output=True, text=True
    ).stdout
    assert "exit codes:" in helptext and "locked" not in helptext.split("exit codes:")[0]


def test_lock_is_exclusive_and_freed(tmp_path: Path) -> None:
    with locked(tmp_path), pytest.raises(Locked), locked(tmp_path):
        pass
    with locked(tmp_path):  # released when the holder is done
        pass


def test_retention_rules_combine_and_empty_policy_is_refused() -> None:
    base = datetime(2026, 3, 31, 12, tzinfo=timezone.utc)
    # two snapshots a day for 60 days, newest first
    items = [(f"s{i:03d}", base - timedelta(hours=12 * i)) for i in range(120)]
    keep = select(items, Policy(last=3))
    assert sorted(keep) == ["s000", "s001", "s002"]
    keep = select(items, Policy(daily=7))
    assert len(keep) == 7 and "s000" in keep and "s013" not in keep
    keep = select(items, Policy(last=1, monthly=3))
    # newest of March, February, January
    assert len(keep) == 3 and "s000" in keep
    keep = select(items, Policy(last=2, weekly=2))
    assert {"s000", "s001"} <= set(keep) and len(keep) == 3
    with pytest.raises(BackupConfigError):
        select(items, Policy())


def test_every_interval_parsing() -> None:
    assert parse_interval("6h") == 21600 and parse_interval("30m") == 1800
    assert parse_interval("90") == 90 and parse_interval("1d") == 86400
    assert parse_interval("31d") == 31 * 86400 and parse_interval("1m") == 60
    for bad in ("", "0h", "6 hours", "-1m", "45s", "32d", "99999999999h"):
        with pytest.raises(BackupConfigError):
            parse_interval(bad)


# -- the config/ examples ------------------------------------------------------------------
def test_example_json_config_validates() -> None:
    conf = cfg.load(EXAMPLES / "glint-backup.json", check_paths=False)
    assert conf.auth_url.endswith("/v3") and conf.testing is False
    assert conf.pw_key == "glint-backup-admin"
    offsite = cfg.load(EXAMPLES / "glint-backup-offsite.json", check_paths=False)
    assert offsite.repository.startswith("swift://") and offsite.encryption
    assert offsite.compression == "auto" and offsite.metrics_file and offsite.healthcheck_url


def test_example_systemd_units_parse_and_agree() -> None:
    service = configparser.ConfigParser(strict=False, interpolation=None)
    service.optionxform = str
    service.read(EXAMPLES / "glint-backup.service")
    assert service["Service"]["Type"] == "oneshot"
    exec_start = shlex.split(service["Service"]["ExecStart"])
    assert exec_start[0].endswith("glint-backup")
    args = build_parser().parse_args(exec_start[1:])
    assert args.config == Path("/etc/glint/glint-backup.json")
    # the credential name is the example config's pw key
    cred_name = service["Service"]["LoadCredential"].split(":")[0]
    assert cred_name == cfg.load(EXAMPLES / "glint-backup.json", check_paths=False).pw_key
    assert service["Service"]["User"] != "root"
    timer = configparser.ConfigParser(strict=False, interpolation=None)
    timer.read(EXAMPLES / "glint-backup.timer")
    assert timer["Timer"]["OnCalendar"] and timer["Install"]["WantedBy"] == "timers.target"


def test_example_crontab_and_logrotate_match_the_config() -> None:
    lines = [
        line
        for line in (EXAMPLES / "glint-backup.crontab").read_text().splitlines()
        if line.strip() and not line.startswith("#") and "=" not in line.split()[0]
    ]
    assert len(lines) == 1
    fields = lines[0].split(None, 5)
    assert len(fields) == 6
    command = shlex.split(fields[5])
    assert command[0].endswith("glint-backup")
    args = build_parser().parse_args(command[1:])
    assert args.config == Path("/etc/glint/glint-backup.json") and not args.allow_root
    logfile = cfg.load(EXAMPLES / "glint-backup.json", check_paths=False).logfile
    text = (EXAMPLES / "glint-backup.logrotate").read_text()
    assert str(logfile) in text and "copytruncate" not in text.replace("neither copytruncate", "")
