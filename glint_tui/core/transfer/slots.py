"""Upload slots: at most N concurrent uploads into one repository, across copy actions."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator

from glint_tui.core.model import ProjectRef
from glint_tui.core.transfer.control import Cancelled, CancelScope


class UploadSlots:
    """Slots per repository, taken all-or-nothing for a whole fan-out (so two copies
    each holding half of what they need can never deadlock)."""

    def __init__(self, per_repository: int) -> None:
        self.per_repository = max(1, per_repository)
        self._used: dict[str, int] = {}
        self._cond = threading.Condition()

    def _need(self, refs: Iterable[ProjectRef]) -> dict[str, int]:
        need: dict[str, int] = {}
        for ref in refs:
            need[ref.repository] = min(self.per_repository, need.get(ref.repository, 0) + 1)
        return need

    def _free(self, need: dict[str, int]) -> bool:
        return all(self._used.get(repo, 0) + n <= self.per_repository for repo, n in need.items())

    @contextlib.contextmanager
    def take(self, refs: Iterable[ProjectRef], cancel: CancelScope) -> Iterator[None]:
        """Hold the slots *refs* need for the block; ``Cancelled`` if *cancel* is set
        while waiting for them."""
        need = self._need(refs)
        with self._cond:
            while not self._free(need):
                if cancel.is_set():
                    raise Cancelled()
                self._cond.wait(0.2)
            for repo, n in need.items():
                self._used[repo] = self._used.get(repo, 0) + n
        try:
            yield
        finally:
            with self._cond:
                for repo, n in need.items():
                    self._used[repo] -= n
                self._cond.notify_all()
