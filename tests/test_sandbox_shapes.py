"""The shaped sandbox (two regions, two stores) and what Glance's import does on it.

These tests talk to the real Glances in raw HTTP (tests/cloudside_helpers.py): they prove
what the cloud-side methods do, which glint's engine will rely on (docs/cloudside-notes.md
records the same findings in prose). They use the ``sandbox_shapes`` bed: c1 with RegionOne
and RegionTwo behind one Keystone, two file stores in each Glance, and a stock c2.
"""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from glint_tui.core import importmethods as im
from glint_tui.sandbox.shapes import PLAIN, Shape, ShapeError, load_shape, settle_shape
from tests import cloudside_helpers as h
from tests.cloudside_helpers import MiB


@pytest.fixture(scope="module")
def bed(sandbox_shapes):
    return sandbox_shapes


@pytest.fixture(scope="module")
def c1(bed):
    return bed.cloud("c1")


@pytest.fixture(scope="module")
def regions(c1) -> tuple[str, str]:
    """The URLs of RegionOne's and RegionTwo's Glance."""
    return c1.glance("glance").url, c1.glance("glance2").url


@pytest.fixture(scope="module")
def alice(c1):
    return h.keystone(c1, "alice")


@pytest.fixture(scope="module")
def source_512(alice, regions) -> tuple[dict, str]:
    """A 512 MiB image in RegionOne: big enough to catch an import in the middle."""
    return h.upload(alice, regions[0], "big-source", 512 * MiB)


def _glance_pids(cloud, service: str) -> list[int]:
    master = cloud.pid(service)
    assert master and cloud.alive(service)
    return [master, *(c.pid for c in psutil.Process(master).children(recursive=True))]


def _staged(cloud, service: str, image_id: str) -> int | None:
    path = cloud.glance(service).data / "staging" / image_id
    return path.stat().st_size if path.exists() else None


# -- the shapes themselves ------------------------------------------------------------------
def test_two_regions_are_two_glances_behind_one_keystone_each_catalogued_in_its_region(
    c1, alice, regions
) -> None:
    catalog = alice.auth.get_access(alice).service_catalog.catalog
    assert im.image_regions(catalog) == {"RegionOne": regions[0], "RegionTwo": regions[1]}
    assert regions[0] != regions[1]
    # one token works at both; each Glance has its own database and store
    img, _ = h.upload(alice, regions[0], "only-in-region-one", MiB)
    listed = {
        url: {i["id"] for i in alice.get(f"{url}/v2/images").json()["images"]} for url in regions
    }
    assert img["id"] in listed[regions[0]] and img["id"] not in listed[regions[1]]
    assert (c1.glance("glance").store_dir("local") / img["id"]).exists()
    h.delete(alice, regions[0], img["id"])


def test_shaped_glances_enable_cloud_side_methods_and_two_stores_and_a_stock_cloud_does_not(
    bed, alice, regions
) -> None:
    for url in regions:
        methods = im.import_methods(alice.get(f"{url}/v2/info/import").json())
        assert methods == {"glance-direct", "web-download", "copy-image", "glance-download"}
        stores = im.stores(alice.get(f"{url}/v2/info/stores").json())
        assert [(s.id, s.default) for s in stores] == [("local", True), ("second", False)]
    c2 = bed.cloud("c2")
    bob = h.keystone(c2, "bob")
    methods = im.import_methods(bob.get(f"{c2.glance_url}/v2/info/import").json())
    assert methods == {"glance-direct", "web-download", "copy-image"}  # Glance's default
    stores = im.stores(bob.get(f"{c2.glance_url}/v2/info/stores").json())
    assert [s.id for s in stores] == ["local"]


def test_nothing_of_a_shaped_sandbox_listens_off_loopback(bed) -> None:
    for cloud in bed.clouds:
        pids = [p for service in cloud.services for p in _glance_pids(cloud, service)]
        listening = {
            c.laddr
            for pid in pids
            for c in psutil.Process(pid).net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN
        }
        assert {a.ip for a in listening} == {"127.0.0.1"}
        assert {a.port for a in listening} == {port for _, port in cloud.ports}
    assert len(bed.cloud("c1").services) == 3  # keystone, glance, glance2


def test_a_sandbox_keeps_the_shape_it_was_created_with_and_refuses_another(bed) -> None:
    run = [sys.executable, "-m", "glint_tui", "sandbox"]
    refused = subprocess.run(
        [*run, "up", "--regions", "3"], env=bed.env(), capture_output=True, text=True
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "glint: this sandbox was created with 2 region(s) and 2 store(s); "
        "run `glint sandbox wipe` first to change its shape"
    ]
    status = subprocess.run([*run, "status"], env=bed.env(), capture_output=True, text=True)
    assert status.returncode == 0
    assert "glance2 RegionTwo" in status.stdout and "stores local, second" in status.stdout
    assert load_shape(bed.sandbox.root) == Shape(2, 2)


def test_a_shape_is_chosen_once_and_an_old_sandbox_without_one_is_stock(tmp_path: Path) -> None:
    assert settle_shape(tmp_path / "new", Shape(2, 1), exists=False) == Shape(2, 1)
    assert settle_shape(tmp_path / "new", None, exists=True) == Shape(2, 1)
    with pytest.raises(ShapeError):
        settle_shape(tmp_path / "new", Shape(1, 2), exists=True)
    assert settle_shape(tmp_path / "old", None, exists=True) == PLAIN
    with pytest.raises(ShapeError):
        settle_shape(tmp_path / "old2", Shape(2, 2), exists=True)
    with pytest.raises(ShapeError, match="--regions must be 1 to 4"):
        Shape(regions=5)


# -- glance-download ------------------------------------------------------------------------
def test_glance_download_makes_an_active_copy_in_region_two_with_the_source_sha512(
    alice, regions
) -> None:
    src, sha = h.upload(alice, regions[0], "gd-source", 64 * MiB)
    dst = h.begin_import(
        alice,
        regions[1],
        h.new_image(alice, regions[1], "gd-copy", glint_transfer_id="t-1"),
        h.glance_download("RegionOne", src["id"]),
    )
    task = h.finished_task(alice, regions[1], dst)
    copy = h.image(alice, regions[1], dst)
    assert task["status"] == "success" and copy["status"] == "active"
    assert copy["os_hash_value"] == src["os_hash_value"] == sha
    assert copy["size"] == src["size"] and copy["checksum"] == src["checksum"]
    assert copy["glint_transfer_id"] == "t-1"  # set before the import, kept through it
    assert copy["stores"] == "local"


def test_glance_download_copies_only_its_property_prefixes_and_the_formats(alice, regions) -> None:
    src, _ = h.upload(
        alice,
        regions[0],
        "gd-props",
        MiB,
        min_disk=2,
        min_ram=128,
        tags=["golden"],
        hw_disk_bus="scsi",
        os_distro="debian",
        os_type="linux",
        os_version="12",
        glint_origin="c1",
        architecture="x86_64",
    )
    dst = h.begin_import(
        alice,
        regions[1],
        h.new_image(alice, regions[1], "renamed", disk_format="qcow2", container_format="ovf"),
        h.glance_download("RegionOne", src["id"]),
    )
    h.finished_task(alice, regions[1], dst)
    copy = h.image(alice, regions[1], dst)
    assert {k: copy.get(k) for k in ("hw_disk_bus", "os_distro", "os_type")} == {
        "hw_disk_bus": "scsi",
        "os_distro": "debian",
        "os_type": "linux",
    }
    for k in ("os_version", "glint_origin", "architecture"):
        assert k not in copy, k
    assert (copy["min_disk"], copy["min_ram"], copy["tags"]) == (0, 0, [])
    assert copy["name"] == "renamed" and copy["visibility"] == "shared"
    # the formats are the source's, whatever the destination image said
    assert (copy["disk_format"], copy["container_format"]) == ("raw", "bare")


def test_a_glance_download_refused_before_any_byte_returns_the_copy_to_queued_and_only_its_task_says_so(  # noqa: E501
    alice, regions
) -> None:
    src, _ = h.upload(alice, regions[0], "gd-refused", MiB)
    for method in (
        h.glance_download("RegionNine", src["id"]),  # no such region in the catalog
        h.glance_download("RegionOne", "3f0c2a52-0000-4000-8000-000000000000"),  # no image
    ):
        target = h.new_image(alice, regions[1], "gd-refused-copy")
        dst = h.begin_import(alice, regions[1], target, method)
        task = h.finished_task(alice, regions[1], dst)
        copy = h.image(alice, regions[1], dst)
        assert task["status"] == "failure"
        assert task["message"] == "Task failed due to Internal Error"  # says nothing useful
        assert copy["status"] == "queued"
        # the store is not marked failed: only the task tells a failure from "not started"
        assert copy.get("os_glance_failed_import") == ""
        assert copy.get("os_glance_importing_to_stores") == "local"
        h.delete(alice, regions[1], dst)


def test_a_glance_download_cut_mid_transfer_marks_the_store_failed_and_blocks_a_new_import(
    bed, c1, alice, regions, source_512
) -> None:
    src, _ = source_512
    gd = h.glance_download("RegionOne", src["id"])
    dst = h.begin_import(alice, regions[1], h.new_image(alice, regions[1], "gd-cut"), gd)
    h.wait_for("bytes in staging", lambda: (_staged(c1, "glance2", dst) or 0) > 0)
    master = c1.pid("glance")
    worker = psutil.Process(master).children()[0].pid
    os.kill(worker, signal.SIGKILL)  # the uWSGI master starts a new worker
    try:
        copy = h.wait_for(
            "the copy to fail",
            lambda: (
                (i := h.image(alice, regions[1], dst))
                and i.get("os_glance_failed_import") == "local"
                and i
            ),
        )
        assert copy["status"] == "queued" and copy["os_glance_importing_to_stores"] == ""
        assert _staged(c1, "glance2", dst) is None  # staging emptied
        # the task's own failure is saved a moment after the image's (a loaded machine)
        h.wait_for(
            "the task to say failure",
            lambda: h.tasks(alice, regions[1], dst)[0]["status"] == "failure",
            timeout=30,
        )
        # the failed task keeps its lock for an hour: this image cannot be imported again
        assert copy.get("os_glance_import_task")
        again = h.start_import(alice, regions[1], dst, gd)
        assert again.status_code == 409 and "Image has active task" in again.text
        h.delete(alice, regions[1], dst)
    finally:
        c1.wait_ready("glance")


def test_a_stopped_source_stalls_glance_download_until_the_copy_is_deleted(
    bed, c1, alice, regions, source_512
) -> None:
    src, _ = source_512
    dst = h.begin_import(
        alice,
        regions[1],
        h.new_image(alice, regions[1], "gd-stalled", glint_transfer_id="t-stall"),
        h.glance_download("RegionOne", src["id"]),
    )
    h.wait_for("bytes in staging", lambda: (_staged(c1, "glance2", dst) or 0) > 0)
    pids = _glance_pids(c1, "glance")
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        # Glance sets no timeout on the download. A stall is an absence, so the test
        # watches for a while (this observation window is the point, not a wait).
        h.wait_for("the staged size to settle", lambda: _settled(c1, dst), timeout=30)
        seen = set()
        until = time.monotonic() + 5
        while time.monotonic() < until:
            seen.add((_staged(c1, "glance2", dst), _status(alice, regions[1], dst)))
            time.sleep(0.25)
        assert len(seen) == 1, seen
        ((staged, status),) = seen
        assert 0 < staged < src["size"] and status == ("importing", "local", "")
        # the stalled copy can be deleted, and its staged bytes go with it
        h.delete(alice, regions[1], dst)
        assert _staged(c1, "glance2", dst) is None
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    # once the source answers again, the orphaned task notices and leaves nothing behind
    log = c1.dir / "log" / "glance2-api.log"
    h.wait_for(
        "the orphaned import task to give up",
        lambda: f"No image found with ID {dst}" in log.read_text(errors="replace"),
    )
    assert not (c1.glance("glance2").store_dir("local") / dst).exists()
    assert _staged(c1, "glance2", dst) is None


def _settled(cloud, image_id: str) -> bool:
    """True once the staged size stops changing between two looks 0.5 s apart."""
    before = _staged(cloud, "glance2", image_id)
    time.sleep(0.5)
    return before == _staged(cloud, "glance2", image_id)


def _status(s, url: str, image_id: str) -> tuple:
    i = h.image(s, url, image_id) or {}
    return i.get("status"), i.get("os_glance_importing_to_stores"), i.get("os_glance_failed_import")


def test_a_client_killed_after_asking_for_the_import_leaves_a_copy_that_completes(
    bed, c1, regions, source_512
) -> None:
    """What glint SIGKILLed mid-import leaves behind: Glance goes on without it."""
    src, _ = source_512
    script = textwrap.dedent(
        f"""
        import sys, time
        from tests import cloudside_helpers as h
        s = h.keystone_at({c1.keystone_url!r}, "alice")
        url, gd = {regions[1]!r}, h.glance_download("RegionOne", {src["id"]!r})
        target = h.new_image(s, url, "gd-orphan", glint_transfer_id="t-killed")
        if sys.argv[1] == "create":
            print(target(), flush=True)
        else:
            print(h.begin_import(s, url, target, gd), flush=True)  # once its task runs
        time.sleep(600)
        """  # noqa: E501
    )
    alice = h.keystone(c1, "alice")
    left = {}
    for stage in ("create", "import"):
        client = subprocess.Popen(
            [sys.executable, "-c", script, stage],
            stdout=subprocess.PIPE,
            text=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert client.stdout is not None
        image_id = client.stdout.readline().strip()
        client.kill()
        client.wait()
        left[stage] = image_id
    orphan = h.image(alice, regions[1], left["create"])
    assert orphan["status"] == "queued" and orphan["glint_transfer_id"] == "t-killed"
    h.finished_task(alice, regions[1], left["import"])
    done = h.image(alice, regions[1], left["import"])
    assert done["status"] == "active" and done["glint_transfer_id"] == "t-killed"
    assert done["os_hash_value"] == src["os_hash_value"]
    for image_id in left.values():
        h.delete(alice, regions[1], image_id)


# -- copy-image and web-download ------------------------------------------------------------
def test_copy_image_adds_the_second_store_for_a_project_admin_and_is_refused_to_a_member(
    c1, alice, regions
) -> None:
    made: dict[str, tuple[int, str]] = {}

    def new_source() -> str:
        img, sha = h.upload(alice, regions[0], "copy-source", 16 * MiB)
        made[img["id"]] = (img["size"], sha)
        return img["id"]

    first = new_source()
    body = {"method": {"name": "copy-image"}, "stores": ["second"]}
    member = alice.post(f"{regions[0]}/v2/images/{first}/import", json=body, raise_exc=False)
    assert member.status_code == 403 and "copy_image" in member.text
    admin = h.keystone(c1, "admin", "alpha")
    unused = [first]  # begin_import asks for another source only if Glance's task never starts
    src = h.begin_import(
        admin, regions[0], lambda: unused.pop() if unused else new_source(), **body
    )
    h.finished_task(admin, regions[0], src)
    copied = h.image(alice, regions[0], src)
    size, sha = made[src]
    assert set(copied["stores"].split(",")) == {"local", "second"}
    assert copied["os_hash_value"] == sha and copied["status"] == "active"
    glance = c1.glance("glance")
    assert (glance.store_dir("second") / src).stat().st_size == size
    assert (glance.store_dir("local") / src).exists()
    again = h.start_import(admin, regions[0], src, **body)
    assert again.status_code == 400 and "already present at store &#x27;second&#x27;" in again.text
    for image_id in made:
        h.delete(alice, regions[0], image_id)


@pytest.fixture()
def web_server() -> Iterator[tuple[str, bytes]]:
    """A loopback HTTP server (on a random port) serving one image's bytes."""
    data = b"".join(h.pattern(8 * MiB, b"web"))

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/image.raw", data
    finally:
        server.shutdown()
        server.server_close()


def test_web_download_from_a_loopback_server_works_on_a_shaped_glance_and_a_stock_one_refuses(
    bed, alice, regions, web_server
) -> None:
    import hashlib

    url, data = web_server
    method = {"name": "web-download", "uri": url}
    dst = h.begin_import(alice, regions[1], h.new_image(alice, regions[1], "web"), method)
    assert h.finished_task(alice, regions[1], dst)["status"] == "success"
    got = h.image(alice, regions[1], dst)
    assert got["status"] == "active"
    assert got["os_hash_value"] == hashlib.sha512(data).hexdigest()
    h.delete(alice, regions[1], dst)
    c2 = bed.cloud("c2")
    bob = h.keystone(c2, "bob")
    stock = h.create(bob, c2.glance_url, "from-the-web")
    refused = h.start_import(bob, c2.glance_url, stock["id"], method)
    assert refused.status_code == 400 and "does not pass filtering" in refused.text
    unknown = h.start_import(
        bob, c2.glance_url, stock["id"], h.glance_download("RegionOne", stock["id"])
    )
    assert unknown.status_code == 400 and "Unknown import method name" in unknown.text
    h.delete(bob, c2.glance_url, stock["id"])


# -- discovery over the real answers --------------------------------------------------------
def _side(s, url: str) -> im.GlanceSide:
    access = s.auth.get_access(s)
    stores = s.get(f"{url}/v2/info/stores", raise_exc=False)
    return im.GlanceSide.from_json(
        url,
        access.project_id,
        info_import=s.get(f"{url}/v2/info/import").json(),
        info_stores=stores.json() if stores.status_code == 200 else None,
        catalog=access.service_catalog.catalog,
        roles=access.role_names,
    )


def test_discovery_over_real_answers_picks_cloud_side_where_allowed_and_stream_elsewhere(
    bed, c1, alice, regions
) -> None:
    src, _ = h.upload(alice, regions[0], "discovery", MiB)
    image = im.SourceImage.from_json(src)
    one, two = _side(alice, regions[0]), _side(alice, regions[1])
    between_regions = im.choose(im.verdicts(one, image, two))
    assert between_regions.method == "glance-download" and between_regions.host_bytes == 0
    assert between_regions.body["method"]["glance_region"] == "RegionOne"
    # the body discovery built is one Glance accepts, and it makes a verified copy
    target = h.new_image(alice, regions[1], "discovered-copy")
    dst = h.begin_import(alice, regions[1], target, **between_regions.body)
    assert h.finished_task(alice, regions[1], dst)["status"] == "success"
    assert h.image(alice, regions[1], dst)["os_hash_value"] == src["os_hash_value"]
    # a second store: copy-image for a project admin, not for a member
    admin = h.keystone(c1, "admin", "alpha")
    as_admin = _side(admin, regions[0])
    assert im.choose(im.verdicts(as_admin, image, as_admin, "second")).method == "copy-image"
    member = {v.method: v for v in im.verdicts(one, image, one, "second")}
    assert not member["copy-image"].possible and "admin" in member["copy-image"].reason
    # another Keystone: nothing cloud-side is possible, stream it is
    c2 = bed.cloud("c2")
    other = _side(h.keystone(c2, "alice"), c2.glance_url)
    elsewhere = im.choose(im.verdicts(one, image, other))
    assert elsewhere.method == "stream" and elsewhere.host_bytes == src["size"]
    h.delete(alice, regions[1], dst)
    h.delete(alice, regions[0], src["id"])
