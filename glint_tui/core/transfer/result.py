"""What a run did: one Outcome per copy destination and per delete, and their sum."""

from __future__ import annotations

from dataclasses import dataclass, field

from glint_tui.core.events import RunFinished
from glint_tui.core.model import ProjectRef


@dataclass(frozen=True)
class Outcome:
    """The result of one destination of a copy, or of one delete."""

    action_id: str
    kind: str  # "copy" | "delete"
    name: str
    ref: ProjectRef
    ok: bool
    image_id: str | None = None
    message: str = ""
    bytes: int = 0  # bytes this host sent (0 for a cloud-side copy)
    cancelled: bool = False  # stopped on request: not a failure, nothing left behind
    method: str = ""  # how the copy got there (stream, glance-download, …)

    def to_dict(self) -> dict:
        return {
            "action_id": self.action_id,
            "kind": self.kind,
            "name": self.name,
            "ref": str(self.ref),
            "ok": self.ok,
            "image_id": self.image_id,
            "message": self.message,
            "bytes": self.bytes,
            "cancelled": self.cancelled,
            "method": self.method,
        }


@dataclass
class RunResult:
    run_id: str
    outcomes: list[Outcome] = field(default_factory=list)
    cancelled: bool = False
    source_reads: int = 0  # streams opened on a source (retries use the spool)
    spool_reads: int = 0  # streams served from the local spool

    @property
    def succeeded(self) -> int:
        return sum(1 for o in self.outcomes if o.ok)

    @property
    def failed(self) -> int:
        """Outcomes that went wrong; cancelled ones are counted in ``cancelled_count``."""
        return sum(1 for o in self.outcomes if not o.ok and not o.cancelled)

    @property
    def cancelled_count(self) -> int:
        return sum(1 for o in self.outcomes if o.cancelled)

    @property
    def exit_code(self) -> int:
        """0 all done, 3 some done and some failed or cancelled, 1 nothing done,
        130 the run (or every part of it) was cancelled."""
        if self.cancelled:
            return 130
        if self.failed:
            return 3 if self.succeeded else 1
        if self.cancelled_count:
            return 3 if self.succeeded else 130
        return 0

    def finished(self) -> RunFinished:
        """The ``RunFinished`` event that reports this result (engine and catalog runs)."""
        return RunFinished(
            self.run_id,
            self.succeeded,
            self.failed,
            self.cancelled,
            self.exit_code,
            cancelled_count=self.cancelled_count,
        )

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "cancelled": self.cancelled,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "cancelled_count": self.cancelled_count,
            "source_reads": self.source_reads,
            "spool_reads": self.spool_reads,
            "outcomes": [o.to_dict() for o in self.outcomes],
        }
