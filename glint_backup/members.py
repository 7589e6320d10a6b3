"""The members of every shared image, from a few listings per project when that sees them all.

Glance's image record does not change when a member is added, accepts, rejects or is
removed, and ``GET /v2/images/{id}/members`` is its only per-image answer: one request per
shared image (Glance's default visibility) every run, most of a no-op run. A listing by a
login in project P without the admin role, ``visibility=shared&member_status=S``, shows
the shared images P owns (in every status) and the images shared *to* P whose membership
is S; so three listings per project (accepted, pending, rejected) give every membership
of that project. That is every membership of every image only when every project of the
cloud is listed, so the listings are used:

- by an admin account that has a role on every project Keystone lists (a non-admin view
  of each: ``project_views``), for every shared image; an image whose last snapshot names
  a member that is no Keystone project, or its own owner (Glance accepts any string as a
  member; such memberships give nobody access and show in no project's listing), is read
  per image so its record stays exact;
- by a non-admin account (``glint_backup_projects``), for the images shared to its
  projects by others (a member sees only its own membership, per image too); the images
  its projects own are read per image, since their owner also sees members elsewhere.

Everything else, and everything when a listing fails, a project cannot be viewed or
``glint_backup_members`` is ``per-image``, is read one image at a time; ``auto`` (the
default) also does so when there are fewer than ``AUTO_IMAGES_PER_PROJECT`` shared images
per project, where a login per project costs more than it saves. The log says which path
served how many images and why.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from glint_backup import logsetup, project_views
from glint_backup.config import BackupConfig
from glint_backup.project_views import FAILURES, NoView, View
from glint_tui.core.errors import PermissionDenied
from glint_tui.core.model import ImageRecord

STATUSES = ("accepted", "pending", "rejected")
MEMBER_THREADS = 8  # member lists are one small GET each: latency-bound
VIEW_THREADS = 4
AUTO_IMAGES_PER_PROJECT = 50
ROWS_PER_REQUEST = 10  # one more listing request costs Glance about what ten more rows do
DEFAULT_PAGE = 1000  # Glance's own default page is 25 images


@dataclass
class Report:
    """How the members were read (``--json`` prints it under ``members``)."""

    shared: int = 0
    from_listings: int = 0
    per_image: int = 0
    projects_listed: int = 0
    application_credentials: int = 0
    listing_requests: int = 0
    why_per_image: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Skip(Exception):
    """The listings cannot vouch for these images; the message says why."""


Members = list[dict[str, str]]


def _sorted(members: list[tuple[str, str]]) -> Members:
    return [{"member_id": m, "status": s} for m, s in sorted(members)]


def per_image(session, record: ImageRecord) -> Members:
    """One GET; members only exist for shared images (Glance answers 403 for the others)."""
    if record.visibility != "shared":
        return []
    try:
        members = session.list_members(record.id)
    except PermissionDenied:
        return []
    return _sorted([(m.member_id, m.status) for m in members])


def read(
    config: BackupConfig,
    session,
    listing,
    previous: dict[str, dict[str, Any]],
    open_project: Callable[..., Any],
    dry_run: bool = False,
) -> tuple[dict[str, Members], Report]:
    """Members of every image of *listing* (``[]`` for those not shared), and how.

    A *dry_run* writes nothing to Keystone either: no application credential.
    """
    shared = [r for r in listing.records if r.visibility == "shared"]
    report = Report(shared=len(shared))
    found: dict[str, Members] = {}
    rest = shared
    if shared and config.members != "per-image":
        try:
            found, why = _from_listings(config, session, listing, shared, previous,
                                        open_project, report, dry_run)  # fmt: skip
            rest = [r for r in shared if r.id not in found]
            report.why_per_image = why if rest else ""
        except _Skip as e:
            found, report.why_per_image = {}, str(e)
    elif shared:
        report.why_per_image = "glint_backup_members is per-image"
    with ThreadPoolExecutor(MEMBER_THREADS) as pool:
        fetched = list(pool.map(lambda r: per_image(listing.reader[r.id], r), rest))
    found.update({r.id: m for r, m in zip(rest, fetched, strict=True)})
    report.from_listings, report.per_image = len(shared) - len(rest), len(rest)
    _log(report)
    return {r.id: found.get(r.id, []) for r in listing.records}, report


def _log(report: Report) -> None:
    if not report.shared:
        return
    log = logsetup.get()
    if report.from_listings:
        via = (
            f" ({report.application_credentials} through a reader application credential)"
            if report.application_credentials
            else ""
        )
        log.info(
            "members of %d shared image(s): %d from project listings (%d project(s) listed "
            "without the admin role%s, %d listing request(s)), %d read one image at a time%s",
            report.shared, report.from_listings, report.projects_listed, via,
            report.listing_requests, report.per_image,
            f" ({report.why_per_image})" if report.per_image else "",
        )  # fmt: skip
    else:
        log.info(
            "members of %d shared image(s) read one image at a time: %s",
            report.shared, report.why_per_image,
        )  # fmt: skip


# -- which images the listings can vouch for --------------------------------------------------
def _from_listings(config, session, listing, shared, previous, open_project, report, dry_run):
    """(members of the images the listings vouch for, why the others are read per image)."""
    if listing.scope.get("admin"):
        universe = _admin_universe(config, session, listing, shared)
        strays = {
            r.id
            for r in shared
            for m in (previous.get(r.id) or {}).get("members") or []
            if m.get("member_id") not in universe or m.get("member_id") == r.owner
        }
        vouched = {r.id for r in shared} - strays
        why = [f"{len(strays)} last recorded a member that is no project or its own owner"]
        views = _open_views(config, session, listing, sorted(universe), open_project, report,
                            may_write=not dry_run)  # fmt: skip
    else:  # the covered projects' own logins
        admin_in = [listing.projects.get(p, p) for p, s in listing.views.items() if s.is_admin()]
        if admin_in:  # Glance would list every shared image to it, whatever the status
            raise _Skip(f"the login in project {admin_in[0]} carries the admin role")
        views = {pid: View(pid, s, "login") for pid, s in listing.views.items()}
        vouched = {r.id for r in shared if r.owner not in views}
        owned = len(shared) - len(vouched)
        why = [f"{owned} owned by a covered project, whose owner sees members elsewhere too"]
    try:
        found, torn = _list(config, list(views.values()), shared, vouched, report)
    finally:
        if listing.scope.get("admin"):
            for view in views.values():
                view.close()
    report.projects_listed = len(views)
    if torn:
        why.append(f"{torn} whose membership changed during the listings")
    return found, "; ".join(w for w in why if not w.startswith("0 "))


def _admin_universe(config, session, listing, shared) -> set[str]:
    """The ids of every project of the cloud, when the account has a role on each."""
    projects = project_views.all_projects(session)
    if projects is None:
        raise _Skip("Keystone does not list every project to this account")
    uncovered = sorted(
        p.get("name") or p["id"] for p in projects if p["id"] not in listing.projects
    )
    if uncovered:
        names = ", ".join(uncovered[:5]) + (
            f" and {len(uncovered) - 5} more" if uncovered[5:] else ""
        )
        raise _Skip(
            f"the account has no role on project(s) {names}, and Glance lists the shares to "
            "a project only to a login in it"
        )
    if config.members == "auto" and len(shared) < AUTO_IMAGES_PER_PROJECT * len(projects):
        raise _Skip(
            f"{len(shared)} shared image(s) over {len(projects)} project(s): fewer than "
            f"{AUTO_IMAGES_PER_PROJECT} a project, one request per image costs less than a "
            "login per project"
        )
    return {p["id"] for p in projects}


def _open_views(
    config, session, listing, project_ids, open_project, report, may_write: bool
) -> dict[str, View]:
    """A non-admin view of every project, or _Skip naming the first that has none."""
    removed = project_views.remove_expired(session) if may_write else 0
    if removed:
        logsetup.get().info("removed %d expired application credential(s) of earlier runs", removed)
    home = session.project_id

    def one(pid: str) -> View | str:
        name = listing.projects.get(pid, pid)
        mine = pid != home
        try:
            scoped = open_project(config, project=pid) if mine else session
        except FAILURES as e:
            return f"project {name}: {type(e).__name__}: {e}"
        try:
            view = project_views.open_view(config, pid, scoped, may_write)
        except NoView as e:
            if mine:
                scoped.close()
            return f"project {name}: {e}"
        if mine:
            view.undo.insert(0, scoped.close)  # undone last: it made the credential
        return view

    with ThreadPoolExecutor(VIEW_THREADS) as pool:
        results = list(pool.map(one, project_ids))
    views = {r.project_id: r for r in results if isinstance(r, View)}
    problems = [r for r in results if isinstance(r, str)]
    report.application_credentials = sum(v.how != "login" for v in views.values())
    if problems:
        for view in views.values():
            view.close()
        raise _Skip(f"no non-admin view of {problems[0]}")
    return views


# -- the listings ---------------------------------------------------------------------------
def _queries(project_id: str, shared: list[ImageRecord], page: int) -> Iterator[tuple[str, dict]]:
    """(status, Glance query) pairs that show every share to *project_id*."""
    owners = Counter(r.owner for r in shared)
    others = sorted(o for o in owners if o != project_id and o)
    if not others:
        return  # nothing is shared by anyone else, so nothing can be shared to it
    hidden_owners = {r.owner for r in shared if r.hidden and r.owner != project_id}
    per_owner = len(others) * ROWS_PER_REQUEST < owners[project_id]
    for status in STATUSES:
        for hidden in (False, True) if hidden_owners else (False,):
            base = {"visibility": "shared", "member_status": status, "limit": page,
                    "os_hidden": "true" if hidden else "false"}  # fmt: skip
            if not per_owner:
                yield status, base
                continue
            for owner in others:
                if not hidden or owner in hidden_owners:
                    yield status, {**base, "owner": owner}


def _rows(session, params: dict[str, Any], counter: list[int]) -> Iterator[dict[str, Any]]:
    """Every row of one Glance listing, page by page, as plain JSON."""
    page: dict[str, Any] | None = params
    while page is not None:
        counter[0] += 1
        response = session.conn.image.get("/images", params=page, raise_exc=False)
        if response.status_code != 200:
            raise _Skip(f"a project listing failed (Glance answered {response.status_code})")
        body = response.json()
        yield from body.get("images", [])
        link = body.get("next")
        page = {**params, **dict(parse_qsl(urlsplit(link).query))} if link else None


def _list(config, views: list[View], shared, vouched: set[str], report):
    """(members of the *vouched* images from every view's listings, how many were torn)."""
    page = config.page_size or DEFAULT_PAGE
    seen: dict[tuple[str, str], set[str]] = defaultdict(set)  # (image, member) -> statuses

    def one(view: View) -> int:
        counter = [0]
        for status, params in _queries(view.project_id, shared, page):
            for row in _rows(view.session, params, counter):
                if row.get("owner") != view.project_id and row.get("id") in vouched:
                    seen[(row["id"], view.project_id)].add(status)
        return counter[0]

    try:
        with ThreadPoolExecutor(VIEW_THREADS) as pool:
            report.listing_requests = sum(pool.map(one, views))
    except FAILURES as e:
        raise _Skip(f"a project listing failed ({type(e).__name__}: {e})") from None
    # a status that changed between two listings shows twice: read that image per image
    torn = {image for (image, _), statuses in seen.items() if len(statuses) > 1}
    members: dict[str, list[tuple[str, str]]] = {i: [] for i in vouched - torn}
    for (image, member), statuses in seen.items():
        if image not in torn:
            members[image].append((member, next(iter(statuses))))
    return {image: _sorted(m) for image, m in members.items()}, len(torn)
