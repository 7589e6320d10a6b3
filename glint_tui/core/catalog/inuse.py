"""Whether a server runs from an image: the question asked before deactivating or deleting.

The answer needs a compute endpoint, which glint's image sessions do not have, so the
planner asks through a small interface the caller provides (stage 2: Nova's server list,
fetched once per column and cached by the probe):

* ``probe_for(ref)`` -> an ``InUseProbe`` for that column, or None when the cloud has no
  compute endpoint glint can ask;
* ``probe.in_use(image_id)`` -> True (a server runs from it), False (none of the servers
  this project can see does), or None (cannot tell: the call failed, or not allowed).

True refuses the retirement; None lets it go on, and the plan says which columns could
not be asked. Hiding is never refused for being in use: a hidden image still boots by id,
and running servers do not notice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

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
