"""The fetcher against a real loopback HTTP mirror (tests/mirror.py): resume, retries,
servers without Range, stalls, corruption — and that nothing unverified is ever handed on."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from glint_tui.core.catalog.entries import Checksum
from glint_tui.core.catalog.fetch import Cancelled, fetch
from glint_tui.core.catalog.partial import Partial, PartialBusy
from glint_tui.core.catalog.web import RetryPolicy, UpstreamError
from glint_tui.core.errors import DataMismatch
from glint_tui.core.spool import PARTIAL_PREFIX, Spool
from glint_tui.core.timeouts import Timeouts
from tests.mirror import Mirror

SIZE = 3 << 20
QUICK = RetryPolicy(attempts=4, first_delay=0.01, max_delay=0.05)


@pytest.fixture
def mirror():
    with Mirror() as m:
        yield m


@pytest.fixture
def image_bytes() -> bytes:
    return os.urandom(SIZE)


def sha512(data: bytes) -> Checksum:
    return Checksum("sha512", hashlib.sha512(data).hexdigest())


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir()) if directory.exists() else []


def test_a_clean_download_is_verified_and_handed_on(mirror, image_bytes, tmp_path):
    mirror.files["img.qcow2"] = image_bytes
    dest = tmp_path / "spool" / "sha512-x.img"
    seen = []
    got = fetch(
        mirror.url("img.qcow2"), dest, sha512(image_bytes), on_progress=lambda n, t: seen.append(t)
    )
    assert dest.read_bytes() == image_bytes and got.path == dest
    assert got.sha512 == hashlib.sha512(image_bytes).hexdigest() and got.size == SIZE
    assert (got.attempts, got.resumed, got.reused) == (1, 0, False)
    assert set(seen) == {SIZE} and leftovers(dest.parent) == [dest.name]
    assert oct(dest.stat().st_mode & 0o777) == "0o600"


def test_a_download_that_drops_is_resumed_and_verified(mirror, image_bytes, tmp_path):
    mirror.files["img.qcow2"] = image_bytes
    mirror.drops = [SIZE // 3, SIZE // 3]  # the first two responses die a third of the way in
    dest = tmp_path / "img"
    got = fetch(mirror.url("img.qcow2"), dest, sha512(image_bytes), policy=QUICK)
    assert dest.read_bytes() == image_bytes
    assert (got.attempts, got.resumed) == (3, 2)
    ranges = [r.range for r in mirror.requests]
    assert ranges == [None, f"bytes={SIZE // 3}-", f"bytes={2 * (SIZE // 3)}-"]
    assert mirror.bytes_sent == SIZE  # every byte crossed the wire once: resumed, not restarted


def test_a_server_without_range_support_is_read_again_from_the_start(mirror, image_bytes, tmp_path):
    mirror.files["img.qcow2"] = image_bytes
    mirror.ranges = False
    mirror.drops = [SIZE // 2]
    got = fetch(mirror.url("img.qcow2"), tmp_path / "img", sha512(image_bytes), policy=QUICK)
    assert (tmp_path / "img").read_bytes() == image_bytes
    assert (got.attempts, got.resumed) == (2, 0)
    assert [r.status for r in mirror.requests] == [200, 200]  # asked for the rest, got it all


def test_a_corrupted_upstream_file_is_refused_and_nothing_is_created(mirror, image_bytes, tmp_path):
    mirror.files["img.qcow2"] = image_bytes
    mirror.corrupt.add("img.qcow2")
    spool = tmp_path / "spool"
    with pytest.raises(DataMismatch) as info:
        fetch(mirror.url("img.qcow2"), spool / "sha512-x.img", sha512(image_bytes), policy=QUICK)
    assert "refused and deleted (nothing was created anywhere)" in str(info.value)
    assert leftovers(spool) == []  # neither the file nor its partial
    assert len(mirror.requests) == 1  # a clean download that mismatches is not retried


def test_a_resumed_file_that_mismatches_is_read_once_more_from_scratch(
    mirror, image_bytes, tmp_path
):
    """A partial left by a run that was killed, from a file that changed since: the resume
    mixes two files, the hash says so, glint reads the whole file again (once)."""
    dest = tmp_path / "img"
    partial = tmp_path / f"{PARTIAL_PREFIX}fetch-img"
    partial.write_bytes(os.urandom(SIZE // 4))  # bytes of an older upload of that name
    mirror.files["img.qcow2"] = image_bytes
    got = fetch(mirror.url("img.qcow2"), dest, sha512(image_bytes), policy=QUICK)
    assert dest.read_bytes() == image_bytes and got.resumed == 1
    assert [r.range for r in mirror.requests] == [f"bytes={SIZE // 4}-", None]


def test_a_partial_left_by_a_killed_run_is_resumed(mirror, image_bytes, tmp_path):
    partial = tmp_path / f"{PARTIAL_PREFIX}fetch-img"
    partial.write_bytes(image_bytes[: SIZE // 2])
    mirror.files["img.qcow2"] = image_bytes
    got = fetch(mirror.url("img.qcow2"), tmp_path / "img", sha512(image_bytes))
    assert got.resumed == 1 and mirror.bytes_sent == SIZE - SIZE // 2
    assert (tmp_path / "img").read_bytes() == image_bytes
    assert leftovers(tmp_path) == ["img"]


def test_a_stalled_download_is_dropped_at_the_no_progress_deadline_and_resumed(
    mirror, image_bytes, tmp_path
):
    mirror.files["img.qcow2"] = image_bytes
    mirror.stalls = [SIZE // 2]  # the first response stops sending halfway, socket open
    quick = Timeouts(connect=5, stream=0.5)
    url, dest = mirror.url("img.qcow2"), tmp_path / "img"
    got = fetch(url, dest, sha512(image_bytes), timeouts=quick, policy=QUICK)
    assert (tmp_path / "img").read_bytes() == image_bytes
    assert got.attempts == 2 and got.resumed == 1
    assert mirror.requests[1].range is not None


def test_a_mirror_that_keeps_dropping_gives_up_with_one_clear_line(mirror, image_bytes, tmp_path):
    mirror.files["img.qcow2"] = image_bytes
    mirror.drops = [0] * 10
    with pytest.raises(UpstreamError) as info:
        fetch(mirror.url("img.qcow2"), tmp_path / "img", sha512(image_bytes), policy=QUICK)
    message = str(info.value)
    assert message.startswith(mirror.url("img.qcow2")) and "gave up after 4 attempts" in message
    assert "\n" not in message and len(mirror.requests) == 4
    assert not (tmp_path / "img").exists()


def test_a_missing_file_is_one_line_and_not_retried(mirror, tmp_path):
    with pytest.raises(UpstreamError) as info:
        fetch(mirror.url("gone.qcow2"), tmp_path / "img", sha512(b"x"), policy=QUICK)
    assert "HTTP 404" in str(info.value) and not info.value.transient
    assert len(mirror.requests) == 1


def test_an_unreachable_mirror_is_retried_then_one_line(tmp_path):
    with Mirror() as gone:
        url = gone.url("img")
    with pytest.raises(UpstreamError) as info:
        fetch(url, tmp_path / "img", sha512(b"x"), policy=QUICK, sleep=lambda s: None)
    assert "cannot connect" in str(info.value) and "gave up after 4 attempts" in str(info.value)


def test_a_sha256_upstream_is_checked_and_the_sha512_content_key_computed(
    mirror, image_bytes, tmp_path
):
    mirror.files["img.qcow2"] = image_bytes
    claimed = Checksum("sha256", hashlib.sha256(image_bytes).hexdigest())
    got = fetch(mirror.url("img.qcow2"), tmp_path / "img", claimed)
    assert got.checksum == claimed
    assert got.content_key == "sha512:" + hashlib.sha512(image_bytes).hexdigest()
    wrong = Checksum("sha256", "0" * 64)
    with pytest.raises(DataMismatch):
        fetch(mirror.url("img.qcow2"), tmp_path / "other", wrong)
    assert not (tmp_path / "other").exists()


def test_a_file_already_in_the_spool_is_not_downloaded_again(mirror, image_bytes, tmp_path):
    mirror.files["img.qcow2"] = image_bytes
    dest = tmp_path / "img"
    fetch(mirror.url("img.qcow2"), dest, sha512(image_bytes))
    again = fetch(mirror.url("img.qcow2"), dest, sha512(image_bytes))
    assert again.reused and len(mirror.requests) == 1


def test_a_size_the_catalog_states_must_be_the_size_upstream_sends(mirror, image_bytes, tmp_path):
    mirror.files["img.qcow2"] = image_bytes
    with pytest.raises(UpstreamError) as info:
        fetch(mirror.url("img.qcow2"), tmp_path / "img", sha512(image_bytes), size=SIZE + 1)
    assert f"is {SIZE} bytes, the catalog says {SIZE + 1}" in str(info.value)


def test_a_cancelled_download_keeps_its_bytes_for_a_resume(mirror, image_bytes, tmp_path):
    mirror.files["img.qcow2"] = image_bytes
    stop = threading.Event()

    def progress(done: int, total: int | None) -> None:
        if done >= SIZE // 2:
            stop.set()

    with pytest.raises(Cancelled):
        fetch(mirror.url("img.qcow2"), tmp_path / "img", sha512(image_bytes), on_progress=progress,
              cancel=stop, chunk_size=64 << 10)  # fmt: skip
    got = fetch(mirror.url("img.qcow2"), tmp_path / "img", sha512(image_bytes))
    assert got.resumed == 1 and (tmp_path / "img").read_bytes() == image_bytes


def test_the_spool_sweeps_a_partial_nobody_holds_and_keeps_one_being_written(tmp_path):
    """The fetcher's partial follows the spool's rules: a killed run's file is swept at the
    next run's start; the live one (locked) is not."""
    dead = tmp_path / f"{PARTIAL_PREFIX}fetch-dead"
    dead.write_bytes(b"x")
    live = Partial(tmp_path / "live", "fetch").open()
    live.append(b"y")
    Spool(tmp_path).clean()
    assert not dead.exists() and live.path.exists()
    with pytest.raises(PartialBusy):
        Partial(tmp_path / "live", "fetch").open()  # a second run is told, not interleaved
    live.discard()
