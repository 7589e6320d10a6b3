"""Sample images that make the first matrix meaningful.

The layout shows every situation an operator meets: images on several clouds, one on a
single cloud, two different images sharing one name, one shared with another project,
one public (owned by another project, so locked), and raw/qcow2/iso formats and sizes.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from glint_tui.core.clouds import open_session
from glint_tui.core.clouds.base import CloudSession, ImageSpec
from glint_tui.sandbox.samples import BUILDERS, MiB

if TYPE_CHECKING:
    from glint_tui.sandbox.cloud import Cloud
    from glint_tui.sandbox.manager import Sandbox


@dataclass(frozen=True)
class Sample:
    name: str
    seed: str
    disk_format: str
    size: int
    places: tuple[str, ...]  # "cN:project"; "cN:admin" is created by the admin user
    visibility: str = "private"
    share_with: tuple[str, ...] = ()
    properties: dict[str, str] = field(default_factory=dict)


SAMPLES = (
    Sample("cirros-0.6", "cirros", "qcow2", 3 * MiB, ("c1:alpha", "c2:alpha", "c3:alpha"),
           properties={"os_distro": "cirros", "os_version": "0.6"}),
    Sample("debian-12", "debian", "qcow2", 6 * MiB, ("c1:alpha", "c2:alpha"),
           properties={"os_distro": "debian", "os_version": "12"}),
    Sample("rocky-9-worker", "rocky", "raw", 8 * MiB, ("c1:alpha",),
           properties={"os_distro": "rocky", "hep_role": "worker"}),
    Sample("analysis-node", "analysis-a", "raw", 2 * MiB, ("c1:alpha", "c3:alpha")),
    Sample("analysis-node", "analysis-b", "raw", 2 * MiB, ("c2:alpha",)),
    Sample("shared-tools", "tools", "raw", 1 * MiB, ("c1:alpha",), share_with=("beta",)),
    Sample("public-base", "public", "raw", 4 * MiB, ("c2:admin",), visibility="public"),
    Sample("rescue-iso", "rescue", "iso", 2 * MiB, ("c3:beta",)),
)  # fmt: skip


def seed_clouds(sandbox: Sandbox, clouds: list[Cloud], progress: Callable[[str], None]) -> None:
    """Create the samples on *clouds* once (a marker file per cloud makes it idempotent)."""
    for cloud in clouds:
        marker = cloud.dir / "seeded"
        if marker.exists():
            continue
        sessions = _sessions(sandbox, cloud)
        try:
            count = 0
            for sample in SAMPLES:
                for place in sample.places:
                    cloud_name, _, project = place.partition(":")
                    if cloud_name == cloud.name:
                        _create(sample, sessions[project], sessions)
                        count += 1
        finally:
            for s in sessions.values():
                s.close()
        marker.touch()
        progress(f"{cloud.name}: {count} sample images")


def _sessions(sandbox: Sandbox, cloud: Cloud) -> dict[str, CloudSession]:
    repo = sandbox.repository(cloud)
    pairs = [*sandbox.member_credentials(cloud), sandbox.admin_credential(cloud)]
    return {cred.project: open_session(repo, cred, secret) for cred, secret in pairs}


def _create(sample: Sample, session: CloudSession, sessions: dict[str, CloudSession]) -> None:
    data = BUILDERS[sample.disk_format](sample.seed, sample.size)
    spec = ImageSpec(
        name=sample.name,
        disk_format=sample.disk_format,
        container_format="bare",
        visibility="shared" if sample.share_with else sample.visibility,
        properties={"glint_sample": "true", **sample.properties},
    )
    record = session.create_image(spec)
    session.upload(record.id, io.BytesIO(data), len(data))
    for project in sample.share_with:
        member_session = sessions[project]
        session.add_member(record.id, member_session.project_id)
        member_session.update_member_status(record.id, member_session.project_id, "accepted")
