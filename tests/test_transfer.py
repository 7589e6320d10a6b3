"""The transfer engine against the real sandbox clouds: fan-out, verification, failures.

Every test uploads its own uniquely named image; assertions are what an operator would
see (the bytes' sha512 at each destination, the metadata, no half images left behind).
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
from pathlib import Path

import pytest

from glint_tui.core.desired import Desired
from glint_tui.core.events import CellChanged, Event, Notice
from glint_tui.core.inventory import Matrix, refresh
from glint_tui.core.journal import TRANSFER_PROPERTY
from glint_tui.core.model import CellState, ImageRecord, ProjectRef
from glint_tui.core.plan import Plan, build_plan
from glint_tui.core.sessions import SessionProvider
from glint_tui.core.transfer import RunResult, TransferEngine, TransferOptions
from tests.helpers import random_bytes, sha512, unique, upload_image, wait_for

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


def download_sha512(session, image_id: str) -> str:
    h = hashlib.sha512()
    dl = session.download(image_id)
    try:
        for chunk in dl:
            h.update(chunk)
    finally:
        dl.close()
    return h.hexdigest()


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
