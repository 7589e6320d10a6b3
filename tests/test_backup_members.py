"""Membership of shared images between runs: Glance's image record does not change when a
member is added, removed or accepts (``updated_at`` stays: checked below), so every run
lists the members of every shared image, and a change makes a new snapshot."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.backup_helpers import latest_manifest, run_json, write_config
from tests.helpers import random_bytes, unique, upload_image

pytestmark = pytest.mark.sandbox


def test_a_member_added_accepted_or_removed_between_runs_makes_a_new_snapshot(
    sandbox, tmp_path: Path
) -> None:
    admin = sandbox.admin_session("c1")
    beta = sandbox.session("c1:beta")
    img = upload_image(admin, unique("bk-share"), random_bytes(4000), visibility="shared")
    try:
        conf = write_config(tmp_path, sandbox)
        run_json(conf)
        stamp = admin.get_image(img.id).updated_at
        time.sleep(1.1)  # updated_at has one-second resolution
        admin.add_member(img.id, beta.project_id)
        assert admin.get_image(img.id).updated_at == stamp  # why members are listed each run

        def members() -> list[dict]:
            entry = {e["id"]: e for e in latest_manifest(tmp_path / "store")["images"]}
            return entry[img.id]["members"]

        added = run_json(conf)
        assert added["changed"] and added["downloaded"] == 0
        assert members() == [{"member_id": beta.project_id, "status": "pending"}]
        assert not run_json(conf)["changed"]
        beta.update_member_status(img.id, beta.project_id, "accepted")
        assert run_json(conf)["changed"]
        assert members() == [{"member_id": beta.project_id, "status": "accepted"}]
        admin.conn.image.delete(f"/images/{img.id}/members/{beta.project_id}")
        removed = run_json(conf)
        assert removed["changed"] and members() == []
    finally:
        admin.delete_image(img.id)
        admin.close()
        beta.close()
