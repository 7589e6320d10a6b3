"""Cancel control: who asked to stop what, and the one lock that decides races.

An operator can cancel the whole run (the ``threading.Event`` given to
``TransferEngine.run``), one action, or one destination of a copy, from any thread while
the run goes. ``Controls`` holds one ``ActionControl`` per action of the runs going now;
its lock is the only one guarding them, so "cancel this destination" and "this
destination just verified" can never both win: a cancel that returned True always beats a
finishing upload, and a cancel of a destination that is over is refused (a verified copy
is never deleted by a late cancel).

Workers see requests through a ``CancelScope``: the run's, the action's and (for one
destination) its own event seen as one.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from glint_tui.core.actions import Plan
from glint_tui.core.errors import GlintError
from glint_tui.core.model import ProjectRef


class Cancelled(GlintError):
    """Stopped on request: not a failure, and nothing is left behind."""

    exit_code = 130

    def __init__(self) -> None:
        super().__init__("cancelled")


class CancelScope:
    """Several cancel events seen as one (run, action, destination): set if any is set."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(event.is_set() for event in self.events)

    def wait(self, timeout: float) -> bool:
        """Like ``Event.wait``: True as soon as any event is set (polled, 0.1 s steps)."""
        deadline = time.monotonic() + max(0.0, timeout)
        while not self.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self.events:
                self.events[-1].wait(min(0.1, left))
            else:
                time.sleep(min(0.1, left))
        return True


@dataclass
class ActionControl:
    """The cancel requests of one action. Its mutable fields change only under the lock
    of the ``Controls`` that made it.

    ``done`` holds the destinations that are over (verified, failed or cancelled): a
    request for one of those is refused.
    """

    kind: str  # "copy" | "delete"
    refs: tuple[ProjectRef, ...]
    run_cancel: threading.Event
    cancel: threading.Event = field(default_factory=threading.Event)
    destination_cancel: dict[ProjectRef, threading.Event] = field(default_factory=dict)
    done: set[ProjectRef] = field(default_factory=set)
    started: bool = False  # a delete has begun (it can no longer be cancelled)
    finished: bool = False

    def scope(self) -> CancelScope:
        """Set when the run or this action is cancelled."""
        return CancelScope(self.run_cancel, self.cancel)

    def destination_scope(self, ref: ProjectRef) -> CancelScope:
        """Set when the run, this action, or this one destination is cancelled."""
        return CancelScope(self.run_cancel, self.cancel, self.destination_cancel[ref])


class Controls:
    """The actions of the runs going now, by action id, behind one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_action: dict[str, ActionControl] = {}

    def register(self, plan: Plan, run_cancel: threading.Event) -> dict[str, ActionControl]:
        """One control per action of *plan*, findable by ``cancel`` until ``unregister``."""
        controls: dict[str, ActionControl] = {}
        for copy in plan.copies:
            refs = tuple(target.ref for target in copy.targets)
            controls[copy.id] = ActionControl(
                "copy", refs, run_cancel, destination_cancel={r: threading.Event() for r in refs}
            )
        for delete in plan.deletes:
            controls[delete.id] = ActionControl("delete", (delete.ref,), run_cancel)
        with self._lock:
            self._by_action.update(controls)
        return controls

    def unregister(self, controls: dict[str, ActionControl]) -> None:
        with self._lock:
            for action_id, control in controls.items():
                control.finished = True
                if self._by_action.get(action_id) is control:
                    del self._by_action[action_id]

    def cancel(self, action_id: str, destination: ProjectRef | None = None) -> bool:
        """Ask one action (or one destination of a copy) to stop; see
        ``TransferEngine.cancel_action`` for what is refused and why."""
        with self._lock:
            control = self._by_action.get(action_id)
            if control is None or control.finished:
                return False
            if destination is not None and destination not in control.refs:
                return False
            if control.kind == "delete":
                if control.started:
                    return False
                control.cancel.set()
                return True
            if destination is None:
                if all(ref in control.done for ref in control.refs):
                    return False
                control.cancel.set()
                return True
            if destination in control.done:
                return False
            control.destination_cancel[destination].set()
            return True

    def settle(
        self, control: ActionControl, ref: ProjectRef, scope: CancelScope | None = None
    ) -> bool:
        """Mark one destination over; with *scope*, only if it was not cancelled just now
        (so a cancel that returned True always wins over a finishing upload)."""
        with self._lock:
            if scope is not None and scope.is_set():
                return False
            control.done.add(ref)
            return True

    def finish(self, control: ActionControl) -> None:
        """The action is over: every destination is done and no request is taken."""
        with self._lock:
            control.done.update(control.refs)
            control.finished = True

    def start(self, control: ActionControl) -> bool:
        """A delete begins unless it (or the run) was cancelled first; once begun it can
        no longer be cancelled. Returns whether it may go."""
        with self._lock:
            stop = control.scope().is_set()
            control.started = not stop
            return not stop
