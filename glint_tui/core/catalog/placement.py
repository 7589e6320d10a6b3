"""Which version goes where: uploads (one per version and format) and shares.

A managed column that does not see a wanted version in its format gets it:

* ``visibility: private`` — its own image (each project its own copy);
* ``shared`` — one image per physical cloud (an existing one a managed column owns, else
  one uploaded to the first column that lacks it), and every other managed column of
  that cloud is added as a member and accepts through its own credentials;
* ``public`` / ``community`` — one image per cloud; the others see it once it is there
  (an existing one is made public by an ``Update``).

``share_with`` projects (by name, where glint has their credentials in the same cloud)
become members of every kept version a managed column owns.

A new image is created under its versioned name; a column already holding a different
image of that name gets nothing (refused: glint never makes two images one name).
"""

from __future__ import annotations

from glint_tui.core.catalog.entrywork import EntryWork, Pending, new_id
from glint_tui.core.catalog.naming import image_properties, versioned_name
from glint_tui.core.catalog.steps import Share, Upload, UploadTarget
from glint_tui.core.catalog.survey import Sighting
from glint_tui.core.inventory import same_image
from glint_tui.core.model import ProjectRef

Source = Sighting | Pending


class _Uploads:
    """Targets collected per (version, format), made into Upload steps at the end."""

    def __init__(self, work: EntryWork) -> None:
        self.work = work
        self.ids: dict[tuple[str, str], str] = {}
        self.targets: dict[tuple[str, str], list[UploadTarget]] = {}

    def id_for(self, version: str, fmt: str) -> str:
        return self.ids.setdefault((version, fmt), new_id())

    def add(self, version: str, fmt: str, ref: ProjectRef) -> str | None:
        """A target at *ref*, or None (refused: the versioned name is taken there)."""
        work = self.work
        name = versioned_name(work.entry.name, version)
        if _name_taken(work, ref, name, version):
            return None
        upload = self.id_for(version, fmt)
        target = UploadTarget(ref, name, work.matrix.cloud_of(ref), work.matrix.project_id(ref))
        self.targets.setdefault((version, fmt), []).append(target)
        work.arrive(ref, version, upload)
        work.pending[(ref, version)] = (upload, ref)
        return upload

    def steps(self) -> list[Upload]:
        work, entry = self.work, self.work.entry
        out = []
        for (version, fmt), targets in self.targets.items():
            up = work.resolution.get(version)
            assert up is not None  # wanted versions are upstream's
            sha512 = up.checksum.hex if up.checksum.is_sha512 else None
            out.append(
                Upload(
                    id=self.ids[(version, fmt)],
                    entry=entry.name,
                    version=version,
                    url=up.url,
                    checksum=str(up.checksum),
                    source_sha512=sha512,
                    source_format=entry.disk_format,
                    disk_format=fmt,
                    container_format=entry.container_format,
                    visibility=entry.visibility,
                    min_disk=entry.min_disk,
                    min_ram=entry.min_ram,
                    tags=entry.tags,
                    properties=image_properties(entry, version, up.url, up.checksum, sha512, fmt),
                    targets=tuple(targets),
                    size=up.size,
                )
            )
        return out


def _name_taken(work: EntryWork, ref: ProjectRef, name: str, version: str) -> bool:
    holders = work.names.holders(ref, name)
    if not holders:
        return False
    ids = ", ".join(sorted(i.id for i in holders))
    half = any(i.status not in ("active", "deactivated") for i in holders)
    work.refuse(
        "upload",
        f"{ref} already has an image named {name!r} that is not this version in "
        f"{work.fmt(ref)} ({ids}): nothing uploaded there; rename or remove it"
        + ("; `glint reconcile` removes half-made images of earlier runs" if half else ""),
        version,
        ref,
    )
    return True


def place(work: EntryWork) -> None:
    """Uploads and same-cloud shares for every wanted version a managed column lacks."""
    uploads = _Uploads(work)
    for version in work.wanted:
        groups: dict[tuple[str, str], list[ProjectRef]] = {}
        for ref in work.managed:
            if not work.has(ref, version):
                groups.setdefault((work.cloud(ref), work.fmt(ref)), []).append(ref)
        for (cloud, fmt), refs in sorted(groups.items()):
            _place_in_cloud(work, uploads, version, fmt, cloud, refs)
    work.plan.uploads.extend(uploads.steps())


def _owned_copy(work: EntryWork, version: str, fmt: str, cloud: str) -> Sighting | None:
    managed = set(work.managed)
    for s in work.survey.sightings:
        mine = s.owned and s.ref in managed and work.cloud(s.ref) == cloud
        if mine and s.version == version and s.disk_format == fmt:
            return s
    return None


def _place_in_cloud(
    work: EntryWork,
    uploads: _Uploads,
    version: str,
    fmt: str,
    cloud: str,
    refs: list[ProjectRef],
) -> None:
    visibility = work.entry.visibility
    if visibility == "private":
        for ref in refs:
            uploads.add(version, fmt, ref)
        return
    source: Source | None = _owned_copy(work, version, fmt, cloud)
    rest = list(refs)
    if source is None:
        for ref in refs:
            upload = uploads.add(version, fmt, ref)
            rest.remove(ref)
            if upload is not None:
                source = (upload, ref)
                break
    if source is None:
        return
    for ref in rest:
        if _name_taken(work, ref, versioned_name(work.entry.name, version), version):
            continue
        if visibility == "shared":
            share(work, version, source, ref)
        elif isinstance(source, Sighting):
            update = work.update_for(source)
            if update is None:
                work.refuse(
                    "share",
                    f"{ref} does not see {source.image.id} although it is {visibility}",
                    version,
                    ref,
                )
            else:
                work.arrive(ref, version, update.id)
        else:
            work.arrive(ref, version, source[0])
            work.pending[(ref, version)] = source


def share(work: EntryWork, version: str, source: Source, member: ProjectRef) -> Share | None:
    """A Share making *member* see *source* (an image there, or one this plan creates)."""
    image_id = source.image.id if isinstance(source, Sighting) else None
    upload = None if isinstance(source, Sighting) else source[0]
    for done in work.plan.shares:
        if (done.member, done.image_id, done.upload) == (member, image_id, upload):
            return done
    member_id = work.matrix.project_id(member)
    if member_id is None:
        work.refuse("share", f"the project id of {member} is unknown", version, member)
        return None
    if isinstance(source, Sighting):
        update = work.update_for(source)  # a private image must become shared first
        step = Share(
            new_id(),
            work.entry.name,
            version,
            source.ref,
            member,
            member_id,
            image_id=image_id,
            after=(update.id,) if update else (),
        )
    else:
        owner = source[1]
        step = Share(
            new_id(), work.entry.name, version, owner, member, member_id, upload=upload,
            after=(source[0],),
        )  # fmt: skip
        work.pending[(member, version)] = source
    work.plan.shares.append(step)
    work.arrive(member, version, step.id)
    return step


def share_with(work: EntryWork) -> None:
    """Members from ``share_with`` for every kept version a managed column owns."""
    names = work.entry.share_with
    if not names:
        return
    for owner in work.managed:
        for version in work.keeps.get(owner, ()):
            source = _own_source(work, owner, version)
            if source is None:
                continue
            for name in names:
                for member in _members(work, owner, name, version):
                    if not _sees(work, member, version, source):
                        share(work, version, source, member)


def _own_source(work: EntryWork, owner: ProjectRef, version: str) -> Source | None:
    pending = work.pending.get((owner, version))
    if pending is not None and pending[1] == owner:
        return pending
    return next((s for s in work.copies_at(owner, version) if s.owned), None)


def _members(work: EntryWork, owner: ProjectRef, name: str, version: str) -> list[ProjectRef]:
    found = [
        c
        for c in work.matrix.columns
        if c.repository == owner.repository and c.project == name and c != owner
    ]
    found = [c for c in found if work.cloud(c) == work.cloud(owner)]
    if not found and name != owner.project:
        work.refuse(
            "share",
            f"share_with {name!r}: glint has no credentials for {owner.repository}:{name}, "
            "so it cannot find that project's id (add them with `glint credentials add`)",
            ref=owner,
        )
    return [c for c in found if work.matrix.status[c].ok]


def _sees(work: EntryWork, member: ProjectRef, version: str, source: Source) -> bool:
    if isinstance(source, Sighting):
        return any(
            s.ref == member and same_image(s.physical, source.physical)
            for s in work.survey.sightings
        )
    return work.pending.get((member, version)) == source
