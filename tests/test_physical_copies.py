"""The last-copy rule counts physical images, and a delete deletes exactly what was named.

Reproductions of an adversarial run (issue 8), against the real sandbox clouds through the
`glint` command as an operator types it. Each test makes its own uniquely named images
with random bytes, so no other image shares their content.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from glint_tui.core.plan import DeleteAction, Plan
from tests.helpers import random_bytes, sha512, unique
from tests.test_cli_transfer import at, glint, put
from tests.test_transfer import run_engine

pytestmark = pytest.mark.sandbox
KiB = 1024


def share(sandbox, image_id: str, owner: str = "c1:alpha", member: str = "c1:beta") -> None:
    """Share an image with another project of the same cloud, accepted by that project."""
    o, m = sandbox.session(owner), sandbox.session(member)
    try:
        o.add_member(image_id, m.project_id)
        m.update_member_status(image_id, m.project_id, "accepted")
    finally:
        o.close()
        m.close()


def shared_image(sandbox, prefix: str, data: bytes | None = None):
    """An image owned by c1:alpha, shared with (and accepted by) c1:beta."""
    img = put(sandbox, "c1:alpha", unique(prefix), data, visibility="shared")
    share(sandbox, img.id)
    assert [i.id for i in at(sandbox, "c1:beta", img.name)] == [img.id]
    return img


def run(sandbox, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "glint_tui", *args],
        env=sandbox.env(),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


# --- the last-copy rule ---------------------------------------------------------------------


def test_delete_never_removes_the_last_physical_copy_seen_from_two_projects(sandbox):
    img = shared_image(sandbox, "phys-shared")
    r = glint(sandbox, "delete", img.name, "--from", "c1:alpha", "--yes")
    assert r.returncode == 1, r.stderr
    assert "last copy" in r.stderr, r.stderr
    assert [i.id for i in at(sandbox, "c1:alpha", img.name)] == [img.id]


def test_prune_never_plans_deleting_an_image_another_project_relies_on(sandbox, tmp_path: Path):
    img = shared_image(sandbox, "phys-prune")
    desired = tmp_path / "desired.json"
    # c1:beta must keep it: but what beta sees IS alpha's image, the only copy
    desired.write_text(json.dumps({img.name: ["c1:beta"]}))
    r = glint(sandbox, "plan", str(desired), "--prune", "--json")
    assert r.returncode == 0, r.stderr
    plan = json.loads(r.stdout)
    assert plan["deletes"] == [], plan
    assert any(x["ref"] == "c1:alpha" for x in plan["refusals"]), plan
    # even with a second copy elsewhere, deleting alpha's removes it from beta, which needs it
    desired.write_text(json.dumps({img.name: ["c1:beta", "c2:alpha"]}))
    plan = json.loads(glint(sandbox, "plan", str(desired), "--prune", "--json").stdout)
    assert plan["totals"]["copies"] == 1 and plan["deletes"] == [], plan
    [refusal] = [x for x in plan["refusals"] if x["ref"] == "c1:alpha"]
    assert "c1:beta" in refusal["reason"], refusal
    r = glint(sandbox, "apply", str(desired), "--prune", "--yes")
    assert r.returncode == 3, r.stderr  # the copy done, the delete refused
    assert [i.id for i in at(sandbox, "c1:beta", img.name)] == [img.id]


@pytest.fixture
def twin(sandbox) -> Iterator[str]:
    """c1 registered a second time as `c1twin`, its auth URL written differently."""
    port = sandbox.cloud("c1").keystone_url.rsplit(":", 1)[1]
    r = run(sandbox, "repository", "add", "c1twin", f"http://localhost:{port}/v3/")
    try:
        assert r.returncode == 0, r.stderr
        assert "c1" in r.stderr and "same cloud" in r.stderr, r.stderr
        r = run(
            sandbox,
            *("credentials", "add", "c1twin:alpha", "--username", "alice", "--password-stdin"),
            stdin="alice-pass\n",
        )
        assert r.returncode == 0, r.stderr
        yield "c1twin"
    finally:
        run(sandbox, "repository", "delete", "c1twin", "--yes")


def test_same_cloud_registered_twice_counts_as_one_copy(sandbox, twin):
    img = put(sandbox, "c1:alpha", unique("phys-twin"))
    r = glint(sandbox, "images", "--json")
    assert r.returncode == 0, r.stderr
    columns = {c["ref"]: c for c in json.loads(r.stdout)["columns"]}
    assert columns["c1twin:alpha"]["cloud"] == columns["c1:alpha"]["cloud"]
    assert columns["c1twin:alpha"]["cloud"] != columns["c2:alpha"]["cloud"]
    assert columns["c1twin:alpha"]["same_cloud"] == ["c1"]
    table = glint(sandbox, "images").stdout
    assert "c1 and c1twin are the same cloud" in table, table

    for place in ("c1:alpha", "c1twin:alpha"):
        r = glint(sandbox, "delete", img.id, "--from", place, "--yes")
        assert r.returncode == 1 and "last copy" in r.stderr, r.stderr
    assert [i.id for i in at(sandbox, "c1:alpha", img.name)] == [img.id]


# --- ownership ------------------------------------------------------------------------------


def test_delete_of_a_shared_image_seen_from_a_member_project_is_refused_as_not_owned(sandbox):
    data = random_bytes(128 * KiB)
    img = shared_image(sandbox, "phys-owned", data)
    put(sandbox, "c2:alpha", img.name, data)  # so "last copy" is not the reason
    r = glint(sandbox, "delete", img.name, "--from", "c1:beta", "--yes")
    assert r.returncode == 1 and "not owned" in r.stderr, r.stderr
    # the engine re-checks just before acting, whatever the plan says
    keep = at(sandbox, "c2:alpha", img.name)[0]
    forged = DeleteAction(
        "forged", img.name, f"sha512:{sha512(data)}", _ref("c1:beta"), img.id,
        keeps=((_ref("c2:alpha"), keep.id),),
    )  # fmt: skip
    result = run_engine(sandbox, Plan(deletes=[forged]))
    [outcome] = result.outcomes
    assert not outcome.ok and "not owned" in outcome.message, outcome
    assert [i.status for i in at(sandbox, "c1:alpha", img.name)] == ["active"]


def _ref(text: str):
    from glint_tui.core.model import ProjectRef

    return ProjectRef.parse(text)


# --- exact deletes ----------------------------------------------------------------------------


def twice_at_c1(sandbox, prefix: str):
    """The same bytes uploaded twice under one name at c1:alpha, plus a copy at c2:alpha."""
    name, data = unique(prefix), random_bytes(128 * KiB)
    one = put(sandbox, "c1:alpha", name, data)
    two = put(sandbox, "c1:alpha", name, data)
    put(sandbox, "c2:alpha", name, data)
    return name, one, two


def test_delete_by_id_deletes_only_that_image(sandbox):
    name, one, two = twice_at_c1(sandbox, "exact-id")
    r = glint(sandbox, "delete", one.id, "--from", "c1:alpha", "--yes", "--json")
    assert r.returncode == 0, r.stderr
    assert [d["image_id"] for d in json.loads(r.stdout)["plan"]["deletes"]] == [one.id]
    assert [i.id for i in at(sandbox, "c1:alpha", name)] == [two.id]
    assert len(at(sandbox, "c2:alpha", name)) == 1
    # an id that is not at that place is refused, nothing else is deleted in its stead
    r = glint(sandbox, "delete", two.id, "--from", "c2:alpha", "--yes")
    assert r.returncode == 2 and two.id in r.stderr, r.stderr
    assert len(at(sandbox, "c2:alpha", name)) == 1


def test_delete_by_name_matching_several_images_asks_for_an_id(sandbox):
    name, one, two = twice_at_c1(sandbox, "exact-name")
    r = glint(sandbox, "delete", name, "--from", "c1:alpha", "--yes")
    assert r.returncode == 2, r.stderr
    assert one.id in r.stderr and two.id in r.stderr and "--all-matching" in r.stderr
    assert len(at(sandbox, "c1:alpha", name)) == 2
    r = glint(sandbox, "delete", name, "--from", "c1:alpha", "--all-matching", "--yes")
    assert r.returncode == 0, r.stderr
    assert one.id in r.stderr and two.id in r.stderr  # the review named both ids
    assert at(sandbox, "c1:alpha", name) == [] and len(at(sandbox, "c2:alpha", name)) == 1


def test_literal_name_with_at_sign_is_reachable(sandbox):
    base = unique("at-sign")
    plain = put(sandbox, "c1:alpha", base)
    prefix = plain.os_hash_value[:10]
    literal = put(sandbox, "c1:alpha", f"{base}@{prefix}")  # looks like name@hash
    lonely = put(sandbox, "c1:alpha", f"{unique('at-sign')}@cafe")  # no row named the left part
    r = glint(sandbox, "copy", lonely.name, "--to", "c2:alpha")
    assert r.returncode == 0, r.stderr
    assert [i.id for i in at(sandbox, "c1:alpha", lonely.name)] == [lonely.id]
    assert len(at(sandbox, "c2:alpha", lonely.name)) == 1
    # both readings match an image: never a silent choice, the candidates are listed
    r = glint(sandbox, "copy", literal.name, "--to", "c2:alpha")
    assert r.returncode == 2 and "ambiguous" in r.stderr, r.stderr
    assert literal.id in r.stderr and plain.id in r.stderr, r.stderr
    assert at(sandbox, "c2:alpha", base) == [] and at(sandbox, "c2:alpha", literal.name) == []
    r = glint(sandbox, "copy", literal.id, "--to", "c2:alpha")  # the id always names one
    assert r.returncode == 0, r.stderr
    assert len(at(sandbox, "c2:alpha", literal.name)) == 1 and at(sandbox, "c2:alpha", base) == []


# --- concurrent copies ----------------------------------------------------------------------


def test_two_concurrent_copies_to_one_column_make_one_image(sandbox):
    name = unique("race")
    data = random_bytes(3 * 1024 * KiB)
    put(sandbox, "c1:alpha", name, data)
    args = [sys.executable, "-m", "glint_tui", "copy", name, "--to", "c2:alpha"]
    procs = [
        subprocess.Popen(
            [*args, "--max-rate", "1M"],
            env=sandbox.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [p.communicate(timeout=300) for p in procs]
    codes = [p.returncode for p in procs]
    assert codes == [0, 0], results
    copies = at(sandbox, "c2:alpha", name)
    assert len(copies) == 1, [(i.id, i.status) for i in copies]
    assert copies[0].os_hash_value == sha512(data)
    assert any("already" in err for _, err in results), results


def test_two_runs_deleting_the_two_copies_of_an_image_leave_one(sandbox):
    """Two plans made from one matrix (two operators): each delete relies on the other copy.
    The engine checks that copy again just before deleting, so the second is refused."""
    from glint_tui.core.desired import Desired
    from glint_tui.core.plan import build_plan
    from tests.test_transfer import matrix_of

    name, data = unique("two-runs"), random_bytes(128 * KiB)
    put(sandbox, "c1:alpha", name, data)
    put(sandbox, "c2:alpha", name, data)
    matrix = matrix_of(sandbox)
    key = (name, f"sha512:{sha512(data)}")
    plans = []
    for place in ("c1:alpha", "c2:alpha"):
        d = Desired()
        d.want(key, _ref(place), False)
        plans.append(build_plan(matrix, d))
    assert [len(p.deletes) for p in plans] == [1, 1]
    first, second = (run_engine(sandbox, p) for p in plans)
    assert first.exit_code == 0, first.outcomes
    [refused] = second.outcomes
    assert not refused.ok and "relied on is gone" in refused.message, refused
    assert len(at(sandbox, "c2:alpha", name)) == 1
