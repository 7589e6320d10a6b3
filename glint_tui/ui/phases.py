"""Phases a destination passed through, held on screen a moment each.

The transfers panel repaints at most every 100 ms, and a small copy goes from sending
through verifying to done inside one repaint: drawing only the latest state would show
the operator a jump from queued to "ok" and hide that the copy was verified. So the
model records each phase a destination reaches, and the panel shows them in order, each
for at least ``MIN_SHOW`` seconds. Only the display lags; the engine never waits, and a
copy that takes longer than that per phase is shown exactly as it goes. The same holds
for ``x``: "cancelling" is shown before "cancelled" even when the cancel is over at once.
"""

from __future__ import annotations

from collections.abc import Container

from glint_tui.core.model import CellState, ProjectRef

MIN_SHOW = 0.3  # seconds: long enough to read a word, short enough not to mislead
FINAL = frozenset({CellState.PRESENT, CellState.ABSENT, CellState.ERROR})


class Phases:
    """Per destination, the phases reached that the screen has not yet shown long enough."""

    def __init__(self) -> None:
        self._trail: dict[ProjectRef, list[CellState]] = {}
        self._since: dict[ProjectRef, float] = {}  # when the trail's first phase was shown
        self._cancel_since: dict[ProjectRef, float | None] = {}  # x: "cancelling" first shown

    def cancel_asked(self, ref: ProjectRef) -> None:
        """``x`` on *ref*: "cancelling" is a phase too, shown even if the engine's word
        that it is cancelled comes before the next repaint."""
        self._cancel_since.setdefault(ref, None)

    def cancelling(self, ref: ProjectRef, now: float, over: bool) -> bool:
        """Whether *ref* shows "cancelling" at *now* (*over*: the engine says cancelled).
        Calling it with True as the answer is showing it."""
        if ref not in self._cancel_since:
            return False
        since = self._cancel_since[ref]
        if since is None:
            self._cancel_since[ref] = since = now
        return not over or now - since < MIN_SHOW

    def reach(self, ref: ProjectRef, state: CellState) -> None:
        """The engine says *ref* is in *state* now."""
        trail = self._trail.setdefault(ref, [])
        if trail and trail[-1] is CellState.QUEUED:
            trail.pop()  # waiting is not a phase worth holding once something follows
            if not trail:
                self._since.pop(ref, None)
        if not trail or trail[-1] is not state:
            trail.append(state)

    def shown(self, ref: ProjectRef, now: float) -> CellState | None:
        """The phase to show for *ref* at *now* (None: nothing reached yet). Calling it is
        showing it: a phase moves on only after it was shown for ``MIN_SHOW`` seconds."""
        trail = self._trail.get(ref)
        if not trail:
            return None
        since = self._since.get(ref)
        if since is None:
            self._since[ref] = now
        elif len(trail) > 1 and now - since >= MIN_SHOW:
            trail.pop(0)
            self._since[ref] = now
        return trail[0]

    def holding(self, now: float, skip: Container[ProjectRef] = ()) -> bool:
        """Whether a destination (not in *skip*) still has a phase to show, or shows its
        last one for less than ``MIN_SHOW``: the panel must repaint again to catch up."""
        for since in self._cancel_since.values():
            if since is None or now - since < MIN_SHOW:
                return True
        for ref, trail in self._trail.items():
            if ref in skip or not trail:
                continue
            since = self._since.get(ref)
            if len(trail) > 1 or since is None:
                return True
            if trail[0] in FINAL and now - since < MIN_SHOW:
                return True
        return False
