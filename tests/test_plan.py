"""Plan building and every safety rule, on matrices built from image records.

These are pure-logic tests of ``build_plan`` (no cloud needed: the matrix is what an
inventory would have produced). The same rules are exercised end to end against the
sandbox in test_cli_transfer.py.
"""

from __future__ import annotations

import pytest

from glint_tui.core.cloudid import CloudIdentity
from glint_tui.core.desired import Desired, desired_from_mapping, parse_desired
from glint_tui.core.errors import UsageError
from glint_tui.core.inventory import Listing, Matrix, build_matrix
from glint_tui.core.model import CellState, ImageRecord, ProjectRef
from glint_tui.core.plan import Plan, build_plan

A, B, C = ProjectRef("c1", "alpha"), ProjectRef("c2", "alpha"), ProjectRef("c3", "alpha")
PID = {A: "pa", B: "pb", C: "pc"}
H1, H2, H3 = "1" * 128, "2" * 128, "3" * 128


def img(id_: str, name: str, ref: ProjectRef, digest: str = H1, **kw) -> ImageRecord:
    kw.setdefault("owner", PID[ref])
    return ImageRecord(
        id=id_,
        name=name,
        size=kw.pop("size", 100),
        os_hash_algo="sha512",
        os_hash_value=digest,
        checksum="m" + digest[:8],
        disk_format="raw",
        **kw,
    )


def matrix(placed: dict[ProjectRef, list[ImageRecord]], errors: dict | None = None) -> Matrix:
    listings = []
    for ref in (A, B, C):
        err = (errors or {}).get(ref)
        listings.append(Listing(ref, PID[ref], [] if err else placed.get(ref, []), err))
    return build_matrix(listings)


def plan_for(m: Matrix, wants: dict[tuple[str, ProjectRef], bool], digest=H1, **kw) -> Plan:
    d = Desired()
    for (name, ref), present in wants.items():
        d.want((name, f"sha512:{digest}"), ref, present)
    return build_plan(m, d, **kw)


def reasons(plan: Plan) -> str:
    return " | ".join(r.reason for r in plan.refusals)


def test_rows_are_name_plus_content_and_conflicts_are_marked():
    m = matrix(
        {A: [img("1", "ubuntu", A)], B: [img("2", "ubuntu", B, H2)], C: [img("3", "ubuntu", C)]}
    )
    assert len(m.rows) == 2
    assert all(r.conflict for r in m.rows)
    same = m.row(("ubuntu", f"sha512:{H1}"))
    assert same.cell(A).present and same.cell(C).present and not same.cell(B).present
    assert len(m.find("ubuntu")) == 2  # ambiguous by name
    assert m.find(f"ubuntu@{H2[:6]}")[0].cell(B).present
    assert m.find("3")[0] is same  # by id


def test_not_owned_images_are_locked():
    m = matrix({A: [img("1", "pub", A, owner="someone-else", visibility="public")]})
    cell = m.rows[0].cell(A)
    assert cell.state == CellState.LOCKED and not cell.owned
    assert m.filtered(A, "public") == m.rows
    assert m.filtered(A, "project") == []


def test_copy_plan_totals_and_json_round_trip():
    m = matrix({A: [img("1", "deb", A, size=1000)]})
    plan = plan_for(m, {("deb", B): True, ("deb", C): True})
    assert plan.copy_count == 2 and plan.copy_bytes == 2000 and plan.download_bytes == 1000
    assert plan.copies[0].source == A and plan.copies[0].source_image_id == "1"
    again = Plan.from_json(plan.to_json())
    assert again.to_dict() == plan.to_dict()
    assert "2 copies" in plan.describe()[-1]


def test_an_upload_plan_says_it_reads_the_file_on_this_host_not_that_it_downloads():
    from dataclasses import replace

    from glint_tui.core.actions import CopyAction, CopyTarget

    m = matrix({A: [img("1", "deb", A, size=1000)]})
    copy = plan_for(m, {("deb", B): True}).copies[0]
    upload = CopyAction("u1", "new", f"sha512:{H2}", 3 << 20, None, None,
                        (CopyTarget(B, "new"), CopyTarget(C, "new")),
                        source_file="/srv/disks/new-20261201.raw")  # fmt: skip
    alone = Plan(copies=[upload])
    assert alone.summary().startswith(
        "2 copies (6.0 MiB to upload, 3.0 MiB to read from new-20261201.raw on this host)"
    )
    assert "download" not in alone.summary() and alone.download_bytes == 0
    assert alone.to_dict()["totals"]["host_bytes"] == 9 << 20
    mixed = Plan(copies=[copy, upload, replace(upload, id="u2", source_file="/tmp/b.raw")])
    assert "1000 Bytes to download, 6.0 MiB to read from 2 files on this host" in mixed.summary()


def test_delete_of_the_last_copy_is_refused():
    m = matrix({A: [img("1", "only", A)]})
    plan = plan_for(m, {("only", A): False})
    assert not plan.deletes
    assert "last copy" in reasons(plan)


def test_deleting_every_copy_keeps_one():
    m = matrix({A: [img("1", "two", A)], B: [img("2", "two", B)]})
    plan = plan_for(m, {("two", A): False, ("two", B): False})
    assert len(plan.deletes) == 1
    assert "last copy" in reasons(plan)


def test_a_move_deletes_only_after_its_copy():
    m = matrix({A: [img("1", "mv", A)]})
    plan = plan_for(m, {("mv", B): True, ("mv", A): False})
    assert plan.copy_count == 1 and len(plan.deletes) == 1
    assert plan.deletes[0].after == (plan.copies[0].id,)


def test_protected_and_not_owned_images_are_never_deleted():
    m = matrix(
        {
            A: [img("1", "p", A, protected=True)],
            B: [img("2", "p", B, owner="other", visibility="shared")],
            C: [img("3", "p", C)],
        }
    )
    plan = plan_for(m, {("p", A): False, ("p", B): False})
    assert not plan.deletes
    assert "protected" in reasons(plan) and "owned by another project" in reasons(plan)


def test_same_name_different_content_at_destination_is_refused_by_default():
    m = matrix({A: [img("1", "web", A)], B: [img("2", "web", B, H2)]})
    plan = plan_for(m, {("web", B): True})
    assert plan.is_empty
    assert "already has a different image named 'web'" in reasons(plan)
    assert "--on-conflict" in reasons(plan)


def test_on_conflict_rename_and_keep_both():
    m = matrix({A: [img("1", "web", A)], B: [img("2", "web", B, H2)]})
    renamed = plan_for(m, {("web", B): True}, on_conflict="rename")
    assert renamed.copies[0].targets[0].name == f"web-{H1[:8]}"
    both = plan_for(m, {("web", B): True}, on_conflict="keep-both")
    assert both.copies[0].targets[0].name == "web" and both.copies[0].targets[0].replaces is None


def test_on_conflict_replace_respects_the_delete_rules():
    other = {A: [img("1", "web", A)], C: [img("9", "web", C, H2)]}
    ok = plan_for(matrix({**other, B: [img("2", "web", B, H2)]}), {("web", B): True},
                  on_conflict="replace")  # fmt: skip
    assert ok.copies[0].targets[0].replaces == "2" and ok.has_deletes
    # the other image is the last copy of its content: refused
    last = plan_for(matrix({A: [img("1", "web", A)], B: [img("2", "web", B, H2)]}),
                    {("web", B): True}, on_conflict="replace")  # fmt: skip
    assert last.is_empty and "last copy" in reasons(last)
    prot = plan_for(matrix({**other, B: [img("2", "web", B, H2, protected=True)]}),
                    {("web", B): True}, on_conflict="replace")  # fmt: skip
    assert prot.is_empty and "protected" in reasons(prot)


def test_source_prefers_the_home_repository_then_owned_active_copies():
    m = matrix({A: [img("1", "s", A)], B: [img("2", "s", B)]})
    assert plan_for(m, {("s", C): True}).copies[0].source == A
    assert plan_for(m, {("s", C): True}, home_repository="c2").copies[0].source == B
    assert plan_for(m, {("s", C): True}, source=B).copies[0].source_image_id == "2"


def test_no_verified_source_and_unlistable_destination_are_refused():
    saving = img("1", "half", A, status="saving")
    m = matrix({A: [saving]})
    assert "no active copy" in reasons(plan_for(m, {("half", B): True}))
    m = matrix({A: [img("1", "x", A)]}, errors={C: "Glance down"})
    plan = plan_for(m, {("x", C): True})
    assert plan.is_empty and "cannot list c3:alpha: Glance down" in reasons(plan)


def test_desired_file_resolution():
    m = matrix({A: [img("1", "web", A)], B: [img("2", "web", B, H2)], C: [img("3", "db", C, H3)]})
    with pytest.raises(UsageError, match="ambiguous"):
        desired_from_mapping(parse_desired({"web": ["c1:alpha"]}), m)
    with pytest.raises(UsageError, match="no image named"):
        desired_from_mapping(parse_desired({"nope": ["c1:alpha"]}), m)
    with pytest.raises(UsageError, match="REPO:PROJECT"):
        parse_desired({"db": ["c1"]})
    d = desired_from_mapping(parse_desired({"db": ["c1:alpha"]}), m, prune=True)
    key = ("db", f"sha512:{H3}")
    assert d.wanted(key, A) is True and d.wanted(key, C) is False
    plan = build_plan(m, d)
    assert plan.copy_count == 1 and len(plan.deletes) == 1
    assert plan.deletes[0].after == (plan.copies[0].id,)  # only after the copy verified


def test_last_copy_counts_the_same_content_under_another_name():
    m = matrix({A: [img("1", "old-name", A)], B: [img("2", "new-name", B)]})
    plan = plan_for(m, {("old-name", A): False})
    assert len(plan.deletes) == 1 and not plan.refusals


# --- physical copies: one image seen from several columns is one copy ------------------------

A2 = ProjectRef("c1", "beta")  # another project of c1
TWIN = ProjectRef("c1twin", "alpha")  # c1 registered a second time
R2 = ProjectRef("c1r2", "alpha")  # the same Keystone as c1, another region
PID.update({A2: "pbeta", TWIN: "pa", R2: "pa"})


def cloud(*urls: str) -> CloudIdentity:
    return CloudIdentity(urls[0], frozenset(urls))


C1 = cloud("http://127.0.0.1:9292", "http://glance.internal:9292")
C1R2 = cloud("http://127.0.0.1:9393")


def physical_matrix(placed: dict[ProjectRef, tuple[str, CloudIdentity | None, list]]) -> Matrix:
    return build_matrix(
        [
            Listing(ref, pid, images, None, 0.0, ident)
            for ref, (pid, ident, images) in placed.items()
        ]
    )


def test_an_image_seen_from_two_projects_is_one_copy():
    shared = img("1", "tools", A, visibility="shared")
    m = physical_matrix({A: ("pa", C1, [shared]), A2: ("pbeta", C1, [shared])})
    plan = plan_for(m, {("tools", A): False})
    assert not plan.deletes and "last copy" in reasons(plan)
    assert "also seen from c1:beta" in reasons(plan)


def test_two_repositories_of_one_cloud_count_once_even_by_another_endpoint():
    mine = img("1", "base", A)
    twin = CloudIdentity("http://glance.internal:9292", frozenset({"http://glance.internal:9292"}))
    m = physical_matrix({A: ("pa", C1, [mine]), TWIN: ("pa", twin, [mine])})
    assert m.same_cloud(TWIN) == ["c1"] and m.same_cloud(A) == ["c1twin"]
    assert m.cloud_of(A) == m.cloud_of(TWIN)
    for ref in (A, TWIN):
        plan = plan_for(m, {("base", ref): False})
        assert not plan.deletes and "last copy" in reasons(plan), ref
    # both asked at once: still never zero copies, and never two deletes of one image
    plan = plan_for(m, {("base", A): False, ("base", TWIN): False})
    assert not plan.deletes


def test_two_regions_of_one_keystone_are_two_clouds():
    a, b = img("1", "base", A), img("1", "base", R2)  # same id, restored in another region
    m = physical_matrix({A: ("pa", C1, [a]), R2: ("pa", C1R2, [b])})
    assert m.same_cloud(A) == [] and m.cloud_of(A) != m.cloud_of(R2)
    plan = plan_for(m, {("base", A): False})
    assert [d.image_id for d in plan.deletes] == ["1"] and plan.deletes[0].keeps == ((R2, "1"),)


def test_unknown_cloud_identity_counts_one_id_seen_twice_as_one_copy():
    a, b = img("1", "base", A), img("1", "base", R2)
    m = physical_matrix({A: ("pa", C1, [a]), R2: ("pa", None, [b])})
    assert not plan_for(m, {("base", A): False}).deletes
    c = img("2", "base", R2)  # a different id is surely a different image
    m = physical_matrix({A: ("pa", C1, [a]), R2: ("pa", None, [c])})
    assert len(plan_for(m, {("base", A): False}).deletes) == 1


def test_deleting_the_owners_copy_is_refused_where_a_project_must_keep_it():
    shared = img("1", "tools", A, visibility="shared")
    m = physical_matrix(
        {
            A: ("pa", C1, [shared]),
            A2: ("pbeta", C1, [shared]),
            B: ("pb", None, [img("9", "tools", B)]),
        }
    )
    plan = plan_for(m, {("tools", A): False, ("tools", A2): True})
    assert not plan.deletes and "c1:beta must keep" in reasons(plan)
    # nobody asks to keep it: the delete names where it disappears and what keeps the content
    plan = plan_for(m, {("tools", A): False})
    [d] = plan.deletes
    assert d.seen_from == (A2,) and d.keeps == ((B, "9"),)
    assert "also gone from c1:beta" in plan.describe()[0]
    assert Plan.from_json(plan.to_json()).deletes == plan.deletes


def test_a_delete_narrowed_to_ids_deletes_only_those():
    one, two = img("1", "dup", A), img("2", "dup", A)
    m = physical_matrix({A: ("pa", C1, [one, two]), B: ("pb", None, [img("3", "dup", B)])})
    d = Desired()
    d.want(("dup", f"sha512:{H1}"), A, False, image_ids={"2"})
    assert [x.image_id for x in build_plan(m, d).deletes] == ["2"]


def test_image_spec_readings_never_silently_choose():
    plain = img("1", "tools", A)
    literal = img("2", f"tools@{H1[:6]}", A, H2)
    m = physical_matrix({A: ("pa", C1, [plain, literal])})
    assert {r.name for r in m.find(f"tools@{H1[:6]}")} == {"tools", f"tools@{H1[:6]}"}
    lonely = physical_matrix({A: ("pa", C1, [img("3", "x@cafe", A)])})
    assert [r.name for r in lonely.find("x@cafe")] == ["x@cafe"]
    assert m.find("tools@") == [] and m.find("tools@zz") == []
    assert [r.name for r in m.find(f"tools@sha512:{H1[:4]}")] == ["tools"]


def _half_made(id_: str, name: str, ref: ProjectRef, **properties) -> ImageRecord:
    """A queued image: no data yet (no hash), as Glance lists an upload that has begun."""
    return ImageRecord(id=id_, name=name, owner=PID[ref], status="queued", properties=properties)


def test_another_glint_runs_copy_in_flight_is_not_a_name_conflict():
    """Two runs copying one image to one place: the second sees the first's queued image
    (it carries a transfer id). That is no different image with the same name: the plan
    copies, and the engine's destination lock then finds the copy "already present"."""
    m = matrix(
        {A: [img("1", "ubuntu", A)], B: [_half_made("q", "ubuntu", B, glint_transfer_id="t")]}
    )
    plan = plan_for(m, {("ubuntu", B): True})
    assert not plan.refusals, reasons(plan)
    assert [t.ref for c in plan.copies for t in c.targets] == [B]


def test_a_half_made_image_glint_did_not_start_is_still_a_name_conflict():
    m = matrix({A: [img("1", "ubuntu", A)], B: [_half_made("q", "ubuntu", B)]})
    plan = plan_for(m, {("ubuntu", B): True})
    assert not plan.copies and "already has a different image named" in reasons(plan)
