"""Cloud-side copies by glint itself, on the real shaped sandbox (``sandbox_shapes``).

c1 has RegionOne and RegionTwo (a Glance each, behind one Keystone, two file stores in
each); c2 is a stock cloud. These tests run glint — the `glint` binary, or the engine in
this process where a test must see its events — and prove that each method really lets
the destination Glance move the bytes, that the copy is verified and gets a stream copy's
metadata, and that a stalled import falls back to a stream. What Glance itself does is in
``test_sandbox_shapes.py``; the engine's handling of faults no Glance makes on cue is in
``test_cloudside_fast.py`` (fake clouds).

The bed's profile gets two more repositories on c1's Keystone (``multi``, not pinned to a
region, so it shows one column per region; ``c1adm``, the sandbox admin in alpha, who may
copy-image) — made here, in this module's fixture.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from glint_tui.core import journal as jn
from glint_tui.core.clouds.base import CloudSession
from glint_tui.core.config import ConfigStore
from glint_tui.core.desired import Desired
from glint_tui.core.events import Notice
from glint_tui.core.inventory import refresh
from glint_tui.core.methodchoice import choose_methods
from glint_tui.core.model import Credential, ProjectRef
from glint_tui.core.plan import build_plan
from glint_tui.core.secrets import SecretStore
from glint_tui.core.sessions import SessionProvider
from glint_tui.core.transfer import TransferEngine, TransferOptions
from glint_tui.sandbox.cloud import ADMIN_PASSWORD
from tests.helpers import (
    assert_faithful_copy,
    download_sha512,
    glint,
    images_named,
    random_bytes,
    service_pids,
    sha512,
    unique,
    upload_image,
    wait_for,
)
from tests.test_sandbox_shapes import web_server  # noqa: F401  (a fixture)

MiB = 1 << 20
R1, R2 = "multi/RegionOne:alpha", "multi/RegionTwo:alpha"


@pytest.fixture(scope="module")
def bed(sandbox_shapes):
    """The shaped bed, with the ``multi`` and ``c1adm`` repositories (see the docstring)."""
    bed = sandbox_shapes
    store, secrets = ConfigStore(bed.paths), SecretStore(bed.paths)
    c1 = bed.sandbox.repository(bed.cloud("c1"))
    names = {r.name for r in store.repositories()}
    for name, user, password in (("multi", "alice", "alice-pass"), ("c1adm", "admin", None)):
        if name in names:
            continue
        store.add_repository(replace(c1, name=name, region=None if name == "multi" else c1.region))
        cred = Credential(name, "alpha", user)
        secrets.set(cred.secret_key, password or ADMIN_PASSWORD)
        store.add_credential(cred)
    return bed


def session(bed, ref: str) -> CloudSession:
    return SessionProvider(bed.paths).open(ProjectRef.parse(ref))


def source(bed, size: int, prefix: str, ref: str = R1):
    """A uniquely named image with metadata a copy must keep, and its bytes."""
    data = random_bytes(size)
    with session(bed, ref) as s:
        rec = upload_image(
            s, unique(prefix), data, os_distro="cirros", hw_disk_bus="scsi", glint_note="kept"
        )
        rec = s.update_image(rec.id, min_disk=1, min_ram=64, tags=["golden", "x86"])
    return rec, data


def outcomes(r: subprocess.CompletedProcess[str]) -> dict[str, dict]:
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    return {o["ref"]: o for o in doc["result"]["outcomes"]}


def planned(r: subprocess.CompletedProcess[str]) -> dict[str, tuple[str, int]]:
    doc = json.loads(r.stdout)
    return {t["ref"]: (t["method"], t["host_bytes"]) for c in doc["copies"] for t in c["targets"]}


def test_a_repository_with_two_regions_shows_one_column_per_region(bed):
    rec, _ = source(bed, MiB, "cols")
    r = glint(bed, "images", "--json")
    doc = json.loads(r.stdout)  # (exit 3 when another column failed: not this test's)
    columns = {c["ref"]: c for c in doc["columns"]}
    assert columns[R1]["error"] is None and columns[R2]["error"] is None
    assert columns[R1]["cloud"] != columns[R2]["cloud"]  # two Glances, one Keystone
    assert "multi:alpha" not in columns
    (row,) = [x for x in doc["rows"] if x["name"] == rec.name]
    assert R1 in row["cells"] and R2 not in row["cells"]  # in RegionOne only
    r = glint(bed, "copy", rec.name, "--from", R1, "--to", "multi:alpha")
    assert r.returncode == 2 and "name one" in r.stderr and "multi/RegionTwo:alpha" in r.stderr


def test_glance_download_between_regions_is_verified_by_hash_and_keeps_the_metadata(bed):
    rec, data = source(bed, 32 * MiB, "gd")
    r = glint(
        bed, "copy", rec.name, "--from", R1, "--to", R2,
        "--method", "glance-download", "--json",
    )  # fmt: skip
    got = outcomes(r)[R2]
    assert (got["method"], got["bytes"]) == ("glance-download", 0)
    with session(bed, R2) as s:
        copy = assert_faithful_copy(s, rec.name, data, rec)
        assert copy.properties["hw_disk_bus"] == "scsi"
        assert s.stored_hashes(copy)  # RegionTwo's own Glance holds it
    with session(bed, R1) as s:  # RegionOne still has exactly its one image
        assert [i.id for i in images_named(s, rec.name)] == [rec.id]
    log = _journal_of(bed, rec.name)
    assert [e["method"] for e in log if e["kind"] == jn.VERIFIED] == ["glance-download"]


def test_auto_pulls_into_the_other_region_and_streams_to_a_stock_cloud(bed, tmp_path):
    rec, data = source(bed, 8 * MiB, "auto")
    desired = tmp_path / "desired.json"
    desired.write_text(json.dumps({rec.name: [R1, R2, "c2:alpha"]}))
    r = glint(bed, "plan", str(desired), "--json")
    assert r.returncode == 0, r.stderr
    assert planned(r) == {R2: ("glance-download", 0), "c2:alpha": ("stream", 8 * MiB)}
    r = glint(bed, "copy", rec.name, "--from", R1, "--to", R2, "--to", "c2:alpha", "--json")
    got = outcomes(r)
    assert (got[R2]["method"], got[R2]["bytes"]) == ("glance-download", 0)
    assert (got["c2:alpha"]["method"], got["c2:alpha"]["bytes"]) == ("stream", 8 * MiB)
    for ref in (R2, "c2:alpha"):
        with session(bed, ref) as s:
            assert_faithful_copy(s, rec.name, data, rec)


def test_copy_image_adds_the_second_store_to_the_same_image_for_an_admin(bed):
    rec, data = source(bed, 8 * MiB, "store", ref="c1adm:alpha")
    r = glint(bed, "copy", rec.name, "--from", "c1adm:alpha", "--to", "c1adm:alpha",
              "--store", "second", "--json")  # fmt: skip
    got = outcomes(r)["c1adm:alpha"]
    assert (got["method"], got["bytes"]) == ("copy-image", 0)
    with session(bed, "c1adm:alpha") as s:
        (copy,) = images_named(s, rec.name)
        assert copy.id == rec.id and set(copy.stores) == {"local", "second"}
        assert copy.os_hash_value == sha512(data) == download_sha512(s, copy.id)
    doc = json.loads(glint(bed, "images", "--project", "c1adm:alpha", "--json").stdout)
    (row,) = [x for x in doc["rows"] if x["name"] == rec.name]
    (cell,) = row["cells"]["c1adm:alpha"]["images"]
    assert sorted(cell["stores"]) == ["local", "second"]  # what `glint images` shows
    # a member may not: copy-image is refused before anything happens, the image untouched
    rec2, _ = source(bed, MiB, "store-member")
    r = glint(bed, "copy", rec2.name, "--from", "c1:alpha", "--to", "c1:alpha",
              "--store", "second", "--method", "copy-image")  # fmt: skip
    assert r.returncode != 0 and "copy-image" in r.stderr, r.stderr
    with session(bed, "c1:alpha") as s:
        (same,) = images_named(s, rec2.name)
        assert same.id == rec2.id and same.status == "active" and set(same.stores) == {"local"}


def test_web_download_from_a_loopback_server_is_verified_and_other_bytes_are_deleted(
    bed,
    web_server,  # noqa: F811
):
    url, data = web_server
    with session(bed, R1) as s:
        rec = upload_image(s, unique("web"), data)
    r = glint(bed, "copy", rec.name, "--from", R1, "--to", R2,
              "--method", "web-download", "--source-url", url, "--json")  # fmt: skip
    got = outcomes(r)[R2]
    assert (got["method"], got["bytes"]) == ("web-download", 0)
    with session(bed, R2) as s:
        assert_faithful_copy(s, rec.name, data, rec)
    # a URL whose bytes are not the image's: the copy is deleted, never left active
    with session(bed, R1) as s:
        other = upload_image(s, unique("web-other"), random_bytes(MiB))
    r = glint(bed, "copy", other.name, "--from", R1, "--to", R2,
              "--method", "web-download", "--source-url", url)  # fmt: skip
    assert r.returncode == 1, r.stderr
    with session(bed, R2) as s:
        assert images_named(s, other.name) == []


def test_a_stopped_source_stalls_the_import_until_the_deadline_then_the_copy_is_streamed(bed):
    c1 = bed.cloud("c1")
    rec, data = source(bed, 256 * MiB, "stall")
    said: list[str] = []
    pids = service_pids(c1, "glance")  # RegionOne's Glance: the source

    def on_event(e) -> None:
        if isinstance(e, Notice) and "through this host instead" in e.message:
            if not said:
                _signal(pids, signal.SIGCONT)  # the stream reads the source: let it answer
            said.append(e.message)

    sessions = SessionProvider(bed.paths)
    matrix = refresh(sessions, [ProjectRef.parse(R1), ProjectRef.parse(R2)])
    (row,) = [x for x in matrix.rows if x.name == rec.name]
    desired = Desired()
    desired.want(row.key, ProjectRef.parse(R2), True)
    plan = choose_methods(build_plan(matrix, desired), sessions.open, "glance-download")
    engine = TransferEngine(
        sessions,
        bed.paths,
        on_event=on_event,
        options=TransferOptions(import_stall=8, import_poll=0.5, retries=0),
    )
    result: list = []
    worker = threading.Thread(target=lambda: result.append(engine.run(plan)))
    worker.start()
    try:
        staged = c1.glance("glance2").data / "staging"
        wait_for(lambda: any(staged.glob("*")), 120, "bytes in RegionTwo's staging")
        _signal(pids, signal.SIGSTOP)
        worker.join(timeout=300)
    finally:
        if not said:
            _signal(pids, signal.SIGCONT)
    assert not worker.is_alive()
    assert len(said) == 1 and "made no progress for 8 s" in said[0]  # the notice, once
    (run,) = result
    assert run.exit_code == 0, run.outcomes
    (outcome,) = run.outcomes
    assert outcome.method == "stream" and outcome.bytes == len(data)
    with session(bed, R2) as s:
        copy = assert_faithful_copy(s, rec.name, data, rec)  # one copy: the stalled one went
    log = _journal_of(bed, rec.name)
    (fell,) = [e for e in log if e["kind"] == jn.FALLBACK]
    assert "made no progress" in fell["result"]
    assert [e["image_id"] for e in log if e["kind"] == jn.VERIFIED] == [copy.id]


def test_glint_killed_mid_import_then_reconcile_leaves_a_verified_copy_or_none(bed):
    rec, data = source(bed, 128 * MiB, "killed")
    client = subprocess.Popen(
        [sys.executable, "-m", "glint_tui", "copy", rec.name, "--from", R1,
         "--to", R2, "--method", "glance-download", "--yes"],
        env=bed.env(), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parent.parent,
    )  # fmt: skip
    try:
        with session(bed, R2) as s:
            importing = lambda: any(i.status == "importing" for i in images_named(s, rec.name))  # noqa: E731
            wait_for(importing, 120, "the import to start")
    finally:
        client.send_signal(signal.SIGKILL)
        client.wait()
    # Glance may still be between states when reconcile first looks (an image it cannot
    # settle yet is left unresolved, exit 1, for the next run): run it until it settles
    removed: list[dict] = []
    kept: list[dict] = []

    def settled() -> bool:
        r = glint(bed, "reconcile", "--json")
        report = json.loads(r.stdout)
        removed.extend(x for x in report["removed"] if x["ref"] == R2)
        kept.extend(x for x in report["kept"] if x["ref"] == R2)
        return r.returncode == 0

    wait_for(settled, 120, "reconcile to settle the killed run's copy", every=2)
    assert len(removed) + len(kept) == 1, (removed, kept)  # the one copy that run made
    with session(bed, R2) as s:
        if removed:  # still importing when reconcile looked: deleted, nothing half-made left
            assert removed[0]["status"] == "importing"
            wait_for(lambda: not images_named(s, rec.name), 60, "the copy to go")
        else:  # Glance had finished: kept only because its sha512 is the source's
            copy = assert_faithful_copy(s, rec.name, data, rec)
            assert copy.id == kept[0]["image_id"]
    again = json.loads(glint(bed, "reconcile", "--json").stdout)
    assert not [x for x in again["removed"] + again["kept"] if x["ref"] == R2]


def _journal_of(bed, name: str) -> list[dict]:
    """Every journal line of the runs that copied an image called *name*."""
    out = []
    for path in jn.journal_files(bed.paths):
        entries = jn.read_run(path).entries
        if any(e.get("name") == name for e in entries):
            out += entries
    return out


def _signal(pids: list[int], sig: int) -> None:
    for pid in pids:
        os.kill(pid, sig)


@pytest.fixture(autouse=True)
def _running(bed) -> Iterator[None]:
    yield
    bed.ensure_running()
