"""The one place the UI reaches the core: the use cases of ``core.services`` (the same the
CLI runs), plus the validators and choices the forms show.

Screens and widgets import from here (and from pure model, glyph and event modules), never
from sessions, config, clouds, cloudsyaml or the engine: an import-linter contract checks.
Every method here may block (network, keyring, disk), so screens call them only from
thread workers. ``StaticBackend`` serves a fixed Matrix built from model objects (no
network) for screenshots and the benchmark; ``LiveBackend`` is the real thing.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from glint_tui.core import exitcodes
from glint_tui.core.catalog import review
from glint_tui.core.catalog.steps import CatalogPlan
from glint_tui.core.config import THEME, ConfigStore, validate_credential, validate_repository
from glint_tui.core.desired import Desired
from glint_tui.core.errors import GlintError
from glint_tui.core.events import Event, Notice, RunFinished
from glint_tui.core.inventory import ColumnStatus, Matrix, build_matrix
from glint_tui.core.model import AUTH_TYPES, INTERFACES, Credential, ProjectRef, Repository
from glint_tui.core.paths import Paths, paths_for
from glint_tui.core.plan import Choices, Plan, Refusal, build_plan
from glint_tui.core.services import CredentialSaved, Services
from glint_tui.core.uploads import DISK_FORMATS, plan_file

__all__ = [
    "AUTH_TYPES",
    "DISK_FORMATS",
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

    def make_plan(self, matrix: Matrix, desired: Desired, choices: Choices | None = None) -> Plan:
        """The plan; *choices* answers same-name conflicts per copy target (the review)."""
        ...

    def precheck(self, matrix: Matrix, desired: Desired) -> list[Refusal]:
        """What the plan would refuse of *desired* (the core's rules, not the UI's)."""
        ...

    def run_plan(
        self, plan: Plan, cancel: threading.Event, on_event: Callable[[Event], None]
    ) -> int: ...

    def cancel_action(self, action_id: str, ref: ProjectRef | None = None) -> bool:
        """Cancel one action of the running plan (or one destination); never blocks."""
        ...

    def remember_theme(self, name: str) -> None:
        """Keep the operator's theme for the next start (settings.json)."""
        ...

    def plan_upload(
        self, path: str, name: str, targets: list[ProjectRef], disk_format: str | None
    ) -> tuple[Plan, list[tuple[ProjectRef, str]]]:
        """The plan that uploads a local file (``core.uploads``), and the places that
        have it already."""
        ...


def narrowed(matrix: Matrix, desired: Desired) -> Matrix:
    """The rows a plan for *desired* looks at: the marked rows, every row with the same
    content (the last-copy rule counts copies by content, whatever their name) and every
    row with the same name (a same-name image at a destination is a conflict). The plan
    of *desired* over this matrix is the plan over the whole one, at a fraction of the
    cost (the ledger of a 2000-image inventory takes ~0.4 s to build)."""
    rows = [r for r in matrix.rows if r.key in desired.cells]
    names = {r.name for r in rows}
    contents = {r.content_key for r in rows if r.has_data}
    keep = [
        r
        for r in matrix.rows
        if r.key in desired.cells or r.name in names or (r.has_data and r.content_key in contents)
    ]
    return dataclasses.replace(matrix, rows=keep)


def desired_copy(desired: Desired) -> Desired:
    """A snapshot a worker thread may read while the operator goes on marking."""
    return Desired({key: dict(per) for key, per in desired.cells.items()}, dict(desired.only))


def saved_theme(paths: Paths | None = None) -> str | None:
    """The theme the operator last chose, read before the UI starts (not in its loop)."""
    return ConfigStore(paths or paths_for()).get_setting(THEME)


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
        self._warn = warn or (lambda message: None)
        self._heard = threading.local()  # warnings of the call this thread is making
        self.services = Services(paths, prompt=prompt, warn=self._relay, notice=self._warn)
        self.paths = self.services.paths

    def _relay(self, message: str) -> None:
        """Every core warning becomes a notification; a call that listens (``_hearing``)
        also gets it back, to say it where the operator is looking."""
        heard = getattr(self._heard, "messages", None)
        if heard is not None:
            heard.append(message)
        self._warn(message)

    def _hearing(self) -> list[str]:
        self._heard.messages = []
        return self._heard.messages

    # -- the matrix ----------------------------------------------------------------------
    def has_repositories(self) -> bool:
        return bool(self.services.repositories())

    def refs(self) -> list[ProjectRef]:
        return self.services.columns()

    def load_matrix(self, on_column: Callable[[ColumnStatus], None] | None = None) -> Matrix:
        return self.services.load_matrix(on_column=on_column)

    def make_plan(self, matrix: Matrix, desired: Desired, choices: Choices | None = None) -> Plan:
        return self.services.make_plan(matrix, desired, choices=choices)

    def precheck(self, matrix: Matrix, desired: Desired) -> list[Refusal]:
        return self.make_plan(narrowed(matrix, desired), desired).refusals

    def run_plan(
        self, plan: Plan, cancel: threading.Event, on_event: Callable[[Event], None]
    ) -> int:
        return self.services.run_plan(plan, cancel, on_event).exit_code

    def cancel_action(self, action_id: str, ref: ProjectRef | None = None) -> bool:
        return self.services.cancel_action(action_id, ref)

    def remember_theme(self, name: str) -> None:
        self.services.config.set_setting(THEME, name)

    def plan_upload(
        self, path: str, name: str, targets: list[ProjectRef], disk_format: str | None
    ) -> tuple[Plan, list[tuple[ProjectRef, str]]]:
        return self.services.plan_upload(path, name, targets, disk_format=disk_format)

    # -- the image catalog ---------------------------------------------------------------
    def catalog_plan(self, path: str, matrix: Matrix | None = None) -> tuple[Matrix, CatalogPlan]:
        planned = self.services.catalog_plan(path, matrix=matrix)
        return planned.matrix, planned.plan

    def run_catalog(
        self, path: str, plan: CatalogPlan, cancel: threading.Event, on_event: EventSink
    ) -> int:
        """As ``glint catalog apply`` after its review: one catalog run at a time per
        profile (another one running, cron's too, is a GlintError at once). The review
        waited for the operator outside the lock, so the catalog is planned again under
        it: a plan that no longer reads as the one reviewed (another run, a new upstream
        version, an image changed by hand) runs nothing."""
        from glint_tui.core.transfer import TransferOptions  # the engine: on demand

        command = f"catalog apply {path} (ui)"
        with self.services.catalog_lock():
            on_event(Notice("checking the catalog plan is still the one reviewed"))
            _, now = self.catalog_plan(path)
            if review.lines(now) != review.lines(plan):
                raise GlintError(
                    "the clouds or the mirror changed since this catalog plan was reviewed: "
                    "nothing done; C plans it again for a new review"
                )
            result = self.services.run_catalog(
                plan, cancel, on_event, options=TransferOptions(command=command), command=command
            )
        return result.exit_code

    # -- repositories and credentials ----------------------------------------------------
    def listing(self) -> tuple[list[Repository], list[Credential]]:
        return self.services.repositories(), self.services.credentials()

    def add_repository(self, repo: Repository, *, verify: bool = True) -> str:
        """Save a new repository; the line says what was found, and warns when it is a
        cloud glint already knows under another name (the same Keystone)."""
        heard = self._hearing()
        try:
            version = self.services.add_repository(repo, verify=verify)
        finally:
            self._heard.messages = None
        found = f"Keystone {version} answers" if version else "saved without checking"
        line = f"repository {repo.name} added ({found}); now add a credential (c)"
        return "; ".join([line, *(f"warning: {m}" for m in heard)])

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
        self.theme: str | None = None

    def has_repositories(self) -> bool:
        return bool(self.matrix.columns)

    def load_matrix(self, on_column: Callable[[ColumnStatus], None] | None = None) -> Matrix:
        return self.matrix

    def make_plan(self, matrix: Matrix, desired: Desired, choices: Choices | None = None) -> Plan:
        return build_plan(matrix, desired, choices=choices)

    def precheck(self, matrix: Matrix, desired: Desired) -> list[Refusal]:
        return self.make_plan(narrowed(matrix, desired), desired).refusals

    def run_plan(
        self, plan: Plan, cancel: threading.Event, on_event: Callable[[Event], None]
    ) -> int:
        on_event(RunFinished("static", 0, 0, cancelled=False, exit_code=exitcodes.FAILURE))
        return exitcodes.FAILURE

    def cancel_action(self, action_id: str, ref: ProjectRef | None = None) -> bool:
        return False

    def remember_theme(self, name: str) -> None:
        self.theme = name

    def plan_upload(
        self, path: str, name: str, targets: list[ProjectRef], disk_format: str | None
    ) -> tuple[Plan, list[tuple[ProjectRef, str]]]:
        return upload_plan_over(self.matrix, path, name, targets, disk_format)


def upload_plan_over(
    matrix: Matrix, path: str, name: str, targets: list[ProjectRef], disk_format: str | None
) -> tuple[Plan, list[tuple[ProjectRef, str]]]:
    """An upload's plan over a matrix already in hand (fixed data, the fake clouds)."""
    return plan_file(lambda: matrix, Path(path).expanduser(), name, targets, disk_format)
