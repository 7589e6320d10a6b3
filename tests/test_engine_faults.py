"""The engine's guarantees under faults, on FAKE in-memory clouds (``tests/fakecloud.py``).

Fast (no server): each fault happens at a chosen byte or call, which a real Glance cannot
be made to do on cue. The real-cloud twins in ``test_transfer.py`` / ``test_spool.py``
prove the same paths against real Keystone and Glance.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from glint_tui.core.actions import Plan
from glint_tui.core.desired import Desired
from glint_tui.core.errors import Conflict, ServerError
from glint_tui.core.events import ActionFinished, CellChanged
from glint_tui.core.journal import TRANSFER_PROPERTY, read_run
from glint_tui.core.model import CellState, ProjectRef
from glint_tui.core.plan import build_plan
from glint_tui.core.reconcile import reconcile
from glint_tui.core.spool import Spool
from tests.fakebed import FakeBed, MiB, local_file_action, notices, sent_to, states
from tests.helpers import random_bytes, wait_for


@pytest.fixture
def bed(tmp_path: Path) -> FakeBed:
    return FakeBed(tmp_path)


def sha512(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def assert_one_verified_copy(bed: FakeBed, ref: str, name: str, data: bytes) -> None:
    found = bed.at(ref, name)
    assert [i.status for i in found] == ["active"], f"{ref}: {found}"
    (copy,) = found
    assert copy.os_hash_value == sha512(data)
    assert bed.cloud(ref.split(":")[0]).data(copy.id) == data
    assert copy.properties.get(TRANSFER_PROPERTY)


# --- sources ---------------------------------------------------------------------------


def test_a_local_file_fans_out_to_two_destinations_verified(bed, tmp_path):
    data = random_bytes(3 * MiB + 5)
    path = tmp_path / "disk.raw"
    path.write_bytes(data)
    action = local_file_action(path, f"sha512:{sha512(data)}", "from-disk", ["c2:alpha", "c3:beta"])
    events: list = []
    result = bed.run(Plan(copies=[action]), events)
    assert result.exit_code == 0, result.outcomes
    assert (result.source_reads, result.spool_reads) == (1, 0)  # one read of the file
    for ref in ("c2:alpha", "c3:beta"):
        assert_one_verified_copy(bed, ref, "from-disk", data)
    assert not list(Spool(bed.paths.spool_dir).dir.glob("*.img")), "a local file was spooled"
    log = read_run(bed.paths.journal_dir / f"{result.run_id}.jsonl")
    assert {e.get("source") for e in log.entries if e["kind"] == "creating"} == {f"file {path}"}


def test_a_local_file_that_changed_after_it_was_hashed_never_becomes_an_image(bed, tmp_path):
    data = random_bytes(1 * MiB)
    path = tmp_path / "disk.raw"
    path.write_bytes(data)
    action = local_file_action(path, f"sha512:{sha512(data)}", "changed", ["c2:alpha"])
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, one bit differs
    result = bed.run(Plan(copies=[action]))
    assert result.exit_code == 1
    assert "do not match" in result.outcomes[0].message
    assert "changed while glint read it" in result.outcomes[0].message
    assert bed.cloud("c2").ever_active("changed") == [] and bed.at("c2:alpha", "changed") == []


# --- verification ----------------------------------------------------------------------


def test_a_corrupted_byte_from_the_source_never_becomes_an_active_image(bed):
    data = random_bytes(2 * MiB)
    src = bed.put("c1:alpha", "rotten", data)
    bed.cloud("c1").rot(src.id)  # one stored byte flips; Glance's recorded hash stays
    result = bed.run(bed.plan(src, ["c2:alpha", "c3:alpha"]))
    assert result.exit_code == 1
    assert all("do not match its sha512" in o.message for o in result.outcomes), result.outcomes
    assert result.source_reads == 1  # a mismatch is permanent: no retry
    for cloud in ("c2", "c3"):
        assert bed.cloud(cloud).ever_active("rotten") == [], f"active at {cloud}, if briefly"
        assert bed.cloud(cloud).named("rotten") == []
    assert Spool(bed.paths.spool_dir).get(src.content_key) is None  # never spooled


def test_a_byte_corrupted_on_the_way_to_one_destination_deletes_only_that_copy(bed):
    data = random_bytes(2 * MiB)
    src = bed.put("c1:alpha", "bitflip", data)
    bed.cloud("c3").corrupt("upload", at=MiB + 7)
    result = bed.run(bed.plan(src, ["c2:alpha", "c3:alpha"]))
    by_ref = {str(o.ref): o for o in result.outcomes}
    assert by_ref["c2:alpha"].ok and not by_ref["c3:alpha"].ok
    assert "does not match the source (sha512 differs" in by_ref["c3:alpha"].message
    assert result.exit_code == 3
    assert_one_verified_copy(bed, "c2:alpha", "bitflip", data)
    assert bed.at("c3:alpha", "bitflip") == []  # the bad copy was deleted


# --- retries and the spool ---------------------------------------------------------------


def test_a_destination_that_drops_after_n_bytes_is_retried_from_the_spool_not_the_source(bed):
    data = random_bytes(3 * MiB)
    src = bed.put("c1:alpha", "dropper", data)
    bed.cloud("c3").drop("upload", after=MiB)
    events: list = []
    result = bed.run(bed.plan(src, ["c2:alpha", "c3:alpha"]), events)
    assert result.exit_code == 0, result.outcomes
    assert (result.source_reads, result.spool_reads) == (1, 1)
    assert "c3:alpha: retrying" in notices(events)
    assert CellState.PRESENT not in states(events, "c2:alpha")[:-1]  # c2 once, at the end
    for ref in ("c2:alpha", "c3:alpha"):
        assert_one_verified_copy(bed, ref, "dropper", data)  # the dropped attempt's image went


def test_a_damaged_spool_entry_is_read_again_from_the_source_and_costs_no_retry(bed):
    data = random_bytes(1 * MiB)
    src = bed.put("c1:alpha", "spoolrot", data)
    assert bed.run(bed.plan(src, ["c2:alpha"])).exit_code == 0
    entry = Spool(bed.paths.spool_dir).get(src.content_key, len(data))
    assert entry is not None
    raw = bytearray(entry.read_bytes())
    raw[10] ^= 0xFF
    entry.write_bytes(bytes(raw))
    events: list = []
    result = bed.run(bed.plan(src, ["c3:alpha"]), events, retries=0)  # no retry to spend
    assert result.exit_code == 0, result.outcomes
    assert (result.spool_reads, result.source_reads) == (1, 1)
    said = notices(events)
    assert "spool copy" in said and "damaged" in said and "source image" not in said
    assert_one_verified_copy(bed, "c3:alpha", "spoolrot", data)
    healed = Spool(bed.paths.spool_dir).get(src.content_key, len(data))
    assert healed is not None and sha512(healed.read_bytes()) == sha512(data)


def test_a_5xx_is_retried_and_a_409_fails_at_once(bed):
    data = random_bytes(256 << 10)
    src = bed.put("c1:alpha", "codes", data)
    bed.cloud("c2").fail("create", ServerError("server error 503 (fake)", "c2:alpha", 503))
    bed.cloud("c3").fail("create", Conflict("cannot create (409, fake)", "c3:alpha", 409))
    events: list = []
    result = bed.run(bed.plan(src, ["c2:alpha", "c3:alpha"]), events)
    by_ref = {str(o.ref): o for o in result.outcomes}
    assert by_ref["c2:alpha"].ok
    assert not by_ref["c3:alpha"].ok and "409" in by_ref["c3:alpha"].message
    said = notices(events)
    assert "c2:alpha: retrying" in said and "c3:alpha: retrying" not in said
    assert_one_verified_copy(bed, "c2:alpha", "codes", data)


def test_transient_errors_are_retried_retries_times_then_reported(bed):
    src = bed.put("c1:alpha", "flaky", random_bytes(64 << 10))
    broken = bed.cloud("c2").fail(
        "upload", ServerError("server error 502 (fake)", "c2:alpha"), times=None
    )
    result = bed.run(bed.plan(src, ["c2:alpha"]), retries=2)
    assert result.exit_code == 1
    assert broken.hits == 3  # the first attempt and two retries
    assert "502" in result.outcomes[0].message
    assert bed.at("c2:alpha", "flaky") == []  # every attempt's half image was removed


def test_a_half_image_its_cloud_would_not_delete_is_named_and_reconcile_removes_it(bed):
    src = bed.put("c1:alpha", "leftover", random_bytes(2 * MiB))
    c3 = bed.cloud("c3")
    c3.drop("upload", after=MiB)
    c3.fail("delete", ServerError("server error 503 (fake)", "c3:alpha", 503), times=None)
    result = bed.run(bed.plan(src, ["c3:alpha"]), retries=0)
    assert result.exit_code == 1
    [half] = bed.at("c3:alpha", "leftover")
    message = result.outcomes[0].message
    assert f"left behind: half-made image {half.id}" in message
    assert "`glint reconcile` deletes it once c3:alpha answers again" in message
    c3.clear_faults()
    report = reconcile(bed.source, bed.paths)
    assert ("c3:alpha", half.id, half.status) in report.removed
    assert bed.at("c3:alpha", "leftover") == []


# --- stalls, slowness, a cloud that is down -----------------------------------------------


def test_a_stalled_destination_is_dropped_without_stalling_the_others(bed):
    data = random_bytes(3 * MiB)
    src = bed.put("c1:alpha", "frozen", data)
    stuck = bed.cloud("c3").stall("upload", after=256 << 10, seconds=30)
    events: list = []
    engine, thread, out = bed.start(
        bed.plan(src, ["c2:alpha", "c3:alpha"]), events, stall_timeout=0.5
    )
    try:
        wait_for(lambda: CellState.PRESENT in states(events, "c2:alpha"), 30, "c2 done")
        wait_for(lambda: "accepted no data for" in notices(events), 30, "c3 dropped")
    finally:
        stuck.release()  # like SIGCONT: the frozen Glance moves again
        thread.join(60)
    assert not thread.is_alive()
    result = out["result"]
    assert result.exit_code == 0, result.outcomes  # the retry (from the spool) succeeded
    assert result.source_reads == 1
    for ref in ("c2:alpha", "c3:alpha"):
        assert_one_verified_copy(bed, ref, "frozen", data)


def test_a_slow_destination_that_keeps_moving_is_not_dropped(bed):
    data = random_bytes(1 * MiB)
    src = bed.put("c1:alpha", "slowpoke", data)
    bed.cloud("c3").slow("upload", rate=2 * MiB)  # half a second for the image
    events: list = []
    result = bed.run(bed.plan(src, ["c2:alpha", "c3:alpha"]), events, stall_timeout=0.4)
    assert result.exit_code == 0, result.outcomes
    assert "retrying" not in notices(events)
    assert_one_verified_copy(bed, "c3:alpha", "slowpoke", data)


def test_a_cloud_that_is_down_fails_its_destination_and_not_the_others(bed):
    data = random_bytes(512 << 10)
    src = bed.put("c1:alpha", "downstairs", data)
    plan = bed.plan(src, ["c2:alpha", "c3:alpha"])
    bed.cloud("c3").down()
    result = bed.run(plan, retries=1)
    by_ref = {str(o.ref): o for o in result.outcomes}
    assert by_ref["c2:alpha"].ok
    assert not by_ref["c3:alpha"].ok and "cannot connect" in by_ref["c3:alpha"].message
    assert result.exit_code == 3
    assert_one_verified_copy(bed, "c2:alpha", "downstairs", data)


def test_an_image_lost_between_list_and_get_fails_its_copy_and_creates_nothing(bed):
    src = bed.put("c1:alpha", "vanishing", random_bytes(64 << 10))
    plan = bed.plan(src, ["c2:alpha", "c3:alpha"])
    bed.cloud("c1").lose(src.id)
    result = bed.run(plan)
    assert result.exit_code == 1
    assert all("cannot get image" in o.message for o in result.outcomes), result.outcomes
    assert ("create", "alpha", None) not in bed.cloud("c2").calls
    assert bed.at("c2:alpha", "vanishing") == [] and bed.at("c3:alpha", "vanishing") == []


# --- cancelling ----------------------------------------------------------------------------


def test_cancelling_one_destination_leaves_the_others_running(bed):
    data = random_bytes(4 * MiB)
    src = bed.put("c1:alpha", "cancel-one", data)
    bed.cloud("c1").slow("download", rate=4 * MiB)  # about a second to read
    plan = bed.plan(src, ["c2:alpha", "c3:alpha"])
    action_id = plan.copies[0].id
    events: list = []
    engine, thread, out = bed.start(plan, events)
    try:
        wait_for(lambda: sent_to(events, "c3:alpha") > 0, 30, "bytes to c3")
        assert engine.cancel_action(action_id, ProjectRef.parse("c1:beta")) is False  # not one
        assert engine.cancel_action(action_id, ProjectRef.parse("c3:alpha")) is True
    finally:
        thread.join(60)
    result = out["result"]
    assert (result.succeeded, result.failed, result.cancelled_count) == (1, 0, 1)
    assert result.exit_code == 3
    cancelled = [e for e in events if isinstance(e, CellChanged) and e.cancelled]
    assert [str(e.ref) for e in cancelled] == ["c3:alpha"]
    assert bed.at("c3:alpha", "cancel-one") == []
    assert_one_verified_copy(bed, "c2:alpha", "cancel-one", data)
    log = read_run(bed.paths.journal_dir / f"{result.run_id}.jsonl")
    assert log.pending() == []  # nothing for reconcile to chase
    assert engine.cancel_action(action_id) is False  # over


def test_a_cancel_that_lands_while_a_copy_verifies_wins_and_removes_the_copy(bed):
    data = random_bytes(256 << 10)
    src = bed.put("c1:alpha", "late-cancel", data)
    verifying = bed.cloud("c2").stall("get", after=0, seconds=30)  # Glance slow to answer
    plan = bed.plan(src, ["c2:alpha", "c3:alpha"])
    events: list = []
    engine, thread, out = bed.start(plan, events)
    try:
        assert verifying.started.wait(30), "c2 never reached verification"
        assert engine.cancel_action(plan.copies[0].id, ProjectRef.parse("c2:alpha")) is True
    finally:
        verifying.release()
        thread.join(60)
    by_ref = {str(o.ref): o for o in out["result"].outcomes}
    assert by_ref["c2:alpha"].cancelled and not by_ref["c2:alpha"].ok
    assert bed.cloud("c2").ever_active("late-cancel"), "the copy had been made"
    assert bed.at("c2:alpha", "late-cancel") == []  # ... and the cancel removed it
    assert_one_verified_copy(bed, "c3:alpha", "late-cancel", data)


def test_cancelling_the_run_removes_every_half_image(bed):
    src = bed.put("c1:alpha", "cancel-all", random_bytes(4 * MiB))
    bed.cloud("c1").slow("download", rate=2 * MiB)
    cancel = threading.Event()
    events: list = []
    out: dict = {}
    engine = bed.engine(events)
    plan = bed.plan(src, ["c2:alpha", "c3:alpha"])
    thread = threading.Thread(target=lambda: out.setdefault("r", engine.run(plan, cancel)))
    thread.start()
    try:
        wait_for(lambda: sent_to(events, "c2:alpha") > 0, 30, "bytes moving")
        cancel.set()
    finally:
        thread.join(60)
    assert out["r"].cancelled and out["r"].exit_code == 130
    assert bed.at("c2:alpha", "cancel-all") == [] and bed.at("c3:alpha", "cancel-all") == []
    finished = [e for e in events if isinstance(e, ActionFinished)]
    assert finished and all(e.cancelled for e in finished)


def test_a_cancelled_queued_copy_never_touches_a_cloud(bed):
    first = bed.put("c1:alpha", "runs-first", random_bytes(2 * MiB))
    second = bed.put("c1:alpha", "waits", random_bytes(64 << 10))
    bed.cloud("c1").slow("download", rate=2 * MiB, image_id=first.id)
    matrix = bed.matrix()
    desired = Desired()
    for image in (first, second):
        (row,) = [r for r in matrix.rows if r.name == image.name]
        desired.want(row.key, ProjectRef.parse("c2:alpha"), True)
    plan = build_plan(matrix, desired)
    running, waiting = sorted(plan.copies, key=lambda c: c.name != "runs-first")
    plan.copies[:] = [running, waiting]  # one image slot: the second waits for it
    events: list = []
    engine, thread, out = bed.start(plan, events, max_images=1)
    try:
        wait_for(lambda: sent_to(events, "c2:alpha") > 0, 30, "the first copy moving")
        assert engine.cancel_action(waiting.id) is True
    finally:
        thread.join(60)
    seen = [e.state for e in events if isinstance(e, CellChanged) and e.action_id == waiting.id]
    assert CellState.TRANSFERRING not in seen
    assert ("get", "alpha", waiting.source_image_id) not in bed.cloud("c1").calls
    assert out["result"].exit_code == 3
    assert bed.at("c2:alpha", "waits") == []


# --- other runs ----------------------------------------------------------------------------


def test_a_copy_another_run_made_meanwhile_is_reported_already_present(bed):
    data = random_bytes(256 << 10)
    src = bed.put("c1:alpha", "twice", data)
    plan = bed.plan(src, ["c2:alpha"])
    other = bed.put("c2:alpha", "twice", data)  # another glint run finished first
    events: list = []
    result = bed.run(plan, events)
    assert result.exit_code == 0
    (outcome,) = result.outcomes
    assert (outcome.image_id, outcome.message, outcome.bytes) == (other.id, "already present", 0)
    assert [i.id for i in bed.at("c2:alpha", "twice")] == [other.id]
    assert result.source_reads == 1 and "not copied again" in notices(events)
