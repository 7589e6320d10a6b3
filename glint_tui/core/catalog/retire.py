"""Retirement that never hurts: old versions hidden, deactivated or deleted, safely.

Decided per *physical* image (one image seen from several columns is one decision):

* an image that any managed column keeps (its version is in that column's ``keeps``, in
  that column's format) is never retired; if some other column would retire it, the plan
  says so (refused: "c2:beta still keeps it, the same image"); one glint retired is
  restored (one hidden or deactivated by hand is left so: an operator's choice);
* otherwise it is retired as the entry says: ``hide`` (os_hidden) or ``deactivate``, with
  ``glint_catalog_retired_at`` set, and deleted ``delete_after_days`` after that date; or
  deleted at once (``retire: delete``);
* never through a column that does not own it, never a protected image;
* deactivating or deleting — the two that take a copy away — also never removes the last
  verified copy of a version some column still keeps (or might: an unlisted column), and
  never an image a server runs from (``inuse``: where no column can tell, the plan says so).

Each retirement waits (``after``) for the versions arriving in the columns that see the
image, and for its own step-aside from the plain name: a column never loses its old
version before the new one verified there.
"""

from __future__ import annotations

import datetime as dt

from glint_tui.core.catalog.entrywork import EntryWork, new_id
from glint_tui.core.catalog.inuse import ask
from glint_tui.core.catalog.naming import format_time, parse_time
from glint_tui.core.catalog.steps import Restore, Retire
from glint_tui.core.catalog.survey import PhysicalImage
from glint_tui.core.inventory import Physical, same_image

REMOVING = ("deactivate", "delete")


def retire(work: EntryWork) -> None:
    """Retire, or restore, every physical image of the entry a managed column sees."""
    removed: list[Physical] = []
    managed = set(work.managed)
    for image in work.images():
        views = [s for s in image.sightings if s.ref in managed]
        if not views:
            continue  # seen only from columns this entry does not manage: not its business
        keepers = sorted({s.ref for s in views if work.counts(s)})
        if keepers:
            _kept(work, image, keepers, [s.ref for s in views if not work.counts(s)])
            continue
        decided = _decide(work, image)
        if decided is not None:
            _retire(work, image, *decided, removed)


def _kept(work: EntryWork, image: PhysicalImage, keepers: list[str], beyond: list[str]) -> None:
    first = image.first
    places = ", ".join(map(str, keepers))
    if beyond and not first.retired:
        work.refuse(
            "retire",
            f"{first.image.id} ({first.version}) is beyond keep at "
            f"{', '.join(map(str, beyond))}, but {places} still keep(s) it (the same image): "
            "not retired",
            first.version,
            beyond[0],
            first.image.id,
        )
    if not first.retired:
        return
    if first.mark.retired_at is None:  # hidden or deactivated by hand: an operator's choice
        work.note(
            f"{first.image.id} ({first.version}) is kept but was "
            f"{'deactivated' if first.deactivated else 'hidden'} by hand: left so",
            first.ref,
        )
        return
    owner = work.owner_view(image)
    if owner is None:
        work.refuse(
            "restore",
            f"{first.image.id} ({first.version}) is retired but {places} keep(s) it; no "
            "project this entry manages owns it, so glint cannot restore it",
            first.version,
            keepers[0],
            first.image.id,
        )
        return
    work.plan.restores.append(
        Restore(
            new_id(),
            work.entry.name,
            first.version,
            owner.ref,
            first.image.id,
            unhide=first.image.hidden,
            reactivate=first.deactivated,
        )
    )


def _why(work: EntryWork, image: PhysicalImage) -> str:
    """Why the image is no longer kept, for the plan."""
    for s in image.sightings:
        if s.version in work.keeps.get(s.ref, ()):
            return f"{s.ref} keeps {s.version} as {work.fmt(s.ref)}; this copy is {s.disk_format}"
    kept = {v for keeps in work.keeps.values() for v in keeps}
    newer = [v for v in work.ranked if v in kept]
    return f"beyond keep {work.entry.keep} (kept: {', '.join(newer) or 'none'})"


def _decide(work: EntryWork, image: PhysicalImage) -> tuple[str, str | None, str] | None:
    """(action, retired_at to set, reason), or None when nothing is due."""
    first, entry = image.first, work.entry
    why = _why(work, image)
    if entry.retire == "delete":
        return "delete", None, why
    done = first.image.hidden if entry.retire == "hide" else first.deactivated
    stamp = first.mark.retired_at
    if not done or stamp is None:
        return entry.retire, stamp or format_time(work.now), why
    if entry.delete_after_days is None:
        return None
    since = parse_time(stamp)
    if since is None:
        work.note(
            f"{first.image.id} has an unreadable glint_catalog_retired_at ({stamp!r}): "
            "not deleted; fix or remove the property",
            first.ref,
        )
        return None
    if work.now - since < dt.timedelta(days=entry.delete_after_days):
        return None
    return "delete", None, f"retired {stamp}, more than {entry.delete_after_days} days ago"


def _retire(
    work: EntryWork,
    image: PhysicalImage,
    action: str,
    retired_at: str | None,
    reason: str,
    removed: list[Physical],
) -> None:
    first = image.first
    version, image_id = first.version, first.image.id
    owner = work.owner_view(image)
    if owner is None:
        work.refuse(
            "retire",
            f"{image_id} ({version}) is owned by another project ({first.image.owner}); no "
            f"project this entry manages owns it: not {_past(action)}",
            version,
            first.ref,
            image_id,
        )
        return
    if any(s.image.protected for s in image.sightings):
        work.refuse(
            "retire", f"{image_id} is protected: not {_past(action)}", version, owner.ref, image_id
        )
        return
    after = [i for s in image.sightings for i in work.arriving_ids(s.ref)]
    if first.physical in work.stepped_aside:
        after.append(work.stepped_aside[first.physical])
    last_copy, unknown, keeps = False, [], ()
    if action in REMOVING:
        checked = _removable(work, image, action, removed)
        if checked is None:
            return
        last_copy, unknown, relied_on, keeps = checked
        after += relied_on
        removed.append(first.physical)
    work.plan.retires.append(
        Retire(
            new_id(),
            work.entry.name,
            version,
            owner.ref,
            image_id,
            first.image.name,
            action,
            reason,
            size=int(first.image.size or 0),
            retired_at=None if action == "delete" else retired_at,
            after=tuple(dict.fromkeys(after)),
            seen_from=tuple(r for r in image.seen_from if r != owner.ref),
            last_copy=last_copy,
            in_use_unknown=tuple(unknown),
            content_key=first.image.content_key,
            keeps=keeps,
        )
    )


def _past(action: str) -> str:
    return {"hide": "hidden", "deactivate": "deactivated", "delete": "deleted"}[action]


def _removable(
    work: EntryWork, image: PhysicalImage, action: str, removed: list[Physical]
) -> tuple[bool, list, list[str], tuple] | None:
    """(last copy?, columns that could not tell whether it is in use, upload ids relied on,
    the other verified copies relied on) when the image may lose its bytes; None (refused)
    when not."""
    first = image.first
    version, image_id = first.version, first.image.id
    others = [
        other
        for other in work.images()
        if other is not image
        and other.first.version == version
        and any(s.verified for s in other.sightings)
        and not any(same_image(other.first.physical, p) for p in removed)
    ]
    arriving = sorted({p[0] for (_, v), p in work.pending.items() if v == version})
    needers = work.needers(version)
    if not others and not arriving and needers:
        work.refuse(
            "retire",
            f"{image_id} is the last verified copy of {version} glint can see, and "
            f"{', '.join(map(str, needers))} still keep(s) {version} (or cannot be listed): "
            f"not {_past(action)}",
            version,
            first.ref,
            image_id,
        )
        return None
    busy, unknown = ask(work.probe_for, image.seen_from, image_id)
    if busy:
        work.refuse(
            "retire",
            f"{image_id} is in use: a server runs from it (seen from "
            f"{', '.join(map(str, busy))}): not {_past(action)}",
            version,
            first.ref,
            image_id,
        )
        return None
    if unknown:
        work.note(
            f"in-use check not possible for {image_id} at {', '.join(map(str, unknown))} "
            f"(no compute endpoint glint can ask): it is {_past(action)} anyway",
            first.ref,
        )
    relied_on = [] if others else arriving
    return not others and not arriving, unknown, relied_on, _copies(others)


def _copies(images: list[PhysicalImage]) -> tuple[tuple[object, str, str], ...]:
    """(column, id, content key) of one verified sighting of each image: what the
    executor checks again just before it deactivates or deletes."""
    out = []
    for other in images:
        seen = next(s for s in other.sightings if s.verified)
        out.append((seen.ref, seen.image.id, seen.image.content_key or ""))
    return tuple(out)
