"""Catalog + upstream versions + matrix -> ``CatalogPlan``: the pure part of a catalog run.

No network, no clock of its own (``now`` is given), no cloud: what the caller resolved
(``upstream.resolve_all``) and listed (``inventory.refresh``) is all it reads, plus the
in-use probes for the images it would deactivate or delete. Per entry, in order:

1. columns: ``to:`` against the matrix (a pattern glint has no credentials for, or a
   column whose listing failed, is refused — and the failed one is assumed to keep every
   version, so nothing is deactivated or deleted that it might still need);
2. what the clouds hold (``survey``), which versions exist (``EntryWork``);
3. ``placement``: uploads and shares of the wanted versions;
4. keeps per column; ``share_with`` members; ``rotation``: the plain name;
5. ``retire``: hide / deactivate / delete / restore; metadata drift of kept images.

An entry whose upstream could not be read gets no steps at all — least of all
retirements: without upstream, glint cannot tell which version is the newest.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from glint_tui.core.catalog.columns import expand
from glint_tui.core.catalog.entries import Catalog, Entry
from glint_tui.core.catalog.entrywork import EntryWork
from glint_tui.core.catalog.inuse import ProbeFor
from glint_tui.core.catalog.placement import place, share_with
from glint_tui.core.catalog.retire import retire
from glint_tui.core.catalog.rotation import rotate
from glint_tui.core.catalog.steps import CatalogPlan, CatalogRefusal, EntryView
from glint_tui.core.catalog.survey import EntrySurvey, NameIndex, survey
from glint_tui.core.catalog.upstream import Resolution
from glint_tui.core.inventory import Matrix


def plan_catalog(
    catalog: Catalog,
    resolutions: Mapping[str, Resolution],
    matrix: Matrix,
    *,
    now: dt.datetime | None = None,
    probe_for: ProbeFor | None = None,
) -> CatalogPlan:
    """Everything the catalog asks of the clouds in *matrix*, past every safety rule.

    Args:
        catalog: a validated catalog (``loader.load_catalog``).
        resolutions: entry name -> what upstream offers (``upstream.resolve_all``).
        matrix: the current inventory of every column glint has credentials for.
        now: the time retirements are stamped with and delete_after_days counts to.
        probe_for: column -> in-use probe (``inuse``), or None: no check possible.
    Returns:
        The plan: steps in order, refusals with reasons, notes, and per entry the
        versions each column keeps.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    plan = CatalogPlan()
    surveys = survey(matrix, list(catalog.entries), dict(resolutions))
    names = NameIndex(matrix)
    for entry in catalog.entries:
        resolution = resolutions.get(entry.name) or Resolution(entry.name, error="not resolved")
        if not resolution.ok:
            plan.refusals.append(
                CatalogRefusal(
                    entry.name,
                    "upstream",
                    f"{resolution.error}; nothing is uploaded or retired for this entry",
                )
            )
            continue
        work = _work(entry, resolution, matrix, surveys[entry.name], names, plan, now, probe_for)
        _plan_entry(work)
    return plan


def _work(
    entry: Entry,
    resolution: Resolution,
    matrix: Matrix,
    found: EntrySurvey,
    names: NameIndex,
    plan: CatalogPlan,
    now: dt.datetime,
    probe_for: ProbeFor | None,
) -> EntryWork:
    columns, unmatched = expand(entry.to, matrix.columns)
    managed = [c for c in columns if matrix.status[c].ok]
    unlisted = [c for c in columns if not matrix.status[c].ok]
    work = EntryWork(
        entry, resolution, matrix, found, names, plan, now, probe_for, managed, unlisted
    )
    for pattern in unmatched:
        work.refuse("column", f"glint has no credentials for {pattern}: nothing planned there")
    for ref in unlisted:
        work.refuse(
            "column",
            f"cannot list {ref} ({matrix.status[ref].error}): nothing planned there, and no "
            "version it may still keep is deactivated or deleted anywhere",
            ref=ref,
        )
    for seen, why in found.suspects:
        work.refuse(
            "image",
            f"{seen.image.id} says it is {entry.name} {seen.version}, but {why}: left alone "
            "(not counted as a copy, never renamed or retired)",
            seen.version,
            seen.ref,
            seen.image.id,
        )
    for seen in found.half_made:
        work.note(
            f"{seen.image.id} ({seen.version}) is {seen.image.status}: half-made, not a copy "
            "(`glint reconcile` removes what glint runs left half-made)",
            seen.ref,
        )
    return work


def _plan_entry(work: EntryWork) -> None:
    place(work)
    work.compute_keeps()
    share_with(work)
    rotate(work)
    retire(work)
    _drift(work)
    work.plan.entries[work.entry.name] = EntryView(
        work.entry.name,
        tuple(work.ranked),
        tuple(v.version for v in work.resolution.versions),
        {ref: tuple(vs) for ref, vs in sorted(work.keeps.items())},
    )


def _drift(work: EntryWork) -> None:
    """Kept images the managed columns own whose metadata the catalog now says otherwise
    (visibility, min_disk, min_ram, its properties, missing tags)."""
    retiring = {r.image_id for r in work.plan.retires}
    for ref in work.managed:
        for version in work.keeps.get(ref, ()):
            for s in work.copies_at(ref, version):
                if s.owned and s.verified and not s.retired and s.image.id not in retiring:
                    work.update_for(s)
