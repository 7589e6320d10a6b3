"""Which images a run can see: every project's (admin), or the projects it is told to cover.

Glance lists every project's images only to an admin. A backup account without that role
silently sees far less (its project's images, shares to it, public ones), so a run with
such an account says so on every run and exits 3 — unless ``glint_backup_projects`` names
the projects it is meant to cover: it then logs in to each of them and the log says what
is left out. Either way "every image of every project" is true or the log says it is not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from glint_backup import logsetup
from glint_backup.config import BackupConfig
from glint_tui.core.clouds.base import ProjectInfo
from glint_tui.core.errors import CloudError
from glint_tui.core.model import ImageRecord


@dataclass
class Listing:
    """The images of one run, and for each the session that can read it."""

    records: list[ImageRecord] = field(default_factory=list)
    reader: dict[str, Any] = field(default_factory=dict)  # image id -> session
    views: dict[str, Any] = field(default_factory=dict)  # non-admin: project id -> its login
    projects: dict[str, str] = field(default_factory=dict)  # project id -> name
    scope: dict[str, Any] = field(default_factory=dict)  # recorded in the manifest
    problems: list[str] = field(default_factory=list)  # coverage gaps: exit 3
    extra_sessions: list[Any] = field(default_factory=list)  # to close

    def add(self, session: Any, records: list[ImageRecord]) -> None:
        for record in records:
            if record.id not in self.reader:
                self.reader[record.id] = session
                self.records.append(record)

    def close(self) -> None:
        for session in self.extra_sessions:
            session.close()


def _projects(session) -> list[ProjectInfo]:
    try:
        return session.list_projects()
    except CloudError:
        return []


def list_all(config: BackupConfig, session, open_session: Callable[..., Any], user: str) -> Listing:
    """List what this run backs up; coverage gaps are logged and kept in ``problems``."""
    listing = Listing()
    scopable = _projects(session)
    listing.projects = {p.id: p.name for p in scopable}
    if session.is_admin():
        listing.add(session, list(session.list_images(all_projects=True)))
        listing.scope = {"admin": True, "projects": "all"}
        return listing
    if not config.projects:
        return _own_project_only(listing, session, user)
    return _named_projects(config, listing, session, scopable, open_session, user)


def _own_project_only(listing: Listing, session, user: str) -> Listing:
    here = listing.projects.get(session.project_id, session.project_id)
    problem = (
        f"the backup account {user} is not admin: it sees only what project {here} sees "
        "(its own images, shares to it, public ones); the images of every other project "
        "are left out. Give it the admin role, or list the projects it is meant to cover "
        "in glint_backup_projects"
    )
    logsetup.get().warning("%s", problem)
    listing.problems.append(problem)
    listing.add(session, list(session.list_images()))
    listing.views[session.project_id] = session
    listing.scope = {"admin": False, "projects": [here]}
    return listing


def _named_projects(
    config: BackupConfig,
    listing: Listing,
    session,
    scopable: list[ProjectInfo],
    open_session: Callable[..., Any],
    user: str,
) -> Listing:
    log = logsetup.get()
    covered: list[str] = []
    for wanted in config.projects:
        match = next((p for p in scopable if wanted in (p.id, p.name)), None)
        if match is None:
            problem = (
                f"glint_backup_projects: {user} has no role on project {wanted!r}: "
                "its images are left out"
            )
            log.warning("%s", problem)
            listing.problems.append(problem)
            continue
        if match.id == session.project_id:
            reader = session
        else:
            reader = open_session(config, project=match.id)
            listing.extra_sessions.append(reader)
        listing.add(reader, list(reader.list_images()))
        listing.views[match.id] = reader
        covered.append(match.name)
    others = sorted(p.name for p in scopable if p.name not in covered)
    log.info(
        "the backup account %s is not admin: covering projects %s (glint_backup_projects)%s; "
        "projects it has no role on are not visible to it",
        user, ", ".join(covered) or "none",
        f"; not covered although it has a role on them: {', '.join(others)}" if others else "",
    )  # fmt: skip
    listing.scope = {"admin": False, "projects": covered}
    return listing
