"""The one place the UI reaches the core: the use cases of ``core.services`` (the same the
CLI runs), plus the validators and choices the forms show.

Screens and widgets import from here (and from pure model, glyph and event modules), never
from sessions, config, clouds, cloudsyaml or the engine: an import-linter contract checks.
Every method here may block (network, keyring, disk), so screens call them only from
thread workers. ``StaticBackend`` serves a fixed Matrix built from model objects (no
network) for screenshots and the benchmark; ``LiveBackend`` is the real thing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from glint_tui.core import exitcodes
from glint_tui.core.catalog.steps import CatalogPlan
from glint_tui.core.config import validate_credential, validate_repository
from glint_tui.core.desired import Desired
from glint_tui.core.events import Event, RunFinished
from glint_tui.core.inventory import ColumnStatus, Matrix, build_matrix
from glint_tui.core.model import AUTH_TYPES, INTERFACES, Credential, ProjectRef, Repository
from glint_tui.core.paths import Paths
from glint_tui.core.plan import Plan, build_plan
from glint_tui.core.services import CredentialSaved, Services

__all__ = [
    "AUTH_TYPES",
    "INTERFACES",
    "Backend",
    "CatalogBackend",
    "LiveBackend",
    "StaticBackend",
    "validate_credential",
    "validate_repository",
]

Prompt = Callable[[str], "str | None"]
EventSink = Callable[[Event], None]


class Backend(Protocol):
    """What the matrix screen needs from the core (all calls may block)."""

    def has_repositories(self) -> bool: ...

    def load_matrix(self, on_column: Callable[[ColumnStatus], None] | None = None) -> Matrix: ...

    def make_plan(self, matrix: Matrix, desired: Desired) -> Plan: ...

    def run_plan(
        self, plan: Plan, cancel: threading.Event, on_event: Callable[[Event], None]
    ) -> int: ...

    def cancel_action(self, action_id: str, ref: ProjectRef | None = None) -> bool:
        """Cancel one action of the running plan (or one destination); never blocks."""
        ...


class CatalogBackend(Backend, Protocol):
    """What the matrix screen needs to show and run a catalog file (all calls may block)."""

    def catalog_plan(self, path: str, matrix: Matrix | None = None) -> tuple[Matrix, CatalogPlan]:
        """The catalog's plan against *matrix* (None: the columns listed afresh)."""
        ...

    def run_catalog(
        self, path: str, plan: CatalogPlan, cancel: threading.Event, on_event: EventSink
    ) -> int:
        """Carry out a reviewed catalog plan under the profile's catalog lock; exit code."""
        ...


class LiveBackend:
    """Real clouds of one glint profile, through ``core.services``."""

    def __init__(
        self,
        paths: Paths | None = None,
        prompt: Prompt | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        warn = warn or (lambda message: None)
        self.services = Services(paths, prompt=prompt, warn=warn, notice=warn)
        self.paths = self.services.paths

    # -- the matrix ----------------------------------------------------------------------
    def has_repositories(self) -> bool:
        return bool(self.services.repositories())

    def refs(self) -> list[ProjectRef]:
        return self.services.columns()

    def load_matrix(self, on_column: Callable[[ColumnStatus], None] | None = None) -> Matrix:
        return self.services.load_matrix(on_column=on_column)

    def make_plan(self, matrix: Matrix, desired: Desired) -> Plan:
        return self.services.make_plan(matrix, desired)

    def run_plan(
        self, plan: Plan, cancel: threading.Event, on_event: Callable[[Event], None]
    ) -> int:
        return self.services.run_plan(plan, cancel, on_event).exit_code

    def cancel_action(self, action_id: str, ref: ProjectRef | None = None) -> bool:
        return self.services.cancel_action(action_id, ref)

    # -- the image catalog ---------------------------------------------------------------
    def catalog_plan(self, path: str, matrix: Matrix | None = None) -> tuple[Matrix, CatalogPlan]:
        planned = self.services.catalog_plan(path, matrix=matrix)
        return planned.matrix, planned.plan

    def run_catalog(
        self, path: str, plan: CatalogPlan, cancel: threading.Event, on_event: EventSink
    ) -> int:
        """As ``glint catalog apply`` after its review: one catalog run at a time per
        profile (another one running, cron's too, is a GlintError at once)."""
        from glint_tui.core.transfer import TransferOptions  # the engine: on demand

        command = f"catalog apply {path} (ui)"
        with self.services.catalog_lock():
            result = self.services.run_catalog(
                plan, cancel, on_event, options=TransferOptions(command=command), command=command
            )
        return result.exit_code

    # -- repositories and credentials ----------------------------------------------------
    def listing(self) -> tuple[list[Repository], list[Credential]]:
        return self.services.repositories(), self.services.credentials()

    def add_repository(self, repo: Repository, *, verify: bool = True) -> str:
        version = self.services.add_repository(repo, verify=verify)
        found = f"Keystone {version} answers" if version else "saved without checking"
        return f"repository {repo.name} added ({found}); now add a credential (c)"

    def edit_repository(self, name: str, repo: Repository, *, verify: bool = True) -> str:
        new, changed = self.services.edit_repository(name, repo.to_dict(), verify=verify)
        return f"repository {new.name} saved" + (f" ({', '.join(changed)})" if changed else "")

    def remove(self, repo: Repository, cred: Credential | None) -> str:
        """Forget one credential (and its secret), or a repository with all of its own."""
        if cred is not None:
            self.services.delete_credential(cred.ref)
            return f"credential {cred.ref} removed"
        self.services.delete_repository(repo.name)
        return f"repository {repo.name} removed"

    def save_credential(self, cred: Credential, secret: str, *, verify: bool) -> CredentialSaved:
        return self.services.save_credential(cred, secret, verify=verify)

    def test_connection(self, repo: Repository, cred: Credential | None) -> str:
        return self.services.test_connection(repo.name, cred.ref if cred else None)

    def import_clouds(self, path: str | None) -> tuple[str, bool]:
        """Import clouds.yaml (its path, or openstacksdk's search): one line, any failed."""
        found, results = self.services.import_clouds(Path(path).expanduser() if path else None)
        lines = [
            f"{r.cloud}: {r.status}" + (f" ({r.message})" if r.message else "") for r in results
        ]
        failed = any(r.status == "failed" for r in results)
        return f"{found}: " + "; ".join(lines or ["no clouds"]), failed


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
        on_event(RunFinished("static", 0, 0, cancelled=False, exit_code=exitcodes.FAILURE))
        return exitcodes.FAILURE

    def cancel_action(self, action_id: str, ref: ProjectRef | None = None) -> bool:
        return False
