"""Cloud-side copies on FAKE clouds (``tests/fakeimports.py``): which method each
destination gets, and what the engine does when an import is refused, fails, stalls or
never starts — faults a real Glance cannot be made to produce on cue. What Glance itself
does is proven against the real sandbox in ``test_cloudside.py``.

The bed: c1 and c2 are RegionOne and RegionTwo of one "Keystone", c2 enables
glance-download; c3 is another cloud that enables nothing (a stock Glance's
web-download/copy-image need a URL or a store, so it streams).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

import pytest

from glint_tui.core.errors import BadRequest
from glint_tui.core.journal import TRANSFER_PROPERTY, read_run
from glint_tui.core.methodchoice import SOURCE_URL_PROPERTY, choose_methods
from glint_tui.core.model import CellState
from glint_tui.core.plan import Plan
from tests import fakeimports
from tests.fakebed import FakeBed, MiB, notices, states
from tests.helpers import random_bytes, wait_for

STALL = {"import_stall": 0.6, "import_poll": 0.05}


@pytest.fixture
def bed(tmp_path: Path) -> FakeBed:
    bed = FakeBed(tmp_path)
    fakeimports.link(bed.cloud("c1"), bed.cloud("c2"))
    fakeimports.enable(bed.cloud("c2"), "glance-download", "web-download")
    return bed


def sha512(data: bytes) -> str:
    return hashlib.sha512(data).hexdigest()


def planned(bed: FakeBed, image, dests: list[str], method: str = "auto", **kw) -> Plan:
    plan = bed.plan(image, dests, store=kw.pop("store", None))
    return choose_methods(plan, bed.source.open, method, **kw)


def methods(plan: Plan) -> dict[str, tuple[str, int]]:
    return {str(t.ref): (t.method, t.host_bytes(c.size)) for c in plan.copies for t in c.targets}


def the_copy(bed: FakeBed, ref: str, name: str):
    (image,) = bed.at(ref, name)
    return image


def test_auto_pulls_between_regions_and_streams_elsewhere_and_the_plan_says_so(bed):
    data = random_bytes(2 * MiB)
    src = bed.put("c1:alpha", "golden", data)
    plan = planned(bed, src, ["c2:alpha", "c3:alpha"])
    assert methods(plan) == {
        "c2:alpha": ("glance-download", 0),
        "c3:alpha": ("stream", 2 * MiB),
    }
    [copy] = json.loads(plan.to_json())["copies"]
    by_ref = {t["ref"]: t for t in copy["targets"]}
    assert by_ref["c2:alpha"]["host_bytes"] == 0 and by_ref["c3:alpha"]["host_bytes"] == 2 * MiB
    assert plan.to_dict()["totals"]["host_bytes"] == 2 * 2 * MiB  # read once, sent once
    lines = "\n".join(plan.describe())
    assert "-> c2:alpha  (2.0 MiB) by glance-download, 0 Bytes through this host" in lines
    assert "-> c3:alpha  (2.0 MiB) by stream, 2.0 MiB through this host" in lines


def test_a_copy_pulled_by_the_destination_is_verified_and_gets_the_metadata_of_a_stream_copy(bed):
    data = random_bytes(1 * MiB)
    src = bed.put("c1:alpha", "props", data, hw_disk_bus="scsi", os_version="12", owner_note="x")
    stored = bed.cloud("c1").images[src.id]
    stored.record = replace(stored.record, min_disk=3, min_ram=256, tags=("golden",))
    result = bed.run(planned(bed, src, ["c2:alpha"]))
    assert result.exit_code == 0, result.outcomes
    (outcome,) = result.outcomes
    assert (outcome.method, outcome.bytes) == ("glance-download", 0)
    assert result.source_reads == 0  # nothing crossed this host
    copy = the_copy(bed, "c2:alpha", "props")
    assert copy.status == "active" and copy.os_hash_value == sha512(data)
    assert (copy.min_disk, copy.min_ram, copy.tags) == (3, 256, ("golden",))
    assert copy.properties["os_version"] == "12" and copy.properties["owner_note"] == "x"
    assert copy.properties[TRANSFER_PROPERTY]
    assert copy.visibility == "private"


def test_an_explicit_method_a_destination_cannot_serve_is_refused_with_its_reason(bed):
    src = bed.put("c1:alpha", "asked", random_bytes(MiB))
    plan = planned(bed, src, ["c2:alpha", "c3:alpha"], "glance-download")
    assert methods(plan) == {"c2:alpha": ("glance-download", 0)}
    (refusal,) = plan.refusals
    assert str(refusal.ref) == "c3:alpha"
    assert "--method glance-download: the destination does not enable" in refusal.reason
    stream = planned(bed, src, ["c2:alpha"], "stream")
    assert methods(stream) == {"c2:alpha": ("stream", MiB)}


def test_a_stalled_import_is_stopped_at_the_deadline_removed_and_the_copy_streamed(bed):
    data = random_bytes(MiB)
    src = bed.put("c1:alpha", "stalls", data)
    stall = bed.cloud("c2").stall("import-stall", after=0, seconds=60)
    events: list = []
    try:
        result = bed.run(planned(bed, src, ["c2:alpha"]), events, retries=0, **STALL)
    finally:
        stall.release()
    assert result.exit_code == 0, result.outcomes
    (outcome,) = result.outcomes
    assert outcome.method == "stream" and outcome.bytes == MiB
    assert "glance-download made no progress for 1 s" in outcome.message
    said = notices(events)
    assert "made no progress" in said and "copying it through this host instead" in said
    (copy,) = bed.at("c2:alpha", "stalls")  # the stalled image went, the stream made one
    assert copy.status == "active" and copy.os_hash_value == sha512(data)
    log = read_run(bed.paths.journal_dir / f"{result.run_id}.jsonl")
    kinds = [e["kind"] for e in log.entries]
    assert kinds.count("creating") == 2 and "fallback" in kinds
    fallback = next(e for e in log.entries if e["kind"] == "fallback")
    assert "made no progress" in fallback["result"] and fallback["method"] == "stream"
    assert kinds.count("cleaned") == 1  # the stalled import's image was deleted


def test_a_task_that_never_leaves_pending_is_caught_by_the_same_deadline(bed):
    data = random_bytes(MiB)
    src = bed.put("c1:alpha", "pending", data)
    bed.cloud("c2").fail("import-pending", BadRequest("unused"))
    events: list = []
    result = bed.run(planned(bed, src, ["c2:alpha"]), events, **STALL)
    assert result.exit_code == 0, result.outcomes
    assert "task pending" in result.outcomes[0].message
    assert [i.status for i in bed.at("c2:alpha", "pending")] == ["active"]


def test_a_refused_or_failed_import_falls_back_at_once_without_costing_a_retry(bed):
    data = random_bytes(MiB)
    refused = bed.put("c1:alpha", "refused", data)
    bed.cloud("c2").fail("import", BadRequest("URI does not pass filtering"))
    result = bed.run(planned(bed, refused, ["c2:alpha"]), retries=0, **STALL)
    assert result.exit_code == 0, result.outcomes
    assert "glance-download refused: URI does not pass filtering" in result.outcomes[0].message
    failed = bed.put("c1:alpha", "failed", data)
    bed.cloud("c2").fail("import-fail", BadRequest("Task failed due to Internal Error"))
    result = bed.run(planned(bed, failed, ["c2:alpha"]), retries=0, **STALL)
    assert result.exit_code == 0, result.outcomes
    assert "failed: Task failed due to Internal Error" in result.outcomes[0].message
    assert [i.status for i in bed.at("c2:alpha", "failed")] == ["active"]


def test_a_cloud_side_copy_with_other_bytes_is_deleted_and_never_left_active(bed):
    data = random_bytes(MiB)
    url = "http://mirror.invalid/img.raw"
    src = bed.put("c1:alpha", "web", data, **{SOURCE_URL_PROPERTY: url})
    bed.cloud("c2").web[url] = data[:-1] + b"!"  # the mirror serves other bytes
    plan = planned(bed, src, ["c2:alpha"], "web-download")
    assert methods(plan) == {"c2:alpha": ("web-download", 0)}
    result = bed.run(plan)
    assert result.exit_code == 1
    assert "does not match the source" in result.outcomes[0].message
    assert bed.at("c2:alpha", "web") == []


def test_web_download_from_a_url_the_caller_gives_is_verified_by_hash(bed):
    data = random_bytes(MiB)
    src = bed.put("c1:alpha", "upstream", data)
    url = "http://mirror.invalid/upstream.raw"
    bed.cloud("c3").web[url] = data
    fakeimports.enable(bed.cloud("c3"), "web-download")
    plan = planned(bed, src, ["c3:alpha"], "auto", source_url=url)
    assert methods(plan) == {"c3:alpha": ("web-download", 0)}
    result = bed.run(plan)
    assert result.exit_code == 0, result.outcomes
    assert the_copy(bed, "c3:alpha", "upstream").os_hash_value == sha512(data)


def test_copy_image_adds_a_store_and_a_failure_never_deletes_the_image(bed):
    c1 = bed.cloud("c1")
    fakeimports.enable(c1, "copy-image", stores=("local", "second"))
    data = random_bytes(MiB)
    src = bed.put("c1:alpha", "stored", data)
    member = planned(bed, src, ["c1:alpha"], store="second")
    assert member.copies == [] and "admin role" in member.refusals[0].reason
    c1.admins.add("alpha")
    plan = planned(bed, src, ["c1:alpha"], store="second")
    assert methods(plan) == {"c1:alpha": ("copy-image", 0)}
    assert bed.run(plan).exit_code == 0
    assert the_copy(bed, "c1:alpha", "stored").stores == ("local", "second")
    again = bed.plan(src, ["c1:alpha"], store="second")
    assert again.is_empty  # in that store already: nothing to do
    other = bed.put("c1:alpha", "stuck", data + b"x")
    c1.fail("import-fail", BadRequest("staging is full"))
    result = bed.run(planned(bed, other, ["c1:alpha"], store="second"), retries=0)
    assert result.exit_code == 1
    assert "copy-image failed: staging is full" in result.outcomes[0].message
    assert [i.status for i in bed.at("c1:alpha", "stuck")] == ["active"]  # kept, never deleted


def test_import_progress_reaches_the_cell_while_the_destination_works(bed):
    data = random_bytes(MiB)
    src = bed.put("c1:alpha", "watched", data)
    stall = bed.cloud("c2").stall("import-stall", after=0, seconds=30)
    events: list = []
    engine, thread, out = bed.start(planned(bed, src, ["c2:alpha"]), events, import_poll=0.05)
    try:
        wait_for(
            lambda: any(
                "glance-download: importing to local (task processing)" in e.message
                for e in list(events)
                if getattr(e, "state", None) == CellState.TRANSFERRING
            ),
            10,
            "the import's progress on the cell",
        )
    finally:
        stall.release()
        thread.join(30)
    assert out["result"].exit_code == 0
    assert CellState.PRESENT in states(events, "c2:alpha")


def test_the_ui_review_says_which_copies_the_destination_pulls_and_that_no_byte_crosses(bed):
    from glint_tui.ui.screens.plan_review import plan_text

    src = bed.put("c1:alpha", "reviewed", random_bytes(MiB))
    text = plan_text(planned(bed, src, ["c2:alpha", "c3:alpha"])).plain
    assert "c2:alpha by glance-download, 0 Bytes through this host" in text
    assert "c3:alpha by" not in text  # a streamed copy reads as it always did


def test_a_destination_that_does_not_say_what_it_allows_is_streamed_without_holding_the_plan(
    bed, monkeypatch
):
    """A hung Glance (FAKE: its /v2/info/import never answers) costs the plan the
    discovery wait, not the API timeout, and auto streams to it; the others still pull."""
    from glint_tui.core import methodchoice

    monkeypatch.setattr(methodchoice, "DISCOVERY_WAIT", 0.5)
    src = bed.put("c1:alpha", "hung-info", random_bytes(MiB))
    fakeimports.link(bed.cloud("c1"), bed.cloud("c2"), bed.cloud("c3"))
    fakeimports.enable(bed.cloud("c3"), "glance-download")
    hung = bed.cloud("c2").stall("info", after=0, seconds=60)
    try:
        plan = planned(bed, src, ["c2:alpha", "c3:alpha"])
    finally:
        hung.release()
    assert methods(plan) == {"c2:alpha": ("stream", MiB), "c3:alpha": ("glance-download", 0)}
    (c2,) = [t for c in plan.copies for t in c.targets if str(t.ref) == "c2:alpha"]
    assert "did not say which imports it allows within 0.5 s" in c2.method_note
