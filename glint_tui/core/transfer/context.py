"""What one run gives its jobs: the small set of things a copy or a delete may use.

Jobs get this instead of the engine, so a job cannot reach into another object's lock
or private methods: cancel state goes through ``controls``, events through ``emit``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from glint_tui.core.clouds.base import CloudSession
from glint_tui.core.events import Event, Notice
from glint_tui.core.journal import Journal
from glint_tui.core.model import ProjectRef
from glint_tui.core.paths import Paths
from glint_tui.core.sessions import SessionSource, open_serialized
from glint_tui.core.spool import Spool
from glint_tui.core.transfer.control import Controls
from glint_tui.core.transfer.options import TransferOptions
from glint_tui.core.transfer.slots import UploadSlots


@dataclass
class RunContext:
    """One run's sessions, knobs, journal, spool, upload slots, events and cancels."""

    sessions: SessionSource
    paths: Paths  # the profile's directories (the locks between glint runs live there)
    options: TransferOptions
    journal: Journal
    spool: Spool | None  # None: ``use_spool`` is off
    slots: UploadSlots
    controls: Controls
    emit: Callable[[Event], None]  # never raises (the engine guards the callback)
    cancel: threading.Event  # the whole run

    def open(self, ref: ProjectRef) -> CloudSession:
        """A session on *ref* (one keyring lookup at a time); the caller closes it."""
        return open_serialized(self.sessions, ref)

    def notice(self, text: str, action_id: str | None = None) -> None:
        self.emit(Notice(text, action_id))
