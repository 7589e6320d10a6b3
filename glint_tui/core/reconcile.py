"""Clean up after runs that died: delete the half images they created, nothing else.

A run's journal lists every image it set out to create *before* creating it, and each
such image carries ``glint_transfer_id``. For every finished or dead run (its journal
is not locked and its pid is gone) this module looks at each creation that was never
verified nor cleaned:

* the image is found by its id, or (if the run died before learning the id) by listing
  the project's images for the transfer id property;
* it is touched only if it carries that run's transfer id (never anything glint did not
  create);
* ``queued``/``saving``/``killed``/``uploading``/``importing`` -> deleted (Glance leaves
  ``saving`` forever when it dies mid-upload, ``queued`` when the client dies);
* ``active`` with the expected content -> kept (the copy completed; only the final
  journal line was lost); ``active`` with other content -> deleted.

A run whose every creation is resolved gets a ``reconciled`` line and is skipped later.
A journal line that is not an entry glint wrote (garbage, a torn write) is skipped and
reported - once, since the run then gets its ``reconciled`` line - and never stops the
other lines or the other runs from being reconciled.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable
from dataclasses import dataclass, field

from glint_tui.core import journal as jn
from glint_tui.core.clouds.base import CloudSession
from glint_tui.core.errors import GlintError, ImageNotFound
from glint_tui.core.events import Event, Notice
from glint_tui.core.model import ImageRecord, ProjectRef
from glint_tui.core.paths import Paths
from glint_tui.core.sessions import SessionSource, open_serialized

HALF_DONE = frozenset({"queued", "saving", "killed", "uploading", "importing"})


@dataclass
class ReconcileReport:
    runs_checked: int = 0
    removed: list[tuple[str, str, str]] = field(default_factory=list)  # (ref, id, status)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (ref, id) complete copies
    unresolved: list[tuple[str, str, str]] = field(default_factory=list)  # (ref, tid, why)
    skipped: list[str] = field(default_factory=list)  # journal lines that are not entries

    @property
    def ok(self) -> bool:
        return not self.unresolved

    def to_dict(self) -> dict:
        return {
            "runs_checked": self.runs_checked,
            "removed": [{"ref": r, "image_id": i, "status": s} for r, i, s in self.removed],
            "kept": [{"ref": r, "image_id": i} for r, i in self.kept],
            "unresolved": [{"ref": r, "transfer_id": t, "error": e} for r, t, e in self.unresolved],
            "skipped_lines": list(self.skipped),
        }


def _same_host(log: jn.RunLog) -> bool:
    host = log.start.get("host")
    return host is None or host == socket.gethostname()


def reconcile(
    sessions: SessionSource,
    paths: Paths,
    *,
    on_event: Callable[[Event], None] | None = None,
) -> ReconcileReport:
    """Resolve every dead run's unfinished creations (see the module docstring)."""
    report = ReconcileReport()
    emit = on_event or (lambda e: None)
    open_sessions: dict[str, CloudSession] = {}
    try:
        for path in jn.journal_files(paths):
            log = jn.read_run(path)
            if log.reconciled:
                continue
            pending = log.pending()
            with jn.claim_finished_run(path) as finished:
                if not finished:
                    continue  # a live run holds its journal
                if not log.ended and _same_host(log) and jn.pid_alive(log.pid):
                    continue  # lock free but the pid lives: be safe, look again later
                report.runs_checked += 1
                for why in log.skipped:
                    report.skipped.append(why)
                    emit(Notice(f"journal {why} (skipped)"))
                left = [
                    create
                    for create in pending
                    if not _resolve(create, path, sessions, open_sessions, report, emit)
                ]
                if not left:
                    jn.append_entry(path, jn.RECONCILED)
    finally:
        for session in open_sessions.values():
            with contextlib.suppress(Exception):
                session.close()
    return report


def _session(ref: str, sessions: SessionSource, cache: dict[str, CloudSession]) -> CloudSession:
    if ref not in cache:
        cache[ref] = open_serialized(sessions, ProjectRef.parse(ref))
    return cache[ref]


def _resolve(
    create: jn.PendingCreate,
    path,
    sessions: SessionSource,
    cache: dict[str, CloudSession],
    report: ReconcileReport,
    emit: Callable[[Event], None],
) -> bool:
    """True when the creation is settled (deleted, kept, or never happened)."""
    try:
        session = _session(create.ref, sessions, cache)
        images = _find(session, create)
        for image in images:
            if image.properties.get(jn.TRANSFER_PROPERTY) != create.transfer_id:
                continue  # not ours: never touch it
            if (
                image.status == "active"
                and create.content_key
                and image.content_key == create.content_key
            ):
                jn.append_entry(
                    path,
                    jn.VERIFIED,
                    transfer_id=create.transfer_id,
                    ref=create.ref,
                    image_id=image.id,
                    result="kept by reconcile: the copy had completed",
                )
                report.kept.append((create.ref, image.id))
                continue
            if image.status != "active" and image.status not in HALF_DONE:
                report.unresolved.append(
                    (create.ref, create.transfer_id, f"{image.id} is {image.status}")
                )
                return False
            with contextlib.suppress(ImageNotFound):
                session.delete_image(image.id)
            jn.append_entry(
                path,
                jn.CLEANED,
                transfer_id=create.transfer_id,
                ref=create.ref,
                image_id=image.id,
                result=f"deleted by reconcile (was {image.status})",
            )
            report.removed.append((create.ref, image.id, image.status))
            said = f"deleted half-done image {image.id} ({image.status}) at {create.ref}"
            emit(Notice(f"reconcile: {said}"))
        if not images:
            jn.append_entry(
                path,
                jn.CLEANED,
                transfer_id=create.transfer_id,
                ref=create.ref,
                result="nothing left",
            )
        return True
    except GlintError as e:
        report.unresolved.append((create.ref, create.transfer_id, str(e)))
        emit(Notice(f"reconcile: cannot check {create.ref} yet: {e}"))
        return False


def _find(session: CloudSession, create: jn.PendingCreate) -> list[ImageRecord]:
    if create.image_id:
        try:
            return [session.get_image(create.image_id)]
        except ImageNotFound:
            return []
    return [
        image
        for image in session.list_images()
        if image.properties.get(jn.TRANSFER_PROPERTY) == create.transfer_id
    ]
