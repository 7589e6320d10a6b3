"""What the matrix screen's thread workers post back to it (they never touch widgets):
an inventory loaded or failed, a plan made, an engine event, a run over."""

from __future__ import annotations

from textual.message import Message

from glint_tui.core.desired import Desired
from glint_tui.core.events import Event
from glint_tui.core.inventory import Matrix
from glint_tui.core.plan import Plan


class MatrixLoaded(Message):
    def __init__(self, matrix: Matrix) -> None:
        super().__init__()
        self.matrix = matrix


class LoadFailed(Message):
    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


class NoRepositories(Message):
    """The profile has no repository yet: the app shows the welcome screen."""


class PlanReady(Message):
    def __init__(self, plan: Plan, desired: Desired | None = None) -> None:
        super().__init__()
        self.plan, self.desired = plan, desired  # desired: to plan again with choices


class EngineEvent(Message):
    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class RunDone(Message):
    def __init__(self, exit_code: int, cancelled: bool, error: str = "") -> None:
        super().__init__()
        self.exit_code, self.cancelled, self.error = exit_code, cancelled, error
