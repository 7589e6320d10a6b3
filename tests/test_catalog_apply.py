"""`glint catalog plan|apply` end to end: the sandbox's real Keystone + Glance clouds and a
loopback HTTP mirror the test starts (tests/mirror.py), serving qcow2 images qemu-img made
and a SHA512SUMS file. Each test has its own catalog entry (a unique name), so tests never
see each other's images."""

from __future__ import annotations

import hashlib
import json

import pytest

from glint_tui.core.catalog.naming import (
    CONVERTED_FROM,
    ENTRY,
    RETIRED_AT,
    SOURCE_CHECKSUM,
    SOURCE_SHA512,
    VERSION,
)
from glint_tui.core.model import ImageRecord
from tests.catalog_helpers import Upstream
from tests.helpers import download_sha512, glint, unique
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
