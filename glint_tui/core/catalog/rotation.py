"""The plain name: in each column, the newest version it keeps holds it (docs/catalog.md).

Per column, once the newest version is there *and verified in that column* (its upload or
share succeeded — ``after``; for a shared image, in every column that sees it): first
every other catalog image holding the plain name steps aside to its versioned name, then
the newest takes the plain name. So there is never a
moment with two images of one name (a boot by name would fail as ambiguous); for the one
API call between the two renames there is none, and a failed rename leaves a state the
next run finishes. A column whose new version failed keeps its old newest under the plain
name: it never points at something that is not there.

Only images this entry made (its properties, believed by ``survey``) are renamed, and only
through a managed column that owns them. A different image holding the plain name stops
the rotation in that column (refused, said why): glint never takes a name from an image
it did not make.
"""

from __future__ import annotations

from glint_tui.core.catalog.entrywork import EntryWork, Pending, new_id
from glint_tui.core.catalog.naming import versioned_name
from glint_tui.core.catalog.steps import Rename
from glint_tui.core.catalog.survey import Sighting
from glint_tui.core.model import ImageRecord, ProjectRef

Target = Sighting | Pending


def rotate(work: EntryWork) -> None:
    """Step-aside and promote renames in every managed column."""
    renames: dict[object, Rename] = {}
    for ref in work.managed:
        keeps = work.keeps.get(ref)
        if keeps:
            _rotate_column(work, ref, keeps[0], renames)


def _target(work: EntryWork, ref: ProjectRef, version: str) -> Target | None:
    copies = work.copies_at(ref, version)
    owned = [s for s in copies if s.owned]
    if owned or copies:
        return (owned or copies)[0]
    return work.pending.get((ref, version))


def _sighting(work: EntryWork, ref: ProjectRef, image: ImageRecord) -> Sighting | None:
    return next((s for s in work.survey.at(ref) if s.image.id == image.id), None)


def _rotate_column(
    work: EntryWork, ref: ProjectRef, newest: str, renames: dict[object, Rename]
) -> None:
    plain = work.entry.name
    target = _target(work, ref, newest)
    if target is None:
        return
    target_id = target.image.id if isinstance(target, Sighting) else None
    asides: list[Sighting] = []
    for image in work.names.holders(ref, plain):
        if image.id == target_id:
            continue
        seen = _sighting(work, ref, image)
        if seen is None:
            work.refuse(
                "rename",
                f"{ref} has another image named {plain!r} that this catalog entry did not "
                f"make ({image.id}): {newest} keeps its versioned name there",
                newest,
                ref,
                image.id,
            )
            return
        asides.append(seen)
    after = list(work.arriving.get(ref, {}).get(newest, []))
    for seen in asides:
        step = _step_aside(work, ref, seen, renames)
        if step is None:
            return
        after.append(step.id)
    name = target.image.name if isinstance(target, Sighting) else versioned_name(plain, newest)
    if name != plain:
        _rename(work, ref, target, newest, name, plain, "promote", after, renames)


def _newest_arriving(work: EntryWork, seen: Sighting) -> list[str]:
    """The steps bringing the newest version to every managed column that sees *seen*'s
    image: it steps aside only once all of them succeeded (a shared image is renamed for
    every project at once, and none may be left without the plain name)."""
    after: list[str] = []
    for ref in work.image_of(seen).seen_from:
        keeps = work.keeps.get(ref)
        if keeps:
            after += work.arriving.get(ref, {}).get(keeps[0], [])
    return after


def _step_aside(
    work: EntryWork, ref: ProjectRef, seen: Sighting, renames: dict[object, Rename]
) -> Rename | None:
    after = _newest_arriving(work, seen)
    entry = work.entry.name
    fmt = None if seen.disk_format == work.fmt(ref) else seen.disk_format
    new_name = versioned_name(entry, seen.version, fmt)
    taken = [i for i in work.names.holders(ref, new_name) if i.id != seen.image.id]
    if taken:
        work.refuse(
            "rename",
            f"{seen.image.id} ({seen.version}) cannot step aside from {entry!r} at {ref}: "
            f"{new_name!r} is taken there ({', '.join(sorted(i.id for i in taken))})",
            seen.version,
            ref,
            seen.image.id,
        )
        return None
    step = _rename(
        work, ref, seen, seen.version, seen.image.name, new_name, "step-aside", after, renames
    )
    if step is not None:
        work.stepped_aside[seen.physical] = step.id
    return step


def _rename(
    work: EntryWork,
    ref: ProjectRef,
    target: Target,
    version: str,
    old_name: str,
    new_name: str,
    why: str,
    after: list[str],
    renames: dict[object, Rename],
) -> Rename | None:
    """One Rename per image, through its owner; None (refused) when none may do it."""
    if isinstance(target, Sighting):
        image = work.image_of(target)
        owner = work.owner_view(image)
        key: object = target.physical
        if owner is None:
            work.refuse(
                "rename",
                f"{target.image.id} should be named {new_name!r} at {ref} but no project "
                "this entry manages owns it",
                version,
                ref,
                target.image.id,
            )
            return None
        place, image_id, upload, seen_from = owner.ref, target.image.id, None, image.seen_from
    else:
        key = target
        upload, place = target
        image_id = None
        seen_from = sorted({r for (r, _), p in work.pending.items() if p == target} | {ref})
    done = renames.get(key)
    if done is not None:
        if done.new_name != new_name:
            work.refuse(
                "rename",
                f"columns disagree on the name of one image ({done.new_name!r} or "
                f"{new_name!r}): left as it is",
                version,
                ref,
                image_id,
            )
            return None
        return done
    step = Rename(
        new_id(),
        work.entry.name,
        version,
        place,
        old_name,
        new_name,
        why,
        image_id=image_id,
        upload=upload,
        after=tuple(dict.fromkeys(after)),
        seen_from=tuple(seen_from),
    )
    renames[key] = step
    work.plan.renames.append(step)
    return step
