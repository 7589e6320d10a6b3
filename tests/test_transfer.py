"""The transfer engine against the real sandbox clouds: fan-out, verification, failures.

Every test uploads its own uniquely named image; assertions are what an operator would
see (the bytes' sha512 at each destination, the metadata, no half images left behind).
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from glint_tui.core.desired import Desired
from glint_tui.core.events import (
    ActionFinished,
    CellChanged,
    CopyProgress,
    Event,
    Notice,
    RunFinished,
)
from glint_tui.core.inventory import Matrix, refresh
from glint_tui.core.journal import TRANSFER_PROPERTY, read_run
from glint_tui.core.model import CellState, ImageRecord, ProjectRef
from glint_tui.core.plan import Plan, build_plan
from glint_tui.core.sessions import SessionProvider
from glint_tui.core.transfer import RunResult, TransferEngine, TransferOptions
from tests.helpers import download_sha512, random_bytes, sha512, unique, upload_image, wait_for

pytestmark = pytest.mark.sandbox
MiB = 1 << 20


# --- helpers shared by the engine tests (imported by test_crash_recovery / test_cli) -------


def refs(*names: str) -> list[ProjectRef]:
    return [ProjectRef.parse(n) for n in names]


def matrix_of(sandbox, columns: list[str] | None = None) -> Matrix:
    provider = SessionProvider(sandbox.paths)
    return refresh(provider, refs(*columns) if columns else None)


def copy_plan(sandbox, image: ImageRecord, dests: list[str], **kw) -> Plan:
    matrix = matrix_of(sandbox)
    rows = [r for r in matrix.rows if r.name == image.name and r.content_key == image.content_key]
    assert len(rows) == 1, rows
    desired = Desired()
    for d in refs(*dests):
        desired.want(rows[0].key, d, True)
    return build_plan(matrix, desired, **kw)


def run_engine(sandbox, plan: Plan, events: list | None = None, cancel=None, **opts) -> RunResult:
    def on_event(e: Event) -> None:
        if events is not None:
            events.append(e)

    provider = SessionProvider(sandbox.paths)
    engine = TransferEngine(
        provider, sandbox.paths, on_event=on_event, options=TransferOptions(**opts)
    )
    return engine.run(plan, cancel)


def images_named(session, name: str) -> list[ImageRecord]:
    return [i for i in session.list_images() if i.name == name]


def user_props(rec: ImageRecord) -> dict:
    return {
        k: v
        for k, v in rec.properties.items()
        if k != TRANSFER_PROPERTY and not k.startswith("owner_specified.openstack.")
    }


def assert_faithful_copy(session, name: str, data: bytes, source: ImageRecord) -> ImageRecord:
    found = images_named(session, name)
    assert len(found) == 1, f"{session.where}: {[(i.id, i.status) for i in found]}"
    copy = found[0]
    assert copy.status == "active"
    assert copy.os_hash_value == sha512(data)
    assert download_sha512(session, copy.id) == sha512(data)
    assert copy.size == len(data)
    assert copy.disk_format == source.disk_format
    assert copy.container_format == source.container_format
    assert copy.min_disk == source.min_disk and copy.min_ram == source.min_ram
    assert sorted(copy.tags) == sorted(source.tags)
    assert user_props(copy) == user_props(source)
    assert copy.visibility == "private"
    assert copy.owner == session.project_id
    assert copy.properties.get(TRANSFER_PROPERTY)  # what reconcile recognises
    return copy


def source_image(sandbox, ref: str, size: int, prefix: str) -> tuple[ImageRecord, bytes]:
    data = random_bytes(size)
    s = sandbox.session(ref)
    try:
        rec = upload_image(s, unique(prefix), data, os_distro="cirros", glint_note="kept")
        rec = s.update_image(rec.id, min_disk=1, min_ram=64, tags=["golden", "x86"])
    finally:
        s.close()
    return rec, data


def states(events: list, ref: str) -> list[CellState]:
    return [e.state for e in events if isinstance(e, CellChanged) and str(e.ref) == ref]


# --- tests ---------------------------------------------------------------------------------


def test_one_to_one_copy_is_verified_and_keeps_metadata(sandbox):
    src, data = source_image(sandbox, "c1:alpha", 3 * MiB, "one2one")
    plan = copy_plan(sandbox, src, ["c2:alpha"])
    assert plan.copy_count == 1 and not plan.refusals
    events: list = []
    result = run_engine(sandbox, plan, events)
    assert result.exit_code == 0, result.outcomes
    assert result.source_reads == 1
    s = sandbox.session("c2:alpha")
    try:
        assert_faithful_copy(s, src.name, data, src)
    finally:
        s.close()
    seen = states(events, "c2:alpha")
    assert seen[0] == CellState.QUEUED and seen[-1] == CellState.PRESENT
    assert CellState.TRANSFERRING in seen and CellState.VERIFYING in seen


def test_one_to_three_copy_reads_the_source_once(sandbox):
    src, data = source_image(sandbox, "c1:alpha", 4 * MiB, "one2three")
    dests = ["c2:alpha", "c3:alpha", "c1:beta"]
    plan = copy_plan(sandbox, src, dests)
    assert len(plan.copies) == 1 and plan.copy_count == 3
    result = run_engine(sandbox, plan)
    assert result.exit_code == 0, result.outcomes
    assert result.source_reads == 1
    for ref in dests:
        s = sandbox.session(ref)
        try:
            assert_faithful_copy(s, src.name, data, src)
        finally:
            s.close()


def test_destination_glance_stopped_mid_transfer_is_retried_from_the_spool(sandbox):
    src, data = source_image(sandbox, "c1:alpha", 24 * MiB, "glancedies")
    plan = copy_plan(sandbox, src, ["c2:alpha", "c3:alpha"])
    c3 = sandbox.cloud("c3")
    events: list = []
    out: dict = {}

    def work():
        out["result"] = run_engine(sandbox, plan, events, max_rate=6 * MiB, retries=6)

    t = threading.Thread(target=work)
    try:
        t.start()
        wait_for(lambda: CellState.TRANSFERRING in states(events, "c3:alpha"), 60, "c3 upload")
        c3.stop(("glance",))
        # the healthy destination finishes while c3 is down
        wait_for(lambda: CellState.PRESENT in states(events, "c2:alpha"), 120, "c2 done")
        assert CellState.PRESENT not in states(events, "c3:alpha")
        wait_for(
            lambda: any(isinstance(e, Notice) and "c3:alpha" in e.message for e in events),
            120,
            "a retry notice for c3",
        )
        c3.start("glance")
        c3.wait_ready("glance")
        t.join(300)
        assert not t.is_alive()
    finally:
        sandbox.ensure_running()
        t.join(300)
    result = out["result"]
    assert result.exit_code == 0, result.outcomes
    assert result.source_reads == 1, "the retry must not read the source again"
    assert result.spool_reads >= 1
    for ref in ("c2:alpha", "c3:alpha"):
        s = sandbox.session(ref)
        try:
            assert_faithful_copy(s, src.name, data, src)  # exactly one image: no `saving` left
        finally:
            s.close()


def _glance_pids(cloud) -> list[int]:
    master = cloud.pid("glance")
    kids = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, kids)]


def test_a_frozen_destination_is_dropped_without_stalling_the_others(sandbox):
    src, data = source_image(sandbox, "c1:alpha", 24 * MiB, "frozen")
    plan = copy_plan(sandbox, src, ["c2:alpha", "c3:alpha"])
    pids = _glance_pids(sandbox.cloud("c3"))
    events: list = []
    out: dict = {}
    for p in pids:
        os.kill(p, signal.SIGSTOP)
    t = threading.Thread(
        target=lambda: out.setdefault(
            "result", run_engine(sandbox, plan, events, stall_timeout=3.0, backoff=1.0)
        )
    )
    try:
        t.start()
        # c2 completes although c3 accepts nothing (its queue fills and it is dropped)
        wait_for(lambda: CellState.PRESENT in states(events, "c2:alpha"), 120, "c2 done")
        wait_for(
            lambda: any(isinstance(e, Notice) and "accepted no data" in e.message for e in events),
            60,
            "c3 dropped",
        )
    finally:
        for p in pids:
            os.kill(p, signal.SIGCONT)
    t.join(300)
    assert not t.is_alive()
    result = out["result"]
    assert result.exit_code == 0, result.outcomes  # the retry after SIGCONT succeeded
    s = sandbox.session("c3:alpha")
    try:
        wait_for(
            lambda: [i.status for i in images_named(s, src.name)] == ["active"],
            60,
            "only the verified copy left at c3",
        )
        assert_faithful_copy(s, src.name, data, src)
    finally:
        s.close()


def test_corrupted_source_is_detected_and_nothing_is_left_at_destinations(sandbox):
    src, data = source_image(sandbox, "c1:alpha", 3 * MiB, "bitrot")
    store = Path(sandbox.cloud("c1").image_store) / src.id
    raw = bytearray(store.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    store.write_bytes(bytes(raw))
    plan = copy_plan(sandbox, src, ["c2:alpha", "c3:alpha"])
    result = run_engine(sandbox, plan, use_spool=True)
    assert result.exit_code == 1
    assert all("do not match" in o.message for o in result.outcomes), result.outcomes
    assert result.source_reads == 1  # a mismatch is permanent: no retry
    for ref in ("c2:alpha", "c3:alpha"):
        s = sandbox.session(ref)
        try:
            assert images_named(s, src.name) == []
        finally:
            s.close()


def test_permanent_error_fails_fast_without_retries(sandbox):
    src, _ = source_image(sandbox, "c1:alpha", 1 * MiB, "forbidden")
    plan = copy_plan(sandbox, src, ["c2:alpha"], visibility="public")  # members may not
    events: list = []
    result = run_engine(sandbox, plan, events, backoff=60.0)
    assert result.exit_code == 1
    assert "not allowed" in result.outcomes[0].message
    assert not [e for e in events if isinstance(e, Notice) and "retrying" in e.message]
    s = sandbox.session("c2:alpha")
    try:
        assert images_named(s, src.name) == []
    finally:
        s.close()


def test_cancel_stops_the_copy_and_removes_what_it_created(sandbox):
    src, _ = source_image(sandbox, "c1:alpha", 16 * MiB, "cancel")
    plan = copy_plan(sandbox, src, ["c2:alpha"])
    cancel = threading.Event()
    events: list = []
    out: dict = {}
    t = threading.Thread(
        target=lambda: out.setdefault(
            "r", run_engine(sandbox, plan, events, cancel=cancel, max_rate=2 * MiB)
        )
    )
    t.start()
    wait_for(lambda: CellState.TRANSFERRING in states(events, "c2:alpha"), 60, "transferring")
    cancel.set()
    t.join(120)
    assert not t.is_alive()
    assert out["r"].cancelled and out["r"].exit_code == 130
    s = sandbox.session("c2:alpha")
    try:
        assert images_named(s, src.name) == []
    finally:
        s.close()


# --- cancelling one action / one destination while the others go on ----------------------


def plan_for(sandbox, wants: list[tuple[ImageRecord, list[str]]], **kw) -> Plan:
    """One plan copying several images (``copy_plan`` does one)."""
    matrix = matrix_of(sandbox)
    desired = Desired()
    for image, dests in wants:
        rows = [r for r in matrix.rows if r.name == image.name]
        assert len(rows) == 1, rows
        for d in refs(*dests):
            desired.want(rows[0].key, d, True)
    return build_plan(matrix, desired, **kw)


def action_of(plan: Plan, image: ImageRecord) -> str:
    (action,) = [a for a in plan.copies if a.name == image.name]
    return action.id


def bytes_sent(events: list, action_id: str, ref: str) -> int:
    return max(
        (
            e.per_destination.get(ref, 0)
            for e in list(events)
            if isinstance(e, CopyProgress) and e.action_id == action_id
        ),
        default=0,
    )


def cancelled_cells(events: list, action_id: str) -> list[str]:
    return [
        str(e.ref)
        for e in events
        if isinstance(e, CellChanged) and e.action_id == action_id and e.cancelled
    ]


def start_engine(sandbox, plan: Plan, events: list, **opts):
    provider = SessionProvider(sandbox.paths)
    engine = TransferEngine(
        provider, sandbox.paths, on_event=events.append, options=TransferOptions(**opts)
    )
    out: dict = {}
    t = threading.Thread(target=lambda: out.setdefault("r", engine.run(plan)))
    t.start()
    return engine, t, out


def assert_nothing_named(sandbox, ref: str, name: str) -> None:
    s = sandbox.session(ref)
    try:
        assert images_named(s, name) == [], f"{ref} still has {name}"
    finally:
        s.close()


def test_cancel_one_copy_while_another_completes(sandbox):
    slow, _ = source_image(sandbox, "c1:alpha", 16 * MiB, "cancelme")
    kept, kept_data = source_image(sandbox, "c1:alpha", 6 * MiB, "keepme")
    plan = plan_for(sandbox, [(slow, ["c2:alpha"]), (kept, ["c3:alpha"])])
    slow_id, kept_id = action_of(plan, slow), action_of(plan, kept)
    events: list = []
    engine, t, out = start_engine(sandbox, plan, events, max_rate=2 * MiB, max_images=2)
    try:
        wait_for(lambda: bytes_sent(events, slow_id, "c2:alpha") > 0, 60, "bytes moving")
        assert engine.cancel_action("no-such-action") is False
        assert engine.cancel_action(slow_id) is True
    finally:
        t.join(180)
    assert not t.is_alive()
    result: RunResult = out["r"]
    by_action = {o.action_id: o for o in result.outcomes}
    assert by_action[kept_id].ok and not by_action[kept_id].cancelled
    assert by_action[slow_id].cancelled and not by_action[slow_id].ok
    assert (result.succeeded, result.failed, result.cancelled_count) == (1, 0, 1)
    assert not result.cancelled and result.exit_code == 3  # partial: not everything was done
    finished = [e for e in events if isinstance(e, RunFinished)][-1]
    assert (finished.cancelled, finished.exit_code, finished.cancelled_count) == (False, 3, 1)
    assert cancelled_cells(events, slow_id) == ["c2:alpha"]
    last = [e for e in events if isinstance(e, CellChanged) and e.action_id == slow_id][-1]
    assert (last.state, last.message) == (CellState.ERROR, "cancelled")  # what UIs match
    done = [e for e in events if isinstance(e, ActionFinished) and e.action_id == slow_id]
    assert done and done[0].cancelled and not done[0].ok
    assert engine.cancel_action(slow_id) is False  # over
    assert_nothing_named(sandbox, "c2:alpha", slow.name)
    s = sandbox.session("c3:alpha")
    try:
        assert_faithful_copy(s, kept.name, kept_data, kept)
    finally:
        s.close()


def test_cancel_one_destination_of_a_fan_out(sandbox):
    src, data = source_image(sandbox, "c1:alpha", 16 * MiB, "cancelone")
    plan = copy_plan(sandbox, src, ["c2:alpha", "c3:alpha"])
    action_id = plan.copies[0].id
    c3 = ProjectRef.parse("c3:alpha")
    events: list = []
    engine, t, out = start_engine(sandbox, plan, events, max_rate=2 * MiB)
    try:
        wait_for(lambda: bytes_sent(events, action_id, "c3:alpha") > 0, 60, "bytes to c3")
        assert engine.cancel_action(action_id, ProjectRef.parse("c1:beta")) is False  # not one
        assert engine.cancel_action(action_id, c3) is True
    finally:
        t.join(180)
    assert not t.is_alive()
    result: RunResult = out["r"]
    assert (result.succeeded, result.failed, result.cancelled_count) == (1, 0, 1)
    assert result.exit_code == 3
    assert cancelled_cells(events, action_id) == ["c3:alpha"]
    assert_nothing_named(sandbox, "c3:alpha", src.name)
    log = read_run(sandbox.paths.journal_dir / f"{result.run_id}.jsonl")
    at_c3 = [(e["kind"], e.get("result")) for e in log.entries if e.get("ref") == "c3:alpha"]
    assert ("failed", "cancelled") in at_c3 and at_c3[-1][0] == "cleaned", at_c3
    assert log.pending() == []  # nothing for reconcile to chase
    s = sandbox.session("c2:alpha")
    try:
        assert_faithful_copy(s, src.name, data, src)
    finally:
        s.close()


def test_a_cancelled_queued_copy_never_starts(sandbox):
    a, a_data = source_image(sandbox, "c1:alpha", 8 * MiB, "queue-a")
    b, b_data = source_image(sandbox, "c1:alpha", 8 * MiB, "queue-b")
    plan = plan_for(sandbox, [(a, ["c2:alpha"]), (b, ["c3:alpha"])])
    # one image slot: the plan's first copy runs, the second waits for the slot
    running, waiting = plan.copies
    data = {a.name: (a, a_data), b.name: (b, b_data)}
    events: list = []
    engine, t, out = start_engine(sandbox, plan, events, max_rate=2 * MiB, max_images=1)
    try:
        wait_for(lambda: bytes_sent(events, running.id, str(running.targets[0].ref)) > 0, 60, "1st")
        assert engine.cancel_action(waiting.id) is True
    finally:
        t.join(180)
    assert not t.is_alive()
    waiting_ref = str(waiting.targets[0].ref)
    seen = [e.state for e in events if isinstance(e, CellChanged) and e.action_id == waiting.id]
    assert CellState.TRANSFERRING not in seen, seen
    assert cancelled_cells(events, waiting.id) == [waiting_ref]
    assert out["r"].exit_code == 3
    assert_nothing_named(sandbox, waiting_ref, waiting.name)
    s = sandbox.session(str(running.targets[0].ref))
    try:
        image, image_data = data[running.name]
        assert_faithful_copy(s, running.name, image_data, image)
    finally:
        s.close()


def test_cancel_a_delete_that_has_not_started(sandbox):
    moving, _ = source_image(sandbox, "c1:alpha", 8 * MiB, "busy")
    name, data = unique("keepdel"), random_bytes(1 * MiB)
    for ref in ("c1:alpha", "c2:alpha"):
        s = sandbox.session(ref)
        try:
            upload_image(s, name, data)
        finally:
            s.close()
    matrix = matrix_of(sandbox)
    desired = Desired()
    (busy_row,) = [r for r in matrix.rows if r.name == moving.name]
    (del_row,) = [r for r in matrix.rows if r.name == name]
    desired.want(busy_row.key, ProjectRef.parse("c2:alpha"), True)
    desired.want(del_row.key, ProjectRef.parse("c2:alpha"), False)
    plan = build_plan(matrix, desired)
    assert len(plan.copies) == 1 and len(plan.deletes) == 1, plan.refusals
    delete_id = plan.deletes[0].id
    events: list = []
    engine, t, out = start_engine(sandbox, plan, events, max_rate=2 * MiB)
    try:  # deletes run after the copies: this one has not started yet
        wait_for(lambda: bytes_sent(events, plan.copies[0].id, "c2:alpha") > 0, 60, "copy")
        assert engine.cancel_action(delete_id) is True
    finally:
        t.join(180)
    assert not t.is_alive()
    result: RunResult = out["r"]
    (outcome,) = [o for o in result.outcomes if o.action_id == delete_id]
    assert outcome.cancelled and not outcome.ok
    assert (result.succeeded, result.failed, result.exit_code) == (1, 0, 3)
    assert cancelled_cells(events, delete_id) == ["c2:alpha"]
    s = sandbox.session("c2:alpha")
    try:
        assert [i.status for i in images_named(s, name)] == ["active"]  # still there
    finally:
        s.close()
