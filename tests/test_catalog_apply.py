"""`glint catalog plan|apply` end to end: the sandbox's real Keystone + Glance clouds and a
loopback HTTP mirror the test starts (tests/mirror.py), serving qcow2 images qemu-img made
and a SHA512SUMS file. Each test has its own catalog entry (a unique name), so tests never
see each other's images."""

from __future__ import annotations

import argparse
import hashlib
import json
import threading

import pytest

from glint_tui.commands.catalog import apply_every
from glint_tui.core.catalog.naming import (
    CONVERTED_FROM,
    ENTRY,
    RETIRED_AT,
    SOURCE_CHECKSUM,
    SOURCE_SHA512,
    VERSION,
)
from glint_tui.core.locks import only_one
from glint_tui.core.model import ImageRecord
from tests.catalog_helpers import Upstream
from tests.helpers import download_sha512, glint, unique, upload_image, wait_for
from tests.mirror import Mirror

pytestmark = pytest.mark.sandbox


@pytest.fixture
def mirror():
    with Mirror() as m:
        yield m


@pytest.fixture
def upstream(mirror, tmp_path) -> Upstream:
    return Upstream(mirror, tmp_path, unique("deb"))


def entry_images(sandbox, ref: str, entry: str) -> list[ImageRecord]:
    """Every image *ref* sees (owned or shared to it) that says it is of *entry*."""
    with sandbox.session(ref) as session:
        return sorted(
            (i for i in session.list_images() if i.properties.get(ENTRY) == entry),
            key=lambda i: i.properties.get(VERSION, ""),
        )


def owned(sandbox, ref: str, entry: str) -> list[ImageRecord]:
    with sandbox.session(ref) as session:
        me = session.project_id
    return [i for i in entry_images(sandbox, ref, entry) if i.owner == me]


def apply(sandbox, path, *more: str):
    done = glint(sandbox, "catalog", "apply", str(path), *more)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def plan_json(sandbox, path) -> dict:
    done = glint(sandbox, "catalog", "plan", str(path), "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_first_apply_uploads_verifies_shares_and_converts_on_one_cloud(sandbox, upstream):
    v1 = "20261101"
    upstream.publish(v1)
    path = upstream.catalog_file(
        to=["c1:alpha", "c2:alpha", "c3:alpha"], share_with=["beta"], convert_to={"c3": "raw"}
    )
    shown = glint(sandbox, "catalog", "plan", str(path))
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert f"upload    {upstream.name} {v1} as '{upstream.name} ({v1})' (qcow2" in text
    assert "(raw, converted from qcow2" in text and "share     " in text

    done = apply(sandbox, path)
    assert "fetched and checked against sha512" in done.stderr

    source = upstream.sha512(v1)
    for ref in ("c1:alpha", "c2:alpha"):
        (image,) = owned(sandbox, ref, upstream.name)
        assert image.name == upstream.name  # the newest holds the plain name
        assert image.status == "active" and image.disk_format == "qcow2"
        assert image.content_key == f"sha512:{source}"
        assert image.properties[SOURCE_SHA512] == source
        assert image.properties[SOURCE_CHECKSUM] == f"sha512:{source}"
        assert image.properties[VERSION] == v1 and image.properties["os_distro"] == "debian"
        assert image.visibility == "shared"
    (raw,) = owned(sandbox, "c3:alpha", upstream.name)
    disk = upstream.disks[v1]
    assert raw.disk_format == "raw" and raw.properties[CONVERTED_FROM] == "qcow2"
    assert raw.content_key == f"sha512:{hashlib.sha512(disk).hexdigest()}"  # its own key
    assert raw.properties[SOURCE_SHA512] == source  # and it carries the source's
    with sandbox.session("c3:alpha") as session:
        assert download_sha512(session, raw.id) == hashlib.sha512(disk).hexdigest()

    for cloud in ("c1", "c2", "c3"):  # shared with beta, and accepted with bob's credentials
        (mine,) = owned(sandbox, f"{cloud}:alpha", upstream.name)
        with sandbox.session(f"{cloud}:alpha") as alice, sandbox.session(f"{cloud}:beta") as bob:
            members = {m.member_id: m.status for m in alice.list_members(mine.id)}
            assert members == {bob.project_id: "accepted"}
        assert [i.id for i in entry_images(sandbox, f"{cloud}:beta", upstream.name)] == [mine.id]

    again = plan_json(sandbox, path)
    assert again["plan"]["steps"] == [] and again["plan"]["refusals"] == []


def test_a_new_upstream_version_is_applied_the_older_hidden_and_keep_respected(sandbox, upstream):
    versions = ["20261001", "20261101", "20261201"]
    path = upstream.catalog_file(to=["c1:alpha", "c2:alpha"], keep=2, retire="hide")
    for version in versions:
        upstream.publish(version)
        apply(sandbox, path)
    for ref in ("c1:alpha", "c2:alpha"):
        by_version = {i.properties[VERSION]: i for i in owned(sandbox, ref, upstream.name)}
        assert sorted(by_version) == versions
        newest, second, oldest = (by_version[v] for v in reversed(versions))
        assert newest.name == upstream.name and not newest.hidden
        assert second.name == f"{upstream.name} ({versions[1]})" and not second.hidden
        assert oldest.name == f"{upstream.name} ({versions[0]})" and oldest.hidden  # beyond keep
        assert RETIRED_AT in oldest.properties and RETIRED_AT not in second.properties
        assert all(i.status == "active" for i in by_version.values())  # hiding keeps bytes
    again = plan_json(sandbox, path)
    assert again["plan"]["steps"] == []


def test_a_corrupted_upstream_file_is_refused_and_no_image_is_created_anywhere(sandbox, upstream):
    upstream.publish("20261101", checksum_of=b"what the mirror should have served")
    path = upstream.catalog_file(to=["c1:alpha", "c2:alpha"])
    done = glint(sandbox, "catalog", "apply", str(path))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "sha512" in done.stderr
    for ref in ("c1:alpha", "c2:alpha"):
        assert entry_images(sandbox, ref, upstream.name) == []


def test_a_mirror_that_drops_mid_download_is_resumed_and_every_copy_verifies(
    sandbox, mirror, tmp_path
):
    upstream = Upstream(mirror, tmp_path, unique("deb"), disk_size=8 << 20)
    v1 = "20261101"
    size = len(upstream.publish(v1))
    mirror.drops = [1 << 30, size // 2]  # the checksum file whole, then the image cut short
    path = upstream.catalog_file(to=["c1:alpha", "c2:alpha"])
    done = apply(sandbox, path)
    assert "resumed 1x" in done.stderr
    fetches = [r for r in mirror.requests if r.path == upstream.path(v1)]
    assert [r.status for r in fetches] == [200, 206]
    resumed_at = int(fetches[1].range.removeprefix("bytes=").rstrip("-"))
    assert 0 < resumed_at <= size // 2 and fetches[1].sent == size - resumed_at
    for ref in ("c1:alpha", "c2:alpha"):
        (image,) = owned(sandbox, ref, upstream.name)
        assert image.content_key == f"sha512:{upstream.sha512(v1)}"
        with sandbox.session(ref) as session:
            assert download_sha512(session, image.id) == upstream.sha512(v1)


def test_retirement_never_deletes_a_protected_image(sandbox, upstream):
    path = upstream.catalog_file(to=["c1:alpha"], keep=1, retire="delete")
    upstream.publish("20261101")
    apply(sandbox, path)
    (old,) = owned(sandbox, "c1:alpha", upstream.name)
    with sandbox.session("c1:alpha") as session:
        session.update_image(old.id, protected=True)
    try:
        upstream.publish("20261201")
        done = glint(sandbox, "catalog", "apply", str(path), "--yes")
        assert done.returncode == 3, done.stdout + done.stderr  # uploaded, retirement refused
        assert f"{old.id} is protected: not deleted" in done.stderr
        by_version = {i.properties[VERSION]: i for i in owned(sandbox, "c1:alpha", upstream.name)}
        assert sorted(by_version) == ["20261101", "20261201"]
        assert by_version["20261101"].status == "active"
        assert by_version["20261201"].name == upstream.name
    finally:
        with sandbox.session("c1:alpha") as session:
            session.update_image(old.id, protected=False)


def test_retirement_never_touches_an_image_the_project_does_not_own(sandbox, upstream):
    """bob (c1:beta) made v1 himself, with the entry's properties, and shared it with
    alpha: alpha sees it as its v1, but glint never retires it through alpha."""
    v1, v2 = "20261101", "20261201"
    upstream.publish(v1)
    upstream.publish(v2)
    source = upstream.sha512(v1)
    props = {ENTRY: upstream.name, VERSION: v1, SOURCE_SHA512: source}
    props[SOURCE_CHECKSUM] = f"sha512:{source}"
    with sandbox.session("c1:beta") as bob, sandbox.session("c1:alpha") as alice:
        theirs = upload_image(
            bob, f"{upstream.name} ({v1})", upstream.files[v1], "qcow2", "shared", **props
        )
        bob.add_member(theirs.id, alice.project_id)
        alice.update_member_status(theirs.id, alice.project_id, "accepted")
    path = upstream.catalog_file(to=["c1:alpha"], keep=1, retire="hide")
    done = glint(sandbox, "catalog", "apply", str(path))
    assert done.returncode == 3, done.stdout + done.stderr
    assert "owned by another project" in done.stderr
    with sandbox.session("c1:beta") as bob:
        after = bob.get_image(theirs.id)
    assert not after.hidden and after.name == theirs.name and after.status == "active"
    (mine,) = owned(sandbox, "c1:alpha", upstream.name)
    assert (mine.properties[VERSION], mine.name) == (v2, upstream.name)


def test_retirement_never_deletes_the_last_copy_while_another_cloud_cannot_be_listed(
    sandbox, upstream
):
    """c2 is down: its copy of v1 cannot be seen, so c1's is the last glint can see of a
    version c2 may still keep, and is not deleted; once c2 is back, both go."""
    v1, v2 = "20261101", "20261201"
    path = upstream.catalog_file(to=["c1:alpha", "c2:alpha"], keep=1, retire="delete")
    upstream.publish(v1)
    apply(sandbox, path)
    (old,) = owned(sandbox, "c1:alpha", upstream.name)
    upstream.publish(v2)
    sandbox.cloud("c2").stop(("glance",))
    try:
        done = glint(sandbox, "catalog", "apply", str(path), "--yes")
        assert done.returncode == 3, done.stdout + done.stderr
        assert "is the last verified copy" in done.stderr
        with sandbox.session("c1:alpha") as session:
            assert session.get_image(old.id).status == "active"
    finally:
        sandbox.ensure_running()
    asked = glint(sandbox, "catalog", "apply", str(path))  # deletes: no terminal, no --yes
    assert asked.returncode == 2, asked.stdout + asked.stderr
    with sandbox.session("c1:alpha") as session:
        assert session.get_image(old.id).status == "active"
    done = apply(sandbox, path, "--yes")
    assert "in-use check not possible at c1:alpha" in done.stderr  # the sandbox has no Nova
    for ref in ("c1:alpha", "c2:alpha"):
        assert [i.properties[VERSION] for i in owned(sandbox, ref, upstream.name)] == [v2]


def test_the_schedule_loop_runs_again_after_a_failed_run(sandbox, upstream, mirror):
    """``--every``'s loop (with the real ``schedule`` package, a 1 s interval): the first
    run fails (upstream has no checksum file yet), the loop goes on, a later run applies
    what upstream published meanwhile, and stopping it between runs exits 0."""
    path = upstream.catalog_file(to=["c1:alpha"])
    args = argparse.Namespace(file=str(path), yes=False, json=False, quiet=True, every="1s")
    stop = threading.Event()
    box: dict[str, int] = {}
    loop = threading.Thread(target=lambda: box.update(code=apply_every(args, 1, stop)))
    loop.start()
    try:
        sums = f"{upstream.name}/SHA512SUMS"

        def failed_once() -> bool:
            return any(r.path == sums and r.status == 404 for r in mirror.requests)

        wait_for(failed_once, timeout=60, what="a first run that fails")
        upstream.publish("20261101")
        wait_for(lambda: owned(sandbox, "c1:alpha", upstream.name), 120, "v1", every=1)
    finally:
        stop.set()
        loop.join(120)
    assert not loop.is_alive() and box == {"code": 0}
    assert sum(r.path == sums for r in mirror.requests) >= 2


def test_a_second_catalog_run_while_one_holds_the_lock_does_nothing(sandbox, upstream):
    upstream.publish("20261101")
    path = upstream.catalog_file(to=["c1:alpha"])
    with only_one(sandbox.paths.state_dir / "catalog.lock"):
        done = glint(sandbox, "catalog", "apply", str(path))
    assert done.returncode == 1
    assert "another catalog run of this glint profile is in progress" in done.stderr
    assert entry_images(sandbox, "c1:alpha", upstream.name) == []


def test_a_bad_catalog_is_one_line_per_problem_exit_2_and_nothing_changes(
    sandbox, upstream, mirror
):
    upstream.publish("20261101")
    path = upstream.catalog_file(to=["c1:alpha"], keep="two", visibility="everyone")
    for action in ("plan", "apply"):
        more = ("--yes",) if action == "apply" else ()
        done = glint(sandbox, "catalog", action, str(path), *more)
        assert done.returncode == 2, done.stdout + done.stderr
        assert "Traceback" not in done.stderr and done.stdout == ""
        assert f"images[0] ({upstream.name}): keep: must be a whole number" in done.stderr
        assert f"images[0] ({upstream.name}): visibility:" in done.stderr
    assert mirror.requests == []  # not even upstream was asked
    assert entry_images(sandbox, "c1:alpha", upstream.name) == []
