"""Progress events the transfer engine emits while it runs a plan.

The engine never prints: it calls ``on_event(event)`` with one of these frozen records,
from its worker threads. The CLI renders them as progress lines/bars; the TUI should
hand them to its event loop (``App.call_from_thread``) and update the matrix cells.

Every event names the plan action it belongs to (``action_id``, the same id as
``CopyAction.id`` / ``DeleteAction.id`` in ``core.plan``), so a UI can keep one progress
record per action and one cell state per (action, destination).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from glint_tui.core.model import CellState, ProjectRef


def _now() -> float:
    return time.time()


@dataclass(frozen=True)
class RunStarted:
    """The engine accepted a plan: ``copies`` / ``deletes`` actions, ``total_bytes`` to move."""

    run_id: str
    copies: int
    deletes: int
    total_bytes: int
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class CellChanged:
    """One destination (or deleted place) moved to a new ``CellState``.

    States used: QUEUED (waiting for a slot), TRANSFERRING (bytes moving), VERIFYING
    (upload done, waiting for Glance to report active + hashes), PRESENT (done, verified),
    DELETING, ABSENT (delete done), ERROR (``message`` says why, human-readable).
    ``image_id`` is the Glance id at that place once known.

    ``cancelled`` is True when the operator (or a whole-run cancel) stopped this
    destination: it is sent with state ERROR (and message "cancelled"), but it is not a
    failure — nothing was left at that place, so a UI should show the cell as it was
    before the run (copy planned / absent), not as an error. Read the flag, not the text.
    """

    action_id: str
    ref: ProjectRef
    state: CellState
    message: str = ""
    image_id: str | None = None
    at: float = field(default_factory=_now)
    cancelled: bool = False


@dataclass(frozen=True)
class CopyProgress:
    """Bytes moved for one copy action (emitted at most a few times per second).

    ``bytes_read`` counts bytes taken from the source (or the spool on a retry);
    ``per_destination`` maps ``str(ProjectRef)`` to bytes that destination has accepted.
    ``rate`` is bytes/s over the last few seconds; ``eta`` seconds or None if unknown.
    """

    action_id: str
    name: str
    bytes_read: int
    total: int | None
    rate: float
    eta: float | None
    per_destination: dict[str, int] = field(default_factory=dict)
    at: float = field(default_factory=_now)

    @property
    def fraction(self) -> float | None:
        if not self.total:
            return None
        return min(1.0, self.bytes_read / self.total)


@dataclass(frozen=True)
class ActionFinished:
    """A copy or delete action is over: ``ok`` for every destination, or not.

    ``cancelled`` is True when at least one destination was cancelled and none of the
    others failed for another reason (so ``ok`` is False but nothing went wrong).
    """

    action_id: str
    kind: str  # "copy" | "delete"
    name: str
    ok: bool
    message: str = ""
    at: float = field(default_factory=_now)
    cancelled: bool = False


@dataclass(frozen=True)
class Notice:
    """Something worth telling the operator that is not a state change
    (a retry with backoff, a reconcile deletion, spool disabled because it is full)."""

    message: str
    action_id: str | None = None
    at: float = field(default_factory=_now)


@dataclass(frozen=True)
class RunFinished:
    """The whole plan ran (or was cancelled). ``exit_code`` follows the CLI's rules.

    ``cancelled`` means the whole run was cancelled; ``cancelled_count`` counts the
    destinations/deletes that were cancelled, one by one or with the run (they are not
    in ``failed``).
    """

    run_id: str
    succeeded: int
    failed: int
    cancelled: bool
    exit_code: int
    at: float = field(default_factory=_now)
    cancelled_count: int = 0


Event = RunStarted | CellChanged | CopyProgress | ActionFinished | Notice | RunFinished
