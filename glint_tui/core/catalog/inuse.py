"""Whether a server runs from an image: the question asked before deactivating or deleting.

The answer needs a compute endpoint, so the planner asks through a small interface the
caller provides — ``SessionProbes``: each column's session asks its cloud
(``CloudSession.image_in_use``: Nova's server list filtered by image, when the Keystone
catalog has a compute endpoint), once per image, the answer cached for the plan:

* ``probe_for(ref)`` -> an ``InUseProbe`` for that column, or None when the cloud has no
  compute endpoint glint can ask;
* ``probe.in_use(image_id)`` -> True (a server runs from it), False (none of the servers
  this project can see does), or None (cannot tell: the call failed, or not allowed).

True refuses the retirement; None lets it go on, and the plan says which columns could
not be asked. Hiding is never refused for being in use: a hidden image still boots by id,
and running servers do not notice.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from typing import Protocol

from glint_tui.core.clouds.base import CloudSession
from glint_tui.core.errors import GlintError
from glint_tui.core.model import ProjectRef


class InUseProbe(Protocol):
    def in_use(self, image_id: str) -> bool | None:
        """True: a server runs from *image_id*; False: none; None: cannot tell."""
        ...


ProbeFor = Callable[[ProjectRef], "InUseProbe | None"]


def ask(
    probe_for: ProbeFor | None, refs: Iterable[ProjectRef], image_id: str
) -> tuple[list[ProjectRef], list[ProjectRef]]:
    """(columns that say *image_id* is in use, columns that cannot tell)."""
    busy: list[ProjectRef] = []
    unknown: list[ProjectRef] = []
    for ref in refs:
        probe = probe_for(ref) if probe_for is not None else None
        answer = probe.in_use(image_id) if probe is not None else None
        if answer is True:
            busy.append(ref)
        elif answer is None:
            unknown.append(ref)
    return busy, unknown


class SessionProbes:
    """``probe_for`` over live sessions (``CloudSession.image_in_use``): a column's
    session is opened on its first question, and every answer is kept for the plan's
    life. Use it as a context manager: the sessions are closed at the end."""

    def __init__(self, open_session: Callable[[ProjectRef], CloudSession]) -> None:
        self._open = open_session
        self._sessions: dict[ProjectRef, CloudSession | None] = {}
        self._answers: dict[tuple[ProjectRef, str], bool | None] = {}

    def __call__(self, ref: ProjectRef) -> _ColumnProbe:
        return _ColumnProbe(self, ref)

    def ask(self, ref: ProjectRef, image_id: str) -> bool | None:
        key = (ref, image_id)
        if key not in self._answers:
            self._answers[key] = self._ask(ref, image_id)
        return self._answers[key]

    def _ask(self, ref: ProjectRef, image_id: str) -> bool | None:
        if ref not in self._sessions:
            try:
                self._sessions[ref] = self._open(ref)
            except GlintError:
                self._sessions[ref] = None
        session = self._sessions[ref]
        if session is None:
            return None
        try:
            return session.image_in_use(image_id)
        except GlintError:
            return None  # cannot tell: never taken as "not in use"

    def close(self) -> None:
        for session in self._sessions.values():
            if session is not None:
                with contextlib.suppress(Exception):
                    session.close()
        self._sessions.clear()

    def __enter__(self) -> SessionProbes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _ColumnProbe:
    def __init__(self, probes: SessionProbes, ref: ProjectRef) -> None:
        self.probes, self.ref = probes, ref

    def in_use(self, image_id: str) -> bool | None:
        return self.probes.ask(self.ref, image_id)
