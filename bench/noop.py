"""The no-op part of bench/backup.py: glint-backup runs that find nothing new, against the
baselines a listing costs, side by side in alternating rounds.

Sides (each a fresh process, as cron starts it):
- ``listings``: glint-backup reading members from per-project listings (the bench gives
  the sandbox admin a reader role on Keystone's ``service`` project, so it has a role on
  every project: what that path needs);
- ``per-image``: glint-backup with ``glint_backup_members: per-image`` (one GET per shared
  image: what every run does when the account lacks a role on some project);
- ``sdk``: a process listing every image with openstacksdk;
- ``osc``: one plain ``openstack image list --long`` (python-openstackclient from PyPI, in
  a venv of its own under the bench home, made on first use), the issue's baseline.

The admin password reaches the baselines through the environment, never argv.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SDK_LISTING = """
import os, openstack
conn = openstack.connect(auth_url=os.environ["OS_AUTH_URL"], username="admin",
    password=os.environ["OS_PASSWORD"], project_name="admin", user_domain_name="Default",
    project_domain_name="Default", load_yaml_config=False, load_envvars=False)
print(sum(1 for _ in conn.image.images(limit=1000)))
"""


def osc_venv(home: Path) -> Path | None:
    """``openstack`` from python-openstackclient in ``home/osc-venv`` (None if pip fails)."""
    venv = home / "osc-venv"
    exe = venv / "bin" / "openstack"
    if exe.exists():
        return exe
    print("installing python-openstackclient into", venv, flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "python-openstackclient"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as e:
        print(f"no openstack CLI baseline: {e}", flush=True)
        return None
    return exe


def every_project_role(cloud: Any) -> None:
    """Give the sandbox admin a reader role on ``service`` (idempotent)."""
    from glint_tui.sandbox.identity import admin_connection

    conn = admin_connection(cloud)
    try:
        user, role = conn.identity.find_user("admin"), conn.identity.find_role("reader")
        conn.identity.assign_project_role_to_user(conn.identity.find_project("service"), user, role)
    finally:
        conn.close()


def _env(keystone_url: str, password: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(OS_AUTH_URL=keystone_url + "/v3", OS_USERNAME="admin", OS_PASSWORD=password,
               OS_PROJECT_NAME="admin", OS_USER_DOMAIN_NAME="Default",
               OS_PROJECT_DOMAIN_NAME="Default", OS_IDENTITY_API_VERSION="3")  # fmt: skip
    return env


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    t0 = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    elapsed = time.monotonic() - t0
    if done.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return elapsed, done.stdout


def compare(home: Path, root: Path, conf: Path, keystone_url: str, password: str,
            rounds: int, osc: bool) -> dict[str, Any]:  # fmt: skip
    """Alternate every side *rounds* times (the order rotates); medians and ratios."""
    doc = json.loads(conf.read_text())
    confs = {}
    for mode in ("listings", "per-image"):
        confs[mode] = home / f"glint-backup-{mode}.json"
        confs[mode].write_text(json.dumps({**doc, "glint_backup_members": mode}))
    base = [sys.executable, "-m", "glint_backup", "--allow-root", "--json", "-c"]
    env = _env(keystone_url, password)
    sides: dict[str, list[str]] = {m: [*base, str(c)] for m, c in confs.items()}
    sides["sdk"] = [sys.executable, "-c", SDK_LISTING]
    exe = osc_venv(home) if osc else None
    if exe is not None:
        sides["osc"] = [str(exe), "image", "list", "--long", "-f", "value"]
    times: dict[str, list[float]] = {s: [] for s in sides}
    names = list(sides)
    for rnd in range(rounds):
        order = names[rnd % len(names) :] + names[: rnd % len(names)]
        for side in order:
            elapsed, out = _timed(sides[side], env, root)
            if side in confs:
                summary = json.loads(out)
                assert not summary["changed"] and not summary["downloaded"], summary
                want = "from_listings" if side == "listings" else "per_image"
                assert summary["members"][want] == summary["members"]["shared"], summary
            times[side].append(round(elapsed, 2))
        print(f"no-op round {rnd + 1}: " + ", ".join(f"{s} {times[s][-1]:.2f}s" for s in order),
              flush=True)  # fmt: skip
    med = {s: round(statistics.median(t), 2) for s, t in times.items()}
    result: dict[str, Any] = {"noop_s": times, "noop_median_s": med}
    for run in confs:
        for baseline in ("sdk", "osc"):
            if baseline in med:
                result[f"{run}_over_{baseline}"] = round(med[run] / med[baseline], 2)
    ratios = ", ".join(f"{k} {v}" for k, v in result.items() if "_over_" in k)
    medians = ", ".join(f"{s} {v}s" for s, v in med.items())
    print(f"no-op medians: {medians}; ratios: {ratios}", flush=True)
    return result
