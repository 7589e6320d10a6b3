"""A login without the admin role in each project, so Glance's listings show its shares.

Glance answers an admin's image listing with every image, whatever ``member_status`` asks
for (its query skips the membership filter when the context is admin), so the shares *to*
a project, and their status, show only in a listing by a login that lacks the admin role.
For each project the account has a role on, that login is its own project-scoped one when
it carries no admin role; otherwise an application credential of this run restricted to
the ``reader`` role (``member`` on a cloud without it), deleted as soon as the listings are
done. It expires by itself after 15 minutes, so a killed run leaves nothing usable behind;
the next run deletes the expired ones it finds.

Nothing here is ever fatal: a project whose view cannot be opened (Keystone's policy
refuses application credentials, a login fails) is reported as not viewable, and the
members of shared images are then read one image at a time (``members``).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from glint_backup import connect
from glint_tui.core.clouds.openstack import PROVIDER_ERRORS
from glint_tui.core.errors import GlintError

APP_CRED_PREFIX = "glint-backup-members-"
LIFETIME = timedelta(minutes=15)
READ_ROLES = ("reader", "member")
FAILURES = (*PROVIDER_ERRORS, GlintError, KeyError, ValueError)


class NoView(Exception):
    """This project cannot be listed without the admin role (the message says why)."""


@dataclass
class View:
    """A non-admin session scoped to one project, and what to undo when done with it."""

    project_id: str
    session: Any
    how: str  # "login" (the account's own role) or "application credential"
    undo: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        for step in reversed(self.undo):
            with contextlib.suppress(*FAILURES):
                step()
        self.undo.clear()


def _json(response) -> Any:
    if response.status_code >= 400:
        raise NoView(f"Keystone answered {response.status_code}")
    return response.json()


def all_projects(session) -> list[dict[str, Any]] | None:
    """Every project of the cloud (admin only); None when Keystone will not list them all."""
    try:
        body = _json(session.conn.identity.get("/projects", raise_exc=False))
    except (*FAILURES, NoView):
        return None
    if body.get("truncated"):  # Keystone's list_limit: not every project is in the answer
        return None
    return [p for p in body.get("projects", []) if isinstance(p, dict) and "id" in p]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def remove_expired(session) -> int:
    """Delete this account's expired member-listing credentials a killed run left."""
    try:
        user = session.conn.current_user_id
        body = _json(
            session.conn.identity.get(f"/users/{user}/application_credentials", raise_exc=False)
        )
    except (*FAILURES, NoView):
        return 0
    removed = 0
    for cred in body.get("application_credentials", []):
        name, expires = cred.get("name", ""), cred.get("expires_at")
        if not name.startswith(APP_CRED_PREFIX) or not expires:
            continue
        with contextlib.suppress(ValueError):
            if datetime.fromisoformat(expires).replace(tzinfo=timezone.utc) < _utc_now():
                session.conn.identity.delete(
                    f"/users/{user}/application_credentials/{cred['id']}", raise_exc=False
                )
                removed += 1
    return removed


def _reader_credential(scoped, project_id: str) -> tuple[str, str, Callable[[], None]]:
    """Make a reader-only application credential on *scoped*'s project: (id, secret, undo)."""
    user = scoped.conn.current_user_id
    expires = (_utc_now() + LIFETIME).replace(tzinfo=None).isoformat(timespec="seconds")
    refused = None
    for role in READ_ROLES:
        body = {
            "application_credential": {
                "name": f"{APP_CRED_PREFIX}{project_id[:12]}-{secrets.token_hex(4)}",
                "description": "glint-backup: lists the shares of this project; deleted "
                "when the listing ends",
                "roles": [{"name": role}],
                "expires_at": expires,
            }
        }
        response = scoped.conn.identity.post(
            f"/users/{user}/application_credentials", json=body, raise_exc=False
        )
        if response.status_code in (400, 403, 404):  # no such role, or not assigned here
            refused = response.status_code
            continue
        cred = _json(response)["application_credential"]
        cred_id = cred["id"]

        def undo(cred_id: str = cred_id) -> None:
            scoped.conn.identity.delete(
                f"/users/{user}/application_credentials/{cred_id}", raise_exc=False
            )

        return cred_id, cred["secret"], undo
    raise NoView(f"Keystone refused a reader application credential ({refused})")


def open_view(config, project_id: str, scoped, may_write: bool = True) -> View:
    """A non-admin view of *project_id*, given the account's login *scoped* to it.

    The caller owns *scoped*; the view closes what it opened itself (the application
    credential and its session). *may_write* False (a dry run) makes no credential.
    Raises NoView when no such view can be had.
    """
    try:
        if scoped.project_id != project_id:
            raise NoView("the login is scoped to another project")
        if not scoped.is_admin():
            return View(project_id, scoped, "login")
        if not may_write:
            raise NoView("a dry run makes no application credential")
        cred_id, secret, undo = _reader_credential(scoped, project_id)
        view = View(project_id, None, "application credential", [undo])
        try:
            view.session = connect.open_application_credential_session(config, cred_id, secret)
            del secret
            view.undo.append(view.session.close)
            if view.session.project_id != project_id or view.session.is_admin():
                raise NoView("the application credential is not a reader of the project")
        except BaseException:
            view.close()
            raise
        return view
    except NoView:
        raise
    except FAILURES as e:
        raise NoView(f"{type(e).__name__}: {e}") from None
