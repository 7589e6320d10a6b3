"""Retirement that never hurts, on hand-built matrices: keep, hide/deactivate/delete,
delete_after_days, and every refusal (last copy a column needs, protected, not owned, in
use, unlisted column). The in-use probe is an in-memory stand-in: the planner's interface
to a compute endpoint, which stage 2 backs with Nova."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from glint_tui.core.catalog.naming import RETIRED_AT
from tests.catalog_helpers import (
    C2,
    ENTRY_NAME,
    NOW,
    A,
    B,
    catalog,
    entry_yaml,
    image,
    matrix,
    plan,
    reasons,
    upstream,
)

V1, V2, V3, V4 = "20260901", "20261001", "20261101", "20261120"


class Probes:
    """Column -> {image id: in use?}; a column missing here has no compute endpoint."""

    def __init__(self, answers: dict) -> None:
        self.answers = answers
        self.asked: list[tuple] = []

    def __call__(self, ref):
        if ref not in self.answers:
            return None
        probes = self

        class Probe:
            def in_use(self, image_id: str) -> bool | None:
                probes.asked.append((ref, image_id))
                return probes.answers[ref].get(image_id, False)

        return Probe()


def three_versions(ref=A, **kw):
    return [
        image("i1", V1, ref, **kw),
        image("i2", V2, ref),
        image("i3", V3, ref, name=ENTRY_NAME),
    ]


def test_versions_beyond_keep_are_hidden_and_dated_and_the_kept_ones_untouched():
    p = plan(catalog(entry_yaml(keep=2)), upstream(V3), matrix({A: three_versions()}))
    (retire,) = p.retires
    assert (retire.image_id, retire.action, retire.ref) == ("i1", "hide", A)
    assert retire.retired_at == "2026-12-01T12:00:00Z"  # glint_catalog_retired_at, from now
    assert not p.uploads and not p.renames
    assert p.entries[ENTRY_NAME].keeps == {A: (V3, V2)}


def test_a_hidden_version_is_deleted_only_once_delete_after_days_have_passed():
    cat = catalog(entry_yaml(keep=2, delete_after_days=30))
    old = {"hidden": True, "retired_at": NOW - dt.timedelta(days=29)}
    p = plan(cat, upstream(V3), matrix({A: three_versions(**old)}))
    assert p.empty  # retired 29 days ago: nothing due

    old["retired_at"] = NOW - dt.timedelta(days=31)
    p = plan(cat, upstream(V3), matrix({A: three_versions(**old)}))
    (retire,) = p.retires
    assert (retire.image_id, retire.action) == ("i1", "delete")
    assert "more than 30 days ago" in retire.reason


def test_a_hidden_image_without_a_date_gets_one_before_its_days_start_counting():
    cat = catalog(entry_yaml(keep=2, delete_after_days=0))
    p = plan(cat, upstream(V3), matrix({A: three_versions(hidden=True)}))
    (retire,) = p.retires
    assert retire.action == "hide" and retire.retired_at == "2026-12-01T12:00:00Z"


def test_retirement_waits_for_the_new_version_to_verify_in_that_column():
    cat = catalog(entry_yaml(keep=2, retire="deactivate"))
    p = plan(cat, upstream(V4), matrix({A: three_versions()}), probe_for=Probes({A: {}}))
    (upload,) = p.uploads
    assert {r.image_id for r in p.retires} == {"i1", "i2"}  # V4 arrives: keeps V4, V3
    assert all(r.action == "deactivate" and upload.id in r.after for r in p.retires)


def test_retirement_never_removes_the_last_copy_a_column_still_needs():
    """One image shared by c1:alpha with c1:beta: beyond keep at alpha, but beta (which
    never had V2) keeps it. It is one physical image: deleting it through alpha would
    take it from beta."""
    cat = catalog(entry_yaml(keep=2, retire="delete", to=["c1:*"]))
    shared_old = image("i1", V1, A)
    placed = {A: three_versions(), B: [shared_old, image("i3", V3, A, name=ENTRY_NAME)]}
    p = plan(cat, upstream(V3), matrix(placed), probe_for=Probes({A: {}, B: {}}))
    assert not p.retires
    assert "c1:beta still keep(s) it (the same image): not retired" in reasons(p, "retire")
    assert p.entries[ENTRY_NAME].keeps == {A: (V3, V2), B: (V3, V1)}


def test_retirement_never_deletes_the_last_copy_while_a_column_cannot_be_listed():
    cat = catalog(entry_yaml(keep=1, retire="delete", to=["c1:alpha", "c2:alpha"]))
    m = matrix({A: three_versions()}, errors={C2: "no answer within 120 s"})
    p = plan(cat, upstream(V3), m, probe_for=Probes({A: {}}))
    assert not p.retires
    assert reasons(p, "retire").count("is the last verified copy") == 2
    assert "c2:alpha still keep(s)" in reasons(p, "retire")


def test_a_version_no_column_keeps_may_lose_its_last_copy_and_the_plan_says_so():
    cat = catalog(entry_yaml(keep=1, retire="delete"))
    p = plan(cat, upstream(V3), matrix({A: three_versions()}), probe_for=Probes({A: {}}))
    assert {(r.image_id, r.action, r.last_copy) for r in p.retires} == {
        ("i1", "delete", True),
        ("i2", "delete", True),
    }


def test_a_copy_elsewhere_keeps_a_version_alive_so_deleting_one_copy_is_not_the_last():
    cat = catalog(entry_yaml(keep=2, retire="delete", to=["c1:alpha", "c2:alpha"]))
    placed = {A: three_versions(), C2: [image("c1", V1, C2), image("c3", V3, C2, name=ENTRY_NAME)]}
    p = plan(cat, upstream(V3), matrix(placed), probe_for=Probes({A: {}, C2: {}}))
    (retire,) = p.retires  # c2 keeps V3 and V1 (its own copy): alpha's V1 may go
    assert (retire.image_id, retire.last_copy) == ("i1", False)


def test_retirement_never_touches_a_protected_image():
    p = plan(catalog(entry_yaml(keep=2)), upstream(V3), matrix({A: three_versions(protected=True)}))
    assert not p.retires and "i1 is protected: not hidden" in reasons(p, "retire")


def test_retirement_never_touches_an_image_the_project_does_not_own():
    theirs = {"owner": "someone-else", "visibility": "public"}
    p = plan(catalog(entry_yaml(keep=2)), upstream(V3), matrix({A: three_versions(**theirs)}))
    assert not p.retires
    assert "owned by another project (someone-else)" in reasons(p, "retire")


def test_retirement_never_deletes_an_image_a_server_runs_from():
    cat = catalog(entry_yaml(keep=2, retire="delete"))
    probes = Probes({A: {"i1": True}})
    p = plan(cat, upstream(V3), matrix({A: three_versions()}), probe_for=probes)
    assert not p.retires and "i1 is in use: a server runs from it" in reasons(p, "retire")
    assert probes.asked == [(A, "i1")]


def test_where_no_column_can_tell_if_it_is_in_use_the_plan_says_the_check_was_not_possible():
    cat = catalog(entry_yaml(keep=2, retire="delete"))
    p = plan(cat, upstream(V3), matrix({A: three_versions()}))  # no compute endpoint
    (retire,) = p.retires
    assert retire.in_use_unknown == (A,)
    assert any("in-use check not possible for i1" in n.text for n in p.notes)


def test_hiding_is_not_refused_for_an_image_in_use():
    probes = Probes({A: {"i1": True}})
    p = plan(
        catalog(entry_yaml(keep=2)), upstream(V3), matrix({A: three_versions()}), probe_for=probes
    )
    assert [r.action for r in p.retires] == ["hide"] and probes.asked == []


def test_a_retired_version_a_column_keeps_again_is_restored():
    cat = catalog(entry_yaml(keep=3))
    old = {"hidden": True, "retired_at": NOW - dt.timedelta(days=3)}
    p = plan(cat, upstream(V3), matrix({A: three_versions(**old)}))
    (restore,) = p.restores
    assert (restore.image_id, restore.unhide, restore.reactivate) == ("i1", True, False)
    assert not p.retires


def test_a_copy_in_a_format_the_column_no_longer_wants_is_retired_after_its_replacement():
    cat = catalog(entry_yaml(keep=1, convert_to={"c1": "raw"}))
    current = image("q3", V3, A, name=ENTRY_NAME)  # qcow2, made before convert_to said raw
    p = plan(cat, upstream(V3), matrix({A: [current]}))
    (upload,) = p.uploads
    assert upload.disk_format == "raw" and upload.convert_from == "qcow2"
    (aside,) = [r for r in p.renames if r.why == "step-aside"]
    assert aside.new_name == f"{ENTRY_NAME} ({V3}, qcow2)"  # out of the raw copy's way
    (retire,) = p.retires
    assert retire.image_id == "q3" and {upload.id, aside.id} <= set(retire.after)
    assert "keeps 20261101 as raw" in retire.reason


def test_retired_at_is_the_property_glint_reads_back():
    assert RETIRED_AT == "glint_catalog_retired_at"
    old = {"hidden": True, "retired_at": NOW - dt.timedelta(days=400)}
    p = plan(catalog(entry_yaml(keep=2)), upstream(V3), matrix({A: three_versions(**old)}))
    assert p.empty  # hidden, dated, no delete_after_days: stays hidden


def test_the_last_verified_copy_stays_while_a_column_keeps_only_a_deactivated_one():
    """c2 keeps V1, but its own copy is one glint deactivated (this plan reactivates it,
    which needs the bytes Glance kept); alpha's V1 is the only verified copy: not deleted."""
    cat = catalog(entry_yaml(keep=2, retire="delete", to=["c1:alpha", "c2:alpha"]))
    placed = {
        A: three_versions(),
        C2: [
            image("c1", V1, C2, status="deactivated", retired_at=NOW - dt.timedelta(days=1)),
            image("c3", V3, C2, name=ENTRY_NAME),
        ],
    }
    p = plan(cat, upstream(V3), matrix(placed), probe_for=Probes({A: {}, C2: {}}))
    assert not p.retires
    assert [(r.image_id, r.reactivate) for r in p.restores] == [("c1", True)]
    assert "i1 is the last verified copy of 20260901" in reasons(p, "retire")


def test_a_kept_version_someone_hid_by_hand_is_left_hidden():
    placed = {A: [image("i2", V2, A, hidden=True), image("i3", V3, A, name=ENTRY_NAME)]}
    p = plan(catalog(entry_yaml(keep=2)), upstream(V3), matrix(placed))
    assert p.empty and any("hidden by hand: left so" in n.text for n in p.notes)


def test_versions_named_by_checksum_retire_in_the_order_glint_made_them():
    """Without a version in the file name, names carry no order: the version glint
    uploaded longest ago goes first."""
    source = {"checksums_url": "http://mirror.test/latest/SHA512SUMS", "pattern": r"d\.qcow2"}
    cat = catalog(entry_yaml(keep=2, source=source))
    # by name, 0000ffff0002 would read as the newer (a number beats a word): it is older
    made = {"ffff00000001": "2026-02-01T00:00:00Z", "0000ffff0002": "2026-01-01T00:00:00Z"}
    placed = [
        replace(image(f"i{n}", v, A), created_at=when) for n, (v, when) in enumerate(made.items())
    ]
    p = plan(cat, upstream("aaaa00000003"), matrix({A: placed}))
    assert [r.image_id for r in p.retires] == ["i1"]  # made in January: the oldest
    assert p.entries[ENTRY_NAME].versions == ("aaaa00000003", "ffff00000001", "0000ffff0002")
