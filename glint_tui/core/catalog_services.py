"""The image catalog's use cases (``glint catalog``, ``glint --catalog``): plan a catalog
file against the clouds, run a reviewed catalog plan, one catalog run at a time.

A mixin of ``core.services.Services`` (which gives it ``sessions``, ``paths``,
``load_matrix`` and ``run_plan``), kept apart so the catalog's policies read on their own.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from glint_tui.core.errors import GlintError
from glint_tui.core.events import Event
from glint_tui.core.inventory import Matrix
from glint_tui.core.locks import Busy, only_one
from glint_tui.core.plan import Plan
from glint_tui.core.sessions import open_serialized


@dataclass(frozen=True)
class CatalogPlanned:
    """A catalog plan with what it was made from: the catalog, and the matrix read."""

    catalog: Any
    matrix: Matrix
    plan: Any


class CatalogUseCases:
    """The catalog's use cases; ``Services`` supplies the attributes below."""

    sessions: Any
    paths: Any
    load_matrix: Callable[..., Matrix]
    run_plan: Callable[..., Any]

    def catalog_plan(
        self, path: str | Path, *, matrix: Matrix | None = None, now: dt.datetime | None = None
    ) -> CatalogPlanned:
        """What the catalog file asks of the clouds, past every safety rule.

        The file is validated first (a ConfigError, exit 2, before any cloud or mirror is
        asked); then upstream's checksum files are read while the columns are listed (or
        *matrix* is used), and the in-use check asks each column's cloud about the images
        a step would deactivate or delete.
        """
        from glint_tui.core.catalog import loader, planner, upstream, web
        from glint_tui.core.catalog.inuse import SessionProbes

        catalog = loader.load_catalog(path)
        timeouts = self.sessions.timeouts

        def get(url: str) -> str:
            return web.get_text(url, timeouts=timeouts)

        with ThreadPoolExecutor(max_workers=1) as pool:
            resolving = pool.submit(upstream.resolve_all, catalog.entries, get)
            matrix = matrix or self.load_matrix(need_columns=True)
            resolutions = resolving.result()
        with SessionProbes(lambda ref: open_serialized(self.sessions, ref)) as probes:
            plan = planner.plan_catalog(catalog, resolutions, matrix, now=now, probe_for=probes)
        return CatalogPlanned(catalog, matrix, plan)

    def run_catalog(
        self,
        plan: Any,
        cancel: threading.Event | None,
        on_event: Callable[[Event], None],
        *,
        options: Any = None,
        command: str = "catalog apply",
    ) -> Any:
        """Carry out a reviewed ``CatalogPlan`` (``catalog.runner``): fetch and convert,
        the engine's copies, then the metadata steps; the RunResult of it all."""
        from glint_tui.core.catalog.runner import run_catalog

        def engine(copies: Plan, stop: threading.Event, events: Callable[[Event], None]) -> Any:
            return self.run_plan(copies, stop, events, options=options)

        return run_catalog(
            plan,
            sessions=self.sessions,
            paths=self.paths,
            run_engine=engine,
            on_event=on_event,
            cancel=cancel,
            timeouts=self.sessions.timeouts,
            command=command,
        )

    @contextlib.contextmanager
    def catalog_lock(self) -> Iterator[None]:
        """One catalog run at a time in this profile (cron, ``--every`` and the UI share
        it); another one running is a GlintError at once, never a wait."""
        try:
            with only_one(self.paths.state_dir / "catalog.lock"):
                yield
        except Busy as e:
            raise GlintError(
                f"another catalog run of this glint profile is in progress (pid {e.pid}); "
                "this one did nothing"
            ) from None
