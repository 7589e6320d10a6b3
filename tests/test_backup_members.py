"""Membership of shared images between runs: Glance's image record does not change when a
member is added, removed, accepts or rejects (``updated_at`` stays: checked below), so each
run reads every shared image's members, and a change makes a new snapshot.

Two paths (``glint_backup.members``): one GET per image, and a few listings per project by
logins without the admin role (an admin's listing ignores ``member_status``), which is
complete only when every project of the cloud is listed. The sandbox admin has no role on
Keystone's ``service`` project, so by default it takes the first; ``every_project`` gives
it a reader role there for the tests of the second.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from glint_backup.project_views import APP_CRED_PREFIX
from glint_tui.sandbox.identity import admin_connection
from tests.backup_helpers import latest_manifest, run_json, write_config
from tests.helpers import random_bytes, unique, upload_image, wait_for

pytestmark = pytest.mark.sandbox


def _members(store: Path, image_id: str) -> list[dict]:
    entry = {e["id"]: e for e in latest_manifest(store)["images"]}
    return entry[image_id]["members"]


def _app_credentials(conn) -> list[dict]:
    path = f"/users/{conn.current_user_id}/application_credentials"
    return [
        c
        for c in conn.identity.get(path).json()["application_credentials"]
        if c["name"].startswith(APP_CRED_PREFIX)
    ]


def _config(tmp: Path, sandbox, members: str, **extra) -> Path:
    """A config reading members the *members* way; every one in *tmp* shares store and log."""
    conf = write_config(tmp, sandbox, glint_backup_members=members, **extra)
    return conf.rename(tmp / f"members-{members}.json")


def _remove_member(admin, image_id: str, member: str) -> None:
    admin.conn.image.delete(f"/images/{image_id}/members/{member}")


@pytest.fixture
def every_project(sandbox) -> Iterator[object]:
    """c1's admin with a (reader) role on every project, service included; undone after."""
    conn = admin_connection(sandbox.cloud("c1"))
    user, role = conn.identity.find_user("admin"), conn.identity.find_role("reader")
    service = conn.identity.find_project("service")
    conn.identity.assign_project_role_to_user(service, user, role)
    try:
        yield conn
    finally:
        conn.identity.unassign_project_role_from_user(service, user, role)
        conn.close()


def test_a_member_added_accepted_or_removed_between_runs_makes_a_new_snapshot(
    sandbox, tmp_path: Path
) -> None:
    admin = sandbox.admin_session("c1")
    beta = sandbox.session("c1:beta")
    img = upload_image(admin, unique("bk-share"), random_bytes(4000), visibility="shared")
    try:
        conf = write_config(tmp_path, sandbox)
        first = run_json(conf)
        # the sandbox admin has no role on project service: one GET per image, and why
        assert first["members"]["from_listings"] == 0 and first["members"]["per_image"] >= 1
        assert "no role on project(s) service" in first["members"]["why_per_image"]
        stamp = admin.get_image(img.id).updated_at
        time.sleep(1.1)  # updated_at has one-second resolution
        admin.add_member(img.id, beta.project_id)
        assert admin.get_image(img.id).updated_at == stamp  # why members are read each run

        added = run_json(conf)
        assert added["changed"] and added["downloaded"] == 0
        assert _members(tmp_path / "store", img.id) == [
            {"member_id": beta.project_id, "status": "pending"}
        ]
        assert not run_json(conf)["changed"]
        beta.update_member_status(img.id, beta.project_id, "accepted")
        assert run_json(conf)["changed"]
        assert _members(tmp_path / "store", img.id) == [
            {"member_id": beta.project_id, "status": "accepted"}
        ]
        _remove_member(admin, img.id, beta.project_id)
        removed = run_json(conf)
        assert removed["changed"] and _members(tmp_path / "store", img.id) == []
    finally:
        admin.delete_image(img.id)
        admin.close()
        beta.close()


def test_with_a_role_on_every_project_members_come_from_project_listings_and_every_change_shows(
    sandbox, every_project, tmp_path: Path
) -> None:
    """Added, accepted, rejected (still listed to the member with member_status=rejected),
    removed; a hidden image; an image owned by a member project: all as the per-image path
    records them, through reader application credentials that are gone after every run."""
    admin = sandbox.admin_session("c1")
    alpha, beta = sandbox.session("c1:alpha"), sandbox.session("c1:beta")
    mine = upload_image(admin, unique("bk-lst"), random_bytes(3000), visibility="shared")
    theirs = upload_image(alpha, unique("bk-lst-alpha"), random_bytes(3000), visibility="shared")
    hidden = upload_image(admin, unique("bk-lst-hidden"), random_bytes(3000), visibility="shared")
    admin.update_image(hidden.id, hidden=True)
    store = tmp_path / "store"
    try:
        conf = _config(tmp_path, sandbox, "listings")
        per_image = _config(tmp_path, sandbox, "per-image")
        first = run_json(conf)["members"]
        assert first["per_image"] == 0 and first["from_listings"] == first["shared"] > 0
        assert first["application_credentials"] >= 1  # admin's own projects need one
        assert _app_credentials(every_project) == []

        admin.add_member(mine.id, beta.project_id)
        alpha.add_member(theirs.id, beta.project_id)
        alpha.add_member(theirs.id, admin.project_id)
        admin.add_member(hidden.id, alpha.project_id)
        assert run_json(conf)["changed"]
        assert _members(store, mine.id) == [{"member_id": beta.project_id, "status": "pending"}]
        assert _members(store, theirs.id) == sorted(
            [
                {"member_id": beta.project_id, "status": "pending"},
                {"member_id": admin.project_id, "status": "pending"},
            ],
            key=lambda m: m["member_id"],
        )
        assert _members(store, hidden.id) == [{"member_id": alpha.project_id, "status": "pending"}]
        # the other path records exactly the same: switching paths makes no snapshot
        assert not run_json(per_image)["changed"]

        beta.update_member_status(mine.id, beta.project_id, "accepted")
        alpha.update_member_status(hidden.id, alpha.project_id, "rejected")
        assert run_json(conf)["changed"]
        assert _members(store, mine.id) == [{"member_id": beta.project_id, "status": "accepted"}]
        assert _members(store, hidden.id) == [{"member_id": alpha.project_id, "status": "rejected"}]
        assert not run_json(conf)["changed"]

        _remove_member(admin, mine.id, beta.project_id)
        _remove_member(alpha, theirs.id, admin.project_id)
        done = run_json(conf)
        assert done["changed"] and done["members"]["per_image"] == 0
        assert _members(store, mine.id) == []
        assert _members(store, theirs.id) == [{"member_id": beta.project_id, "status": "pending"}]
        assert not run_json(per_image)["changed"]
        assert _app_credentials(every_project) == []
        log = (tmp_path / "log" / "glint-backup.log").read_text()
        assert "from project listings" in log and "read one image at a time" in log
    finally:
        for session, image in ((admin, mine), (alpha, theirs), (admin, hidden)):
            session.delete_image(image.id)
        for session in (admin, alpha, beta):
            session.close()


def test_a_member_in_a_project_the_account_cannot_scope_to_is_read_per_image(
    sandbox, every_project, tmp_path: Path
) -> None:
    """No listing by anyone this account can log in as shows a share to such a project, so
    the run reads every shared image's members one at a time, and sees it."""
    admin = sandbox.admin_session("c1")
    img = upload_image(admin, unique("bk-far"), random_bytes(3000), visibility="shared")
    far = every_project.identity.create_project(name=unique("bk-noaccess"), domain_id="default")
    try:
        conf = _config(tmp_path, sandbox, "listings")
        admin.add_member(img.id, far.id)
        run = run_json(conf)
        assert run["members"]["from_listings"] == 0
        assert f"no role on project(s) {far.name}" in run["members"]["why_per_image"]
        assert _members(tmp_path / "store", img.id) == [{"member_id": far.id, "status": "pending"}]
    finally:
        admin.delete_image(img.id)
        admin.close()
        every_project.identity.delete_project(far)


def test_a_recorded_member_that_is_no_project_keeps_its_image_read_per_image(
    sandbox, every_project, tmp_path: Path
) -> None:
    """Glance takes any string as a member, and no project's listing shows such a member;
    once recorded (by a per-image run), its image stays per image, so its removal shows."""
    admin = sandbox.admin_session("c1")
    img = upload_image(admin, unique("bk-stray"), random_bytes(3000), visibility="shared")
    store = tmp_path / "store"
    try:
        admin.add_member(img.id, "no-such-project")
        run_json(_config(tmp_path, sandbox, "per-image"))
        assert _members(store, img.id) == [{"member_id": "no-such-project", "status": "pending"}]
        conf = _config(tmp_path, sandbox, "listings")
        kept = run_json(conf)
        assert not kept["changed"] and kept["members"]["per_image"] == 1
        assert "no project or its own owner" in kept["members"]["why_per_image"]
        _remove_member(admin, img.id, "no-such-project")
        assert run_json(conf)["changed"] and _members(store, img.id) == []
    finally:
        admin.delete_image(img.id)
        admin.close()


def test_a_dry_run_makes_no_application_credential_and_expired_ones_are_removed(
    sandbox, every_project, tmp_path: Path
) -> None:
    conf = _config(tmp_path, sandbox, "listings")
    dry = run_json(conf, "--dry-run")["members"]
    assert dry["from_listings"] == 0 and "dry run" in dry["why_per_image"]
    assert _app_credentials(every_project) == []
    # what a killed run leaves: a credential of ours that expires; the next run removes it
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=2)
    path = f"/users/{every_project.current_user_id}/application_credentials"
    body = {"name": f"{APP_CRED_PREFIX}left-behind", "roles": [{"name": "reader"}],
            "expires_at": expires.replace(tzinfo=None).isoformat()}  # fmt: skip
    every_project.identity.post(path, json={"application_credential": body})
    assert len(_app_credentials(every_project)) == 1
    wait_for(lambda: datetime.now(timezone.utc) > expires, timeout=10, what="its expiry")
    run_json(conf)
    assert _app_credentials(every_project) == []
    log = (tmp_path / "log" / "glint-backup.log").read_text()
    assert "removed 1 expired application credential(s)" in log


def test_a_non_admin_account_lists_the_shares_to_its_projects_and_reads_its_own_per_image(
    sandbox, tmp_path: Path
) -> None:
    """alice covers project alpha: a share *to* alpha (owned by beta) comes from alpha's
    listings; an image alpha owns is read per image, so a member she cannot list (beta)
    is still recorded."""
    alpha, beta = sandbox.session("c1:alpha"), sandbox.session("c1:beta")
    inbound = upload_image(beta, unique("bk-in"), random_bytes(3000), visibility="shared")
    outbound = upload_image(alpha, unique("bk-out"), random_bytes(3000), visibility="shared")
    store = tmp_path / "store"
    try:
        beta.add_member(inbound.id, alpha.project_id)
        alpha.add_member(outbound.id, beta.project_id)
        pw = tmp_path / "alice.pw"
        pw.write_text("alice-pass\n")
        pw.chmod(0o600)
        conf = write_config(tmp_path, sandbox, glint_backup_admin_user="alice",
                            glint_backup_admin_tenant="alpha", glint_backup_projects=["alpha"],
                            glint_backup_admin_pw_file=str(pw))  # fmt: skip
        first = run_json(conf)["members"]
        assert first["from_listings"] >= 1 and first["per_image"] >= 1
        assert first["application_credentials"] == 0
        assert "owned by a covered project" in first["why_per_image"]
        assert _members(store, inbound.id) == [{"member_id": alpha.project_id, "status": "pending"}]
        assert _members(store, outbound.id) == [{"member_id": beta.project_id, "status": "pending"}]
        alpha.update_member_status(inbound.id, alpha.project_id, "accepted")
        assert run_json(conf)["changed"]
        assert _members(store, inbound.id) == [
            {"member_id": alpha.project_id, "status": "accepted"}
        ]
        beta.update_member_status(outbound.id, beta.project_id, "rejected")
        assert run_json(conf)["changed"]
        assert _members(store, outbound.id) == [
            {"member_id": beta.project_id, "status": "rejected"}
        ]
    finally:
        beta.delete_image(inbound.id)
        alpha.delete_image(outbound.id)
        alpha.close()
        beta.close()
