"""The catalog planner's placement and naming, on hand-built matrices (no cloud needed:
the matrix is what an inventory would have produced; the same rules run end to end
against the sandbox in stage 2)."""

from __future__ import annotations

import json

from glint_tui.core.catalog.naming import (
    CONVERTED_FROM,
    ENTRY,
    SOURCE_SHA512,
    SOURCE_URL,
    VERSION,
)
from glint_tui.core.catalog.upstream import Resolution
from tests.catalog_helpers import (
    C2,
    C3,
    ENTRY_NAME,
    A,
    B,
    catalog,
    entry_yaml,
    foreign,
    image,
    matrix,
    plan,
    reasons,
    source_sha,
    upstream,
)

V1, V2, V3 = "20261001", "20261101", "20261120"


def test_a_first_run_uploads_the_newest_version_once_per_format_and_names_it_after_it_verified():
    cat = catalog(entry_yaml(to=["c1:alpha", "c2:alpha", "c3:alpha"], convert_to={"c3": "raw"}))
    p = plan(cat, upstream(V1, V2, V3), matrix({}))

    by_format = {u.disk_format: u for u in p.uploads}
    assert sorted(by_format) == ["qcow2", "raw"]
    qcow2, raw = by_format["qcow2"], by_format["raw"]
    assert [t.ref for t in qcow2.targets] == [A, C2] and [t.ref for t in raw.targets] == [C3]
    assert qcow2.version == raw.version == V3  # only the newest: versions: latest
    assert {t.name for t in (*qcow2.targets, *raw.targets)} == {f"{ENTRY_NAME} ({V3})"}
    assert qcow2.content_key == f"sha512:{source_sha(V3)}" and qcow2.convert_from is None
    assert raw.convert_from == "qcow2" and raw.content_key is None  # known once converted
    for up in (qcow2, raw):
        props = up.properties
        assert props[ENTRY] == ENTRY_NAME and props[VERSION] == V3
        assert props[SOURCE_SHA512] == source_sha(V3) and props[SOURCE_URL] == up.url
        assert props["os_distro"] == "debian"
    assert raw.properties[CONVERTED_FROM] == "qcow2" and CONVERTED_FROM not in qcow2.properties
    promotes = {r.ref: r for r in p.renames}
    assert set(promotes) == {A, C2, C3}
    for ref, rename in promotes.items():
        upload = qcow2 if ref != C3 else raw
        assert rename.new_name == ENTRY_NAME and rename.why == "promote"
        assert rename.upload == upload.id and upload.id in rename.after
    assert not p.retires and not p.refusals


def test_a_new_version_takes_the_plain_name_only_after_the_old_one_stepped_aside():
    cat = catalog(entry_yaml())
    old = image("i2", V2, A, name=ENTRY_NAME)
    p = plan(cat, upstream(V2, V3), matrix({A: [old]}))

    (upload,) = p.uploads
    aside, promote = sorted(p.renames, key=lambda r: r.why != "step-aside")
    assert (aside.image_id, aside.old_name, aside.new_name) == (
        "i2",
        ENTRY_NAME,
        f"{ENTRY_NAME} ({V2})",
    )
    assert aside.after == (upload.id,)  # the old one moves only once the new one verified here
    assert promote.upload == upload.id and promote.new_name == ENTRY_NAME
    assert set(promote.after) == {upload.id, aside.id}  # never two images named debian-12
    assert not p.retires  # keep: 2


def test_a_column_whose_new_version_fails_keeps_its_old_one_under_the_plain_name():
    """Every rename and retirement in a column waits for that column's upload: the engine
    skips a step whose prerequisite failed, so a failed upload changes nothing there."""
    cat = catalog(entry_yaml(keep=1, to=["c1:alpha", "c2:alpha"]))
    olds = {A: image("a2", V2, A, name=ENTRY_NAME), C2: image("b2", V2, C2, name=ENTRY_NAME)}
    p = plan(cat, upstream(V2, V3), matrix({A: [olds[A]], C2: [olds[C2]]}))
    (upload,) = p.uploads
    for step in [*p.renames, *p.retires]:
        assert upload.id in step.after, step
    hidden = {r.image_id: r for r in p.retires}
    assert set(hidden) == {"a2", "b2"} and {r.action for r in hidden.values()} == {"hide"}
    asides = {r.image_id: r.id for r in p.renames if r.why == "step-aside"}
    assert all(asides[i] in hidden[i].after for i in hidden)


def test_nothing_changes_when_every_column_already_has_the_newest():
    cat = catalog(entry_yaml(to=["c1:alpha", "c2:alpha"]))
    have = {A: [image("a3", V3, A, name=ENTRY_NAME)], C2: [image("b3", V3, C2, name=ENTRY_NAME)]}
    p = plan(cat, upstream(V3), matrix(have))
    assert p.empty and not p.refusals
    assert p.entries[ENTRY_NAME].keeps == {A: (V3,), C2: (V3,)}


def test_an_image_the_catalog_did_not_make_never_loses_its_name():
    cat = catalog(entry_yaml())
    mine = foreign("f1", ENTRY_NAME, A)
    p = plan(cat, upstream(V3), matrix({A: [mine]}))
    assert len(p.uploads) == 1  # the version arrives under its versioned name
    assert not p.renames
    assert "did not make (f1)" in reasons(p, "rename")


def test_a_versioned_name_taken_by_another_image_is_refused_not_duplicated():
    cat = catalog(entry_yaml())
    squatter = foreign("f2", f"{ENTRY_NAME} ({V3})", A)
    p = plan(cat, upstream(V3), matrix({A: [squatter]}))
    assert not p.uploads and not p.renames
    assert "already has an image named" in reasons(p, "upload") and "f2" in reasons(p)


def test_an_image_claiming_a_version_with_other_bytes_is_left_alone_and_not_counted():
    cat = catalog(entry_yaml(keep=1))
    liar = image("x1", V2, A, digest="0" * 128)  # says V2, holds something else
    p = plan(cat, upstream(V3), matrix({A: [liar]}))
    assert [r.kind for r in p.refusals] == ["image"]
    assert "not the source's" in p.refusals[0].reason
    assert not p.retires and all(r.image_id != "x1" for r in p.renames)


def test_shared_visibility_uploads_once_per_cloud_and_shares_with_the_other_projects():
    cat = catalog(entry_yaml(to=["c1:*"], share_with=["gamma"]))
    p = plan(cat, upstream(V3), matrix({}))
    (upload,) = p.uploads
    assert [t.ref for t in upload.targets] == [A]  # one copy in cloud c1
    (share,) = p.shares
    assert (share.ref, share.member, share.member_project_id) == (A, B, "p1b")
    assert share.upload == upload.id and share.after == (upload.id,)
    rename_b = [r for r in p.renames if B in r.seen_from]
    assert rename_b and all(r.ref == A for r in p.renames)  # renamed once, through its owner
    assert "no credentials for c1:gamma" in reasons(p, "share")


def test_private_visibility_gives_each_project_its_own_copy():
    cat = catalog(entry_yaml(to=["c1:*"], visibility="private"))
    p = plan(cat, upstream(V3), matrix({}))
    (upload,) = p.uploads
    assert [t.ref for t in upload.targets] == [A, B] and not p.shares


def test_columns_glint_cannot_reach_are_refused_by_name():
    cat = catalog(entry_yaml(to=["c1:alpha", "c9:alpha", "c2:alpha"]))
    p = plan(cat, upstream(V3), matrix({}, errors={C2: "no answer within 120 s"}))
    text = reasons(p, "column")
    assert "no credentials for c9:alpha" in text and "cannot list c2:alpha" in text
    assert [t.ref for u in p.uploads for t in u.targets] == [A]


def test_an_unreadable_upstream_plans_nothing_for_the_entry_not_even_retirements():
    cat = catalog(entry_yaml(keep=1, retire="delete"))
    have = [image("a1", V1, A), image("a2", V2, A), image("a3", V3, A, name=ENTRY_NAME)]
    failed = {ENTRY_NAME: Resolution(ENTRY_NAME, error="http://mirror.test/…: HTTP 503")}
    p = plan(cat, failed, matrix({A: have}))
    assert p.empty
    assert [r.kind for r in p.refusals] == ["upstream"] and "HTTP 503" in p.refusals[0].reason


def test_kept_images_get_the_metadata_the_catalog_now_says():
    cat = catalog(entry_yaml(min_disk=4, properties={"os_distro": "debian", "os_version": "12"}))
    current = image("a3", V3, A, name=ENTRY_NAME, os_version="11")
    p = plan(cat, upstream(V3), matrix({A: [current]}))
    (update,) = p.updates
    assert update.image_id == "a3" and update.attrs == {"min_disk": 4, "os_version": "12"}


def test_the_plan_is_json_with_every_step_and_reason():
    cat = catalog(entry_yaml(to=["c1:*", "c3:alpha"], convert_to={"c3": "raw"}, keep=1))
    have = {A: [image("a2", V2, A, name=ENTRY_NAME)]}
    p = plan(cat, upstream(V2, V3), matrix(have))
    doc = json.loads(json.dumps(p.to_dict()))
    kinds = {s["kind"] for s in doc["steps"]}
    assert {"upload", "share", "rename", "retire"} <= kinds
    assert doc["entries"][ENTRY_NAME]["keeps"] == {
        "c1:alpha": [V3],
        "c1:beta": [V3],
        "c3:alpha": [V3],
    }
    raw = next(s for s in doc["steps"] if s["kind"] == "upload" and s["disk_format"] == "raw")
    assert raw["convert_from"] == "qcow2" and raw["targets"][0]["ref"] == "c3:alpha"
    assert all(isinstance(line, str) for line in p.describe())
    assert any(t.ref == C3 for u in p.uploads for t in u.targets)
    assert p.for_column(B) and all(B not in (t.ref for t in u.targets) for u in p.uploads)


def test_a_shared_old_version_steps_aside_only_once_every_project_sees_the_new_one():
    """c1:alpha's image is shared with c1:beta: renaming it renames it for both, so it
    waits for the upload at alpha and the share to beta; if the share fails, beta (and so
    alpha) keep the old one under the plain name."""
    cat = catalog(entry_yaml(to=["c1:*"]))
    old = image("i2", V2, A, name=ENTRY_NAME)
    p = plan(cat, upstream(V2, V3), matrix({A: [old], B: [old]}))
    (upload,), (share,) = p.uploads, p.shares
    (aside,) = [r for r in p.renames if r.why == "step-aside"]
    assert aside.ref == A and set(aside.seen_from) == {A, B}
    assert set(aside.after) == {upload.id, share.id}
    (promote,) = [r for r in p.renames if r.why == "promote"]
    assert aside.id in promote.after
