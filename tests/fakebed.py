"""The fast lane's bed: three FAKE clouds (``tests/fakecloud.py``), a glint profile in a
temporary directory, and the real engine, inventory, planner and reconcile on them.

Fast tests use it for what a real Glance cannot be made to do on cue (drop at byte N,
corrupt one byte, stall until released, lose an image between list and get). What it
does not prove is listed in ``fakecloud``'s docstring.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from glint_tui.core.actions import CopyAction, CopyTarget, Plan
from glint_tui.core.desired import Desired
from glint_tui.core.events import CellChanged, CopyProgress, Event, Notice
from glint_tui.core.inventory import Matrix, refresh
from glint_tui.core.model import CellState, ImageRecord, ProjectRef
from glint_tui.core.paths import Paths
from glint_tui.core.plan import build_plan
from glint_tui.core.transfer import RunResult, TransferEngine, TransferOptions
from tests.fakecloud import FakeCloud, FakeSessionSource

MiB = 1 << 20

# quick defaults: nothing in the fast lane waits seconds for a backoff or a stall
FAST = {"backoff": 0.05, "stall_timeout": 2.0, "reconcile_first": False, "chunk_size": 64 << 10}


class FakeBed:
    """Clouds c1, c2, c3 (projects alpha, beta) and a profile under *root*."""

    def __init__(self, root: Path) -> None:
        self.clouds = {name: FakeCloud(name) for name in ("c1", "c2", "c3")}
        self.source = FakeSessionSource(*self.clouds.values())
        self.paths = Paths(
            "fake", root / "config", root / "data", root / "cache", root / "state"
        ).ensure()

    def cloud(self, name: str) -> FakeCloud:
        return self.clouds[name]

    def put(self, ref: str, name: str, data: bytes, **kw: Any) -> ImageRecord:
        repo, project = ref.split(":")
        return self.clouds[repo].put(project, name, data, **kw)

    def at(self, ref: str, name: str) -> list[ImageRecord]:
        """The images named *name* that *ref*'s project owns, any status."""
        repo, project = ref.split(":")
        return self.clouds[repo].named(name, project)

    def matrix(self) -> Matrix:
        return refresh(self.source)

    def plan(self, image: ImageRecord, dests: list[str], **kw: Any) -> Plan:
        matrix = self.matrix()
        (row,) = [r for r in matrix.rows if r.name == image.name]
        desired = Desired()
        for dest in dests:
            desired.want(row.key, ProjectRef.parse(dest), True)
        return build_plan(matrix, desired, **kw)

    def engine(self, events: list | None = None, **opts: Any) -> TransferEngine:
        options = TransferOptions(**{**FAST, **opts})
        on_event = events.append if events is not None else None
        return TransferEngine(self.source, self.paths, on_event=on_event, options=options)

    def run(
        self,
        plan: Plan,
        events: list | None = None,
        cancel: threading.Event | None = None,
        **opts: Any,
    ) -> RunResult:
        return self.engine(events, **opts).run(plan, cancel)

    def start(
        self, plan: Plan, events: list, **opts: Any
    ) -> tuple[TransferEngine, threading.Thread, dict]:
        """The run in a thread of its own: (engine, thread, {"result": RunResult} at the end)."""
        engine = self.engine(events, **opts)
        out: dict = {}
        thread = threading.Thread(target=lambda: out.setdefault("result", engine.run(plan)))
        thread.start()
        return engine, thread, out


def local_file_action(path: Path, data_key: str, name: str, dests: list[str]) -> CopyAction:
    """A copy of a local file: what ``glint upload FILE`` will plan."""
    return CopyAction(
        id="upload-1",
        name=name,
        content_key=data_key,
        size=path.stat().st_size,
        source=None,
        source_image_id=None,
        targets=tuple(CopyTarget(ProjectRef.parse(d), name) for d in dests),
        disk_format="raw",
        source_file=str(path),
    )


def states(events: list[Event], ref: str) -> list[CellState]:
    return [e.state for e in events if isinstance(e, CellChanged) and str(e.ref) == ref]


def notices(events: list[Event]) -> str:
    return "\n".join(e.message for e in events if isinstance(e, Notice))


def sent_to(events: list[Event], ref: str) -> int:
    return max(
        (e.per_destination.get(ref, 0) for e in list(events) if isinstance(e, CopyProgress)),
        default=0,
    )
