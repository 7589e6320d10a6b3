"""`glint sandbox up --with-ec2` as a user runs it: the README's commands, end to end.

The emulator is moto in server mode: this proves glint starts, registers, shows and stops
it, not anything about AWS.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import psutil
import pytest

from tests.helpers import free_port_base, run_glint

COLUMNS = ("ec2/eu-west-1:123456789012", "ec2/us-east-1:123456789012")


def moto_row(status: list[dict]) -> dict:
    (row,) = [r["moto"] for r in status if r.get("name") == "ec2"]
    return row


@pytest.mark.sandbox
@pytest.mark.ec2
def test_sandbox_up_with_ec2_shows_moto_as_two_region_columns_and_every_later_up_restarts_it(
    tmp_path: Path,
) -> None:
    env = dict(os.environ, GLINT_HOME=str(tmp_path / "home"))
    env.pop("GLINT_PROFILE", None)
    base = free_port_base(1, lambda b, _shape: [b + 9])  # moto on BASE+9

    def glint(*args: str) -> subprocess.CompletedProcess[str]:
        return run_glint(env, *args, timeout=600)

    def status() -> list[dict]:
        return json.loads(glint("sandbox", "status", "--json").stdout)

    up = glint("sandbox", "up", "-n", "1", "--no-seed", "--with-ec2", "--port-base", str(base))
    try:
        assert up.returncode == 0, up.stderr
        url = f"http://127.0.0.1:{base + 9}"
        assert f"ec2: EC2 emulator (moto) {url}" in up.stderr
        moto = moto_row(status())
        assert moto["running"] and moto["url"] == url
        images = glint("--sandbox", "images")
        header = images.stdout.splitlines()[0]
        assert all(column in header for column in COLUMNS), images.stdout + images.stderr
        # the EC2 columns list without error; right after a fresh up, c1's Keystone (pyuwsgi)
        # has been seen to drop one login here (exit 3): not what this test is about
        assert not [ln for ln in images.stdout.splitlines() if ln.startswith("! ec2")]
        assert images.returncode in (0, 3), images.stdout + images.stderr
        assert glint("sandbox", "down").returncode == 0
        process = psutil.Process(moto["pid"]) if psutil.pid_exists(moto["pid"]) else None
        assert process is None or process.status() == psutil.STATUS_ZOMBIE
        assert "EC2 emulator (moto) " + url + " stopped" in glint("sandbox", "status").stdout
        again = glint("sandbox", "up", "--no-seed")  # no --with-ec2: the sandbox remembers
        assert again.returncode == 0, again.stderr
        assert moto_row(status())["running"]
    finally:
        glint("sandbox", "wipe")
    assert not (tmp_path / "home" / "profiles" / "sandbox").exists()
