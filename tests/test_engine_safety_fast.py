"""Deletes look again just before they delete, and two runs never make two copies in one
place: the engine's issue-8 safety checks on FAKE in-memory clouds (``tests/fakecloud.py``).

``test_physical_copies.py`` proves them with two real ``glint`` processes on real Glance.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from glint_tui.core.desired import Desired
from glint_tui.core.errors import ServerError
from glint_tui.core.model import ProjectRef
from glint_tui.core.plan import build_plan
from tests.fakebed import FakeBed, MiB, notices, sent_to
from tests.helpers import random_bytes, sha512, wait_for


@pytest.fixture
def bed(tmp_path: Path) -> FakeBed:
    return FakeBed(tmp_path)


def delete_plan(bed: FakeBed, name: str, data: bytes, *places: str, copy_to: str | None = None):
    matrix = bed.matrix()
    key = (name, f"sha512:{sha512(data)}")
    desired = Desired()
    for place in places:
        desired.want(key, ProjectRef.parse(place), False)
    if copy_to:
        desired.want(key, ProjectRef.parse(copy_to), True)
    return build_plan(matrix, desired)


def test_a_delete_is_refused_when_the_copy_it_relied_on_is_gone_by_then(bed):
    data = random_bytes(4096)
    bed.put("c1:alpha", "two-copies", data)
    kept = bed.put("c2:alpha", "two-copies", data)
    plan = delete_plan(bed, "two-copies", data, "c1:alpha")
    assert plan.deletes[0].keeps == ((ProjectRef.parse("c2:alpha"), kept.id),)
    with bed.source.session("c2:alpha") as session:  # someone else deletes the other copy
        session.delete_image(kept.id)
    [outcome] = bed.run(plan).outcomes
    assert not outcome.ok and "relied on is gone" in outcome.message
    assert [i.status for i in bed.at("c1:alpha", "two-copies")] == ["active"]


def test_two_runs_deleting_the_two_copies_of_an_image_leave_one(bed):
    data = random_bytes(4096)
    bed.put("c1:alpha", "pair", data)
    bed.put("c2:alpha", "pair", data)
    plans = [delete_plan(bed, "pair", data, place) for place in ("c1:alpha", "c2:alpha")]
    first, second = (bed.run(plan) for plan in plans)
    assert first.exit_code == 0
    [refused] = second.outcomes
    assert not refused.ok and "relied on is gone" in refused.message
    assert len(bed.at("c1:alpha", "pair") + bed.at("c2:alpha", "pair")) == 1


def test_a_delete_of_an_image_that_changed_since_the_plan_is_refused(bed):
    data = random_bytes(4096)
    bed.put("c2:alpha", "mutable", data)
    victim = bed.put("c1:alpha", "mutable", data)
    plan = delete_plan(bed, "mutable", data, "c1:alpha")
    with bed.source.session("c1:alpha") as session:
        session.update_image(victim.id, protected=True)  # protected meanwhile
    [outcome] = bed.run(plan).outcomes
    assert not outcome.ok and f"{victim.id} is protected" in outcome.message
    assert bed.at("c1:alpha", "mutable")


def test_a_move_deletes_the_source_only_after_its_copy_verified(bed):
    data = random_bytes(256 << 10)
    bed.put("c1:alpha", "moving", data)
    bed.cloud("c2").fail("upload", ServerError("server error 500 (fake)", "c2:alpha"), times=None)
    plan = delete_plan(bed, "moving", data, "c1:alpha", copy_to="c2:alpha")
    assert plan.deletes[0].after == (plan.copies[0].id,)
    result = bed.run(plan, retries=0)
    delete = next(o for o in result.outcomes if o.kind == "delete")
    assert not delete.ok and "the copy it relied on did not complete" in delete.message
    assert [i.status for i in bed.at("c1:alpha", "moving")] == ["active"]  # not lost


def test_a_cancelled_delete_that_had_not_started_deletes_nothing(bed):
    data = random_bytes(4096)
    bed.put("c1:alpha", "keep-me", data)
    bed.put("c2:alpha", "keep-me", data)
    busy = bed.put("c1:alpha", "busy", random_bytes(2 * MiB))
    bed.cloud("c1").slow("download", rate=2 * MiB, image_id=busy.id)
    matrix = bed.matrix()
    desired = Desired()
    desired.want(("busy", busy.content_key), ProjectRef.parse("c3:alpha"), True)
    desired.want(("keep-me", f"sha512:{sha512(data)}"), ProjectRef.parse("c1:alpha"), False)
    plan = build_plan(matrix, desired)
    events: list = []
    engine, thread, out = bed.start(plan, events)
    try:  # deletes run after the copies: this one has not started yet
        wait_for(lambda: sent_to(events, "c3:alpha") > 0, 30, "the copy moving")
        assert engine.cancel_action(plan.deletes[0].id) is True
    finally:
        thread.join(60)
    delete = next(o for o in out["result"].outcomes if o.kind == "delete")
    assert delete.cancelled and not delete.ok
    assert bed.at("c1:alpha", "keep-me")


def test_two_runs_copying_one_image_to_one_place_make_one_image(bed):
    data = random_bytes(2 * MiB)
    src = bed.put("c1:alpha", "race", data)
    bed.cloud("c1").slow("download", rate=4 * MiB)
    plans = [bed.plan(src, ["c2:alpha"]) for _ in range(2)]  # both saw c2 without it
    results: list = []
    events: list = []
    runs = [
        threading.Thread(target=lambda p=plan: results.append(bed.run(p, events))) for plan in plans
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(60)
    assert [r.exit_code for r in results] == [0, 0]
    assert [i.os_hash_value for i in bed.at("c2:alpha", "race")] == [sha512(data)]
    said = notices(events)
    assert "waiting for another glint run" in said and "already present" in said
