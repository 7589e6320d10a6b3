"""One destination of a copy, across its attempts, and the state of one attempt.

Pure state, shared by the copy job (which retries), the fan-out (which feeds and may
drop an attempt) and the upload (which fills and verifies it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from glint_tui.core.actions import CopyTarget
from glint_tui.core.errors import GlintError
from glint_tui.core.model import ProjectRef
from glint_tui.core.transfer.control import CancelScope


@dataclass
class Destination:
    """A copy target across attempts: how it went, and what it left behind."""

    target: CopyTarget
    stop: threading.Event  # set when this destination alone is cancelled
    scope: CancelScope  # the run, the action, or this destination cancelled
    attempts: int = 0
    ok: bool = False
    error: GlintError | None = None
    image_id: str | None = None
    note: str = ""  # "already present": another run made this copy, none was created
    method: str = "stream"  # how the next attempt fills it (a failed import falls back)
    fallback: str = ""  # why a cloud-side import gave way to a stream, once it did
    leftovers: list[tuple[str, str]] = field(default_factory=list)  # (transfer id, image id)

    @property
    def ref(self) -> ProjectRef:
        return self.target.ref

    def left_behind(self) -> str:
        """What failed attempts left here (its cloud could not be reached to delete it)
        and what cleans it: the journal has it, so reconcile (or the next run) will."""
        if not self.leftovers:
            return ""
        ids = ", ".join(image_id for _, image_id in self.leftovers)
        return (
            f"left behind: half-made image {ids} (its Glance did not answer the delete); "
            f"`glint reconcile` deletes it once {self.ref} answers again, and so does the "
            "next copy or apply"
        )


class Attempt:
    """One try at one destination. ``dead``: dropped by the fan-out or failed by the
    upload (whoever comes first sets ``error``); ``done``: the upload is over."""

    def __init__(self, destination: Destination) -> None:
        self.destination = destination
        self.dead = threading.Event()
        self.done = threading.Event()
        self.error: GlintError | None = None
        self.ok = False

    @property
    def ref(self) -> ProjectRef:
        return self.destination.ref

    def fail(self, error: GlintError) -> None:
        if self.error is None:
            self.error = error
        self.dead.set()
