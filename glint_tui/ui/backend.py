"""The one place the UI calls the engine: inventory, plan and transfer, config, secrets.

Every method here may block (network, keyring, disk), so screens call them only from
thread workers. ``StaticBackend`` serves a fixed Matrix built from model objects (no
network) for screenshots and the benchmark; ``LiveBackend`` is the real thing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from glint_tui.core.config import ConfigStore
from glint_tui.core.desired import Desired
from glint_tui.core.events import Event
from glint_tui.core.inventory import ColumnStatus, Matrix, build_matrix, refresh
from glint_tui.core.model import ProjectRef
from glint_tui.core.paths import Paths, paths_for
from glint_tui.core.plan import Plan, build_plan
from glint_tui.core.secrets import SecretStore
from glint_tui.core.sessions import SessionProvider

Prompt = Callable[[str], "str | None"]


class Backend(Protocol):
    """What the screens need from the engine (all calls may block)."""

    def has_repositories(self) -> bool: ...

    def load_matrix(self, on_column: Callable[[ColumnStatus], None] | None = None) -> Matrix: ...

    def make_plan(self, matrix: Matrix, desired: Desired) -> Plan: ...

    def run_plan(
        self, plan: Plan, cancel: threading.Event, on_event: Callable[[Event], None]
    ) -> int: ...

    def cancel_action(self, action_id: str, ref: ProjectRef | None = None) -> bool:
        """Cancel one action of the running plan (or one destination); never blocks."""
        ...


class LiveBackend:
    """Real clouds of one glint profile (config, keyring, sessions, engine)."""

    def __init__(
        self,
        paths: Paths | None = None,
        prompt: Prompt | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.paths = paths or paths_for()
        self.warn = warn or (lambda message: None)
        self.secrets = SecretStore(self.paths, prompt=prompt, notice=self.warn)
        self.config = ConfigStore(self.paths, secrets=self.secrets, warn=self.warn)
        self.sessions = SessionProvider(self.paths, secrets=self.secrets, warn=self.warn)

    def has_repositories(self) -> bool:
        return bool(self.config.repositories())

    def refs(self) -> list[ProjectRef]:
        return self.sessions.refs()

    def load_matrix(self, on_column: Callable[[ColumnStatus], None] | None = None) -> Matrix:
        # one master password dialog before the columns list in parallel; a wrong one
        # (after the dialog's retries) fails the refresh with that message, not each column
        self.secrets.unlock(create=False)
        return refresh(self.sessions, on_column=on_column)

    def make_plan(self, matrix: Matrix, desired: Desired) -> Plan:
        home = self.config.home_repository()
        return build_plan(matrix, desired, home_repository=home)

    def run_plan(
        self, plan: Plan, cancel: threading.Event, on_event: Callable[[Event], None]
    ) -> int:
        from glint_tui.core.transfer import TransferEngine

        engine = TransferEngine(self.sessions, self.paths, on_event=on_event)
        self._engine = engine
        try:
            return engine.run(plan, cancel).exit_code
        finally:
            self._engine = None

    def cancel_action(self, action_id: str, ref: ProjectRef | None = None) -> bool:
        engine = getattr(self, "_engine", None)
        return engine is not None and engine.cancel_action(action_id, ref)


class StaticBackend:
    """A fixed inventory (no network): screenshots, the benchmark, layout work.

    ``run_plan`` reports every action as failed: nothing can really move here.
    """

    def __init__(self, matrix: Matrix | None = None) -> None:
        self.matrix = matrix or build_matrix([])

    def has_repositories(self) -> bool:
        return bool(self.matrix.columns)

    def load_matrix(self, on_column: Callable[[ColumnStatus], None] | None = None) -> Matrix:
        return self.matrix

    def make_plan(self, matrix: Matrix, desired: Desired) -> Plan:
        return build_plan(matrix, desired)

    def run_plan(
        self, plan: Plan, cancel: threading.Event, on_event: Callable[[Event], None]
    ) -> int:
        from glint_tui.core.events import RunFinished

        on_event(RunFinished("static", 0, 0, cancelled=False, exit_code=1))
        return 1

    def cancel_action(self, action_id: str, ref: ProjectRef | None = None) -> bool:
        return False
