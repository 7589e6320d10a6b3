"""The FAKE cloud's cloud-side imports (``tests/fakecloud.py``): Glance's interoperable
import in memory, so the engine's method choice, fallback and no-progress deadline can be
tested on cue.

``link(*clouds)`` puts fake clouds behind one "Keystone" as regions (they then share
project ids, list each other as image regions, and can glance-download from each other);
``enable(cloud, ...)`` turns methods and stores on; ``cloud.web`` maps URLs to bytes for
web-download. An import runs in a thread like Glance's: the task goes ``pending`` ->
``processing`` (image ``importing``) -> ``success`` (image ``active``, formats and the
``hw_``/``os_distro`` properties copied from the source, nothing else). Faults, by op:

* ``import`` with an error: ``start_import`` raises it (Glance's 400/403/409);
* ``import-fail``: the task ends ``failure`` with the error's text, image ``queued``;
* ``import-stall``: the task stays ``processing`` until released or its seconds pass
  (then it finishes, as a thawed source would let it);
* ``import-pending``: the task never leaves ``pending`` (Glance dropped its first save).

What this does NOT prove: Glance's own import (the real-cloud tests in
``test_cloudside.py`` and ``test_sandbox_shapes.py`` do), its filtering, policy details,
staging, or its task wording.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from glint_tui.core import errors
from glint_tui.core.cloudid import normalize_url
from glint_tui.core.clouds.base import ImportInfo, ImportState
from glint_tui.core.importmethods import Store

if TYPE_CHECKING:
    from tests.fakecloud import FakeCloud, FakeSession

COPIED_PREFIXES = ("hw_", "trait:", "os_distro", "os_secure_boot", "os_type")


@dataclass
class FakeTask:
    status: str = "pending"
    message: str = ""
    updates: int = 0

    def set(self, status: str, message: str = "") -> None:
        self.status, self.message = status, message
        self.updates += 1


def link(*clouds: FakeCloud) -> None:
    """Make *clouds* the regions RegionOne, RegionTwo, … of one Keystone."""
    projects = clouds[0].projects
    for i, cloud in enumerate(clouds):
        cloud.projects = projects
        cloud.region = "RegionOne" if i == 0 else f"Region{i + 1}"
        cloud.peers = list(clouds)


def enable(cloud: FakeCloud, *methods: str, stores: tuple[str, ...] = ("local",)) -> None:
    cloud.methods = frozenset(methods)
    cloud.store_ids = stores


def import_info(session: FakeSession) -> ImportInfo:
    session._call("info")
    cloud = session.cloud
    return ImportInfo(
        endpoint=normalize_url(cloud.endpoint),
        region=cloud.region,
        project_id=cloud.projects[session.project],
        methods=frozenset(cloud.methods),
        stores=tuple(Store(s, i == 0) for i, s in enumerate(cloud.store_ids)),
        regions=image_regions(session),
        may_copy_image=session.admin,
    )


def image_regions(session: FakeSession) -> dict[str, str]:
    return {peer.region: normalize_url(peer.endpoint) for peer in session.cloud.peers}


def start_import(session: FakeSession, image_id: str, body: dict[str, Any]) -> None:
    session._call("import", image_id)  # an error fault raises here
    cloud = session.cloud
    method = dict(body.get("method") or {})
    name = method.get("name")
    if name not in cloud.methods:
        raise errors.BadRequest(f"Unknown import method name '{name}'.", session.where, 400)
    stored = session._stored(image_id)
    stores = tuple(body.get("stores") or cloud.store_ids[:1])
    if name == "copy-image" and not session.admin:
        raise errors.PermissionDenied("not authorized to copy_image (fake)", session.where, 403)
    if name != "copy-image" and stored.record.status != "queued":
        raise errors.Conflict("Image needs to be in 'queued' state (fake)", session.where, 409)
    if getattr(stored, "task", None) is not None and stored.task.status in (
        "pending",
        "processing",
    ):
        raise errors.Conflict("Image has active task (fake)", session.where, 409)
    stored.task = FakeTask()
    stored.locked = True
    threading.Thread(
        target=_run, args=(session, image_id, name, method, stores), daemon=True
    ).start()


def _fault(session: FakeSession, op: str, image_id: str) -> Any:
    fault = session.cloud._fault(op, session.project, image_id)
    if fault is not None:
        fault.started.set()
    return fault


def _run(session: FakeSession, image_id: str, name: str, method: dict, stores: tuple) -> None:
    cloud = session.cloud
    stored = cloud.images.get(image_id)
    if stored is None:
        return
    task = stored.task
    if _fault(session, "import-pending", image_id) is not None:
        return  # the task never starts
    with cloud.lock:
        task.set("processing")
        if name != "copy-image":
            stored.record = replace(stored.record, status="importing")
        stored.importing = stores
    stall = _fault(session, "import-stall", image_id)
    if stall is not None:
        stall.released.wait(stall.stall_seconds)
    failure = _fault(session, "import-fail", image_id)
    try:
        if failure is not None:
            raise failure.error or errors.ServerError("Task failed due to Internal Error")
        data, source = _fetch(session, name, method, stored)
    except errors.GlintError as e:
        with cloud.lock:
            if name != "copy-image":
                stored.record = replace(stored.record, status="queued")
            stored.importing = ()
            task.set("failure", str(e))
            stored.locked = False
        return
    with cloud.lock:
        if cloud.images.get(image_id) is not stored:
            return  # deleted meanwhile: Glance's thread finds no image and gives up
        if name == "copy-image":
            stored.record = replace(stored.record, stores=stored.record.stores + stores)
        else:
            _fill(cloud, stored, data, source, stores)
        stored.importing = ()
        task.set("success", f"Copied {len(data) >> 20} MiB")
        stored.locked = False


def _fetch(session: FakeSession, name: str, method: dict, stored: Any) -> tuple[bytes, Any]:
    cloud = session.cloud
    if name == "copy-image":
        return bytes(stored.data), None
    if name == "web-download":
        url = method.get("uri")
        if url not in cloud.web:
            raise errors.ServerError(f"cannot fetch {url} (fake)")
        return bytes(cloud.web[url]), None
    region = method.get("glance_region")
    peer = next((p for p in cloud.peers if p.region == region), None)
    if peer is None:
        raise errors.ServerError("Task failed due to Internal Error")
    source = peer.images.get(method.get("glance_image_id"))
    if source is None or source.record.status != "active":
        raise errors.ServerError("Task failed due to Internal Error")
    return bytes(source.data), source.record


def _fill(cloud: FakeCloud, stored: Any, data: bytes, source: Any, stores: tuple) -> None:
    stored.data = bytearray(data)
    record = stored.record
    if source is not None:  # glance-download: the formats and a few prefixes, no more
        copied = {k: v for k, v in source.properties.items() if k.startswith(COPIED_PREFIXES)}
        record = replace(
            record,
            disk_format=source.disk_format,
            container_format=source.container_format,
            properties={**record.properties, **copied},
        )
    stored.record = record
    cloud._activate(record.id)
    stored.record = replace(stored.record, stores=stores)


def import_state(session: FakeSession, image_id: str) -> ImportState:
    session._call("import-state", image_id)
    stored = session._stored(image_id)
    task = getattr(stored, "task", None)
    return ImportState(
        status=stored.record.status,
        importing=tuple(getattr(stored, "importing", ())),
        stores=stored.record.stores,
        locked=bool(getattr(stored, "locked", False)),
        task_status=task.status if task else None,
        task_message=task.message if task else "",
        task_updated=str(task.updates) if task else None,
    )
