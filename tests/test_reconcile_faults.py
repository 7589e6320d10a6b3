"""Reconcile's guarantees on FAKE in-memory clouds (``tests/fakecloud.py``): it deletes
exactly the half images dead runs left, keeps completed copies, never touches an image
without the run's transfer id, and waits for a cloud that is down.

``test_crash_recovery.py`` proves the same against real Glance after a real SIGKILL.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from glint_tui.core import journal as jn
from glint_tui.core.clouds.base import ImageSpec
from glint_tui.core.journal import TRANSFER_PROPERTY, Journal
from glint_tui.core.reconcile import reconcile
from tests.fakebed import FakeBed
from tests.helpers import random_bytes


@pytest.fixture
def bed(tmp_path: Path) -> FakeBed:
    return FakeBed(tmp_path)


def half_image(bed: FakeBed, journal: Journal, ref: str, name: str, *, learned_id: bool = True):
    """What a run that died mid-upload leaves: journal lines, and a queued tagged image."""
    tid = journal.transfer_id()
    journal.record(jn.CREATING, transfer_id=tid, ref=ref, name=name, content_key="sha512:00")
    with bed.source.session(ref) as session:
        image = session.create_image(
            ImageSpec(name=name, disk_format="raw", properties={TRANSFER_PROPERTY: tid})
        )
    if learned_id:
        journal.record(jn.CREATED, transfer_id=tid, ref=ref, image_id=image.id)
    return tid, image


def test_reconcile_deletes_the_half_images_a_dead_run_left(bed):
    journal = Journal(bed.paths, command="killed run")
    _, queued = half_image(bed, journal, "c2:alpha", "half-q")
    _, saving = half_image(bed, journal, "c3:alpha", "half-s")
    bed.cloud("c3").set_status(saving.id, "saving")  # Glance died mid-upload
    journal.close()
    report = reconcile(bed.source, bed.paths)
    assert sorted(report.removed) == sorted(
        [("c2:alpha", queued.id, "queued"), ("c3:alpha", saving.id, "saving")]
    )
    assert report.ok and bed.at("c2:alpha", "half-q") == [] and bed.at("c3:alpha", "half-s") == []
    assert jn.read_run(journal.path).reconciled
    assert reconcile(bed.source, bed.paths).runs_checked == 0  # settled: never looked at again


def test_reconcile_finds_the_image_by_its_transfer_id_when_the_run_never_learned_its_id(bed):
    journal = Journal(bed.paths)
    _, image = half_image(bed, journal, "c2:alpha", "no-id", learned_id=False)
    journal.close()
    report = reconcile(bed.source, bed.paths)
    assert report.removed == [("c2:alpha", image.id, "queued")]


def test_reconcile_keeps_a_copy_that_completed_before_its_last_journal_line(bed):
    data = random_bytes(4096)
    journal = Journal(bed.paths)
    tid = journal.transfer_id()
    done = bed.put("c2:alpha", "complete", data, **{TRANSFER_PROPERTY: tid})
    journal.record(jn.CREATING, transfer_id=tid, ref="c2:alpha", name="complete",
                   content_key=done.content_key)  # fmt: skip
    journal.record(jn.CREATED, transfer_id=tid, ref="c2:alpha", image_id=done.id)
    journal.close()  # the "verified" line never made it
    report = reconcile(bed.source, bed.paths)
    assert report.kept == [("c2:alpha", done.id)] and report.removed == []
    assert [i.status for i in bed.at("c2:alpha", "complete")] == ["active"]


def test_reconcile_never_touches_an_image_without_that_runs_transfer_id(bed):
    journal = Journal(bed.paths)
    stranger = bed.put("c2:alpha", "stranger", b"x" * 100, **{TRANSFER_PROPERTY: "other.1"})
    untagged = bed.put("c2:alpha", "untagged", b"y" * 100)
    for image in (stranger, untagged):  # journal lines pointing (wrongly) at them
        tid = journal.transfer_id()
        journal.record(jn.CREATING, transfer_id=tid, ref="c2:alpha", name=image.name)
        journal.record(jn.CREATED, transfer_id=tid, ref="c2:alpha", image_id=image.id)
    journal.close()
    report = reconcile(bed.source, bed.paths)
    assert report.removed == []
    assert bed.at("c2:alpha", "stranger") and bed.at("c2:alpha", "untagged")


def test_reconcile_leaves_a_live_runs_images_alone(bed):
    live = Journal(bed.paths, command="running now")  # its journal is locked
    _, image = half_image(bed, live, "c2:alpha", "in-flight")
    try:
        report = reconcile(bed.source, bed.paths)
        assert report.runs_checked == 0 and report.removed == []
        assert [i.id for i in bed.at("c2:alpha", "in-flight")] == [image.id]
    finally:
        live.close()


def test_reconcile_waits_for_a_cloud_that_is_down_and_finishes_later(bed):
    journal = Journal(bed.paths)
    _, at_c2 = half_image(bed, journal, "c2:alpha", "wait-c2")
    _, at_c3 = half_image(bed, journal, "c3:alpha", "wait-c3")
    journal.close()
    bed.cloud("c3").down()
    first = reconcile(bed.source, bed.paths)
    assert first.removed == [("c2:alpha", at_c2.id, "queued")]  # the other cloud is done
    assert [u[0] for u in first.unresolved] == ["c3:alpha"] and not first.ok
    assert not jn.read_run(journal.path).reconciled
    bed.cloud("c3").up()
    second = reconcile(bed.source, bed.paths)
    assert second.removed == [("c3:alpha", at_c3.id, "queued")] and second.ok
    assert jn.read_run(journal.path).reconciled


def test_a_run_cleans_up_after_dead_runs_before_it_copies(bed):
    journal = Journal(bed.paths)
    _, left = half_image(bed, journal, "c2:alpha", "from-before")
    journal.close()
    src = bed.put("c1:alpha", "fresh", random_bytes(8192))
    result = bed.run(bed.plan(src, ["c2:alpha"]), reconcile_first=True)
    assert result.exit_code == 0
    assert bed.at("c2:alpha", "from-before") == []
    assert left.id not in {i.id for i in bed.cloud("c2").named("from-before")}
