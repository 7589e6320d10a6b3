"""The catalog's metadata steps, run after the uploads: share, rename, retire, restore,
update — each re-checked on the image as it is *now*, just before acting.

The plan may be minutes old (the uploads ran in between, another glint run or an operator
may have acted), so like the engine's delete job every step first reads the image again
and acts only if it is still what the plan saw: owned by the column's project, still this
entry's version (its ``glint_catalog_*`` properties), not protected, the same content.
A rename also checks that no other image has taken the new name meanwhile (glint never
makes two images one name). Deactivating and deleting — the steps that take a copy away —
further check, under a lock per version and one per content key (the engine's delete
lock) that every glint run takes: that no server runs from the image (where the cloud
can say), and that one of the other copies of the version the plan relied on is still
there, active, with its content.

Steps run in dependency order (``after``): a step whose prerequisite failed is skipped,
never run anyway. An upload id in ``after`` is met when the upload verified in the
columns the step concerns (or anywhere, when it has no target there). Every step is one
``Outcome``, one journal line, and one event.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from glint_tui.core import journal as jn
from glint_tui.core import locks
from glint_tui.core.catalog.naming import RETIRED_AT, mark_of
from glint_tui.core.catalog.steps import (
    CatalogPlan,
    Rename,
    Restore,
    Retire,
    Share,
    Update,
    Upload,
    line_of,
)
from glint_tui.core.clouds.base import CloudSession
from glint_tui.core.errors import Conflict, GlintError, PermissionDenied, located
from glint_tui.core.events import ActionFinished, CellChanged, Event, Notice
from glint_tui.core.journal import Journal
from glint_tui.core.model import CellState, ImageRecord, ProjectRef
from glint_tui.core.paths import Paths
from glint_tui.core.transfer.result import Outcome

OpenSession = Callable[[ProjectRef], CloudSession]
Placed = dict[tuple[str, ProjectRef], str]
"""(upload id, target column) -> the id of the image that verified there."""

MetadataStep = Share | Rename | Retire | Restore | Update


class Refused(GlintError):
    """A step the image as it is now no longer allows (said why; nothing was changed)."""


class StepRunner:
    """Runs a plan's metadata steps (see the module docstring) once the uploads are over."""

    def __init__(
        self,
        plan: CatalogPlan,
        placed: Placed,
        *,
        open_session: OpenSession,
        paths: Paths,
        journal: Journal,
        emit: Callable[[Event], None],
        cancel: threading.Event,
    ) -> None:
        self.plan = plan
        self.placed = placed
        self.open = open_session
        self.paths = paths
        self.journal = journal
        self.emit = emit
        self.cancel = cancel
        self.targets = {u.id: [t.ref for t in u.targets] for u in plan.uploads}
        self.done: dict[str, bool] = {}  # step id -> succeeded

    # --- order -----------------------------------------------------------------------------
    def run(self) -> list[Outcome]:
        pending: list[MetadataStep] = [s for s in self.plan.steps if not isinstance(s, Upload)]
        ids = {s.id for s in pending}
        outcomes: list[Outcome] = []
        while pending:
            ready = [
                s for s in pending if not any(d in ids and d not in self.done for d in _after(s))
            ]
            if not ready:  # a cycle cannot come from the planner; never run such steps
                ready = pending[:1]
            for step in ready:
                pending.remove(step)
                outcomes.append(self._one(step))
        return outcomes

    def _blocked(self, step: MetadataStep) -> str | None:
        """Why *step* must not run (a prerequisite did not succeed), or None."""
        refs = {_ref(step), *getattr(step, "seen_from", ())}
        if isinstance(step, Share):
            refs.add(step.member)
        for dep in _after(step):
            if dep in self.targets:
                targets = self.targets[dep]
                here = [r for r in targets if r in refs]
                verified = [(dep, r) in self.placed for r in (here or targets)]
                if not (all(verified) if here else any(verified)):
                    return "the upload it waits for did not verify"
            elif self.done.get(dep) is not True:
                return "a step it waits for did not succeed"
        if isinstance(step, (Share, Rename)) and self._image_id(step) is None:
            return "the image it acts on was not created"
        return None

    def _image_id(self, step: MetadataStep) -> str | None:
        if step.image_id is not None:
            return step.image_id
        upload = getattr(step, "upload", None)
        return self.placed.get((upload, _ref(step))) if upload else None

    # --- one step --------------------------------------------------------------------------
    def _one(self, step: MetadataStep) -> Outcome:
        label = line_of(step)
        ref, image_id = _ref(step), self._image_id(step)
        why_not = "cancelled" if self.cancel.is_set() else self._blocked(step)
        if why_not is not None:
            self.done[step.id] = False
            cancelled = self.cancel.is_set()
            if not cancelled:
                self.emit(Notice(f"skipped: {label}: {why_not}", step.id))
            self._journal(step, image_id, f"skipped: {why_not}")
            return Outcome(
                step.id,
                step.kind,
                label,
                ref,
                False,
                image_id,
                message=f"skipped: {why_not}",
                cancelled=cancelled,
            )
        assert image_id is not None
        try:
            result = self._act(step, image_id)
        except GlintError as e:
            message = _reason(step, e)
            self.done[step.id] = False
            self.emit(CellChanged(step.id, ref, CellState.ERROR, f"{label}: {message}", image_id))
            self._journal(step, image_id, message)
            return Outcome(step.id, step.kind, label, ref, False, image_id, message)
        self.done[step.id] = True
        self._journal(step, image_id, "ok", note=result)
        shown = label.removeprefix(f"{step.kind} ") + (f" ({result})" if result else "")
        self.emit(ActionFinished(step.id, step.kind, shown, True))
        return Outcome(step.id, step.kind, label, ref, True, image_id, result)

    def _journal(self, step: MetadataStep, image_id: str | None, result: str, **extra: Any) -> None:
        deleting = isinstance(step, Retire) and step.action == "delete"
        kind = (jn.DELETED if result == "ok" else jn.DELETE_FAILED) if deleting else "catalog"
        self.journal.record(
            kind,
            action=f"catalog-{getattr(step, 'action', step.kind)}",
            ref=str(_ref(step)),
            image_id=image_id,
            entry=step.entry,
            version=step.version,
            content_key=getattr(step, "content_key", None),
            result=result,
            **extra,
        )

    def _act(self, step: MetadataStep, image_id: str) -> str:
        """Do *step*; a short note of what it found ('' normally). Raises Refused or the
        cloud's error."""
        with self.open(_ref(step)) as session:
            if isinstance(step, Share):
                return self._share(session, step, image_id)
            if isinstance(step, Rename):
                return self._rename(session, step, image_id)
            if isinstance(step, Retire):
                return self._retire(session, step, image_id)
            if isinstance(step, Restore):
                return self._restore(session, step, image_id)
            current(session, image_id, step)
            session.update_image(image_id, **step.attrs)
            return ""

    def _share(self, session: CloudSession, step: Share, image_id: str) -> str:
        record = current(session, image_id, step)
        if record.visibility != "shared":
            raise Refused(
                f"{image_id} is {record.visibility}, not shared: members would not see it"
            )
        note = ""
        try:
            session.add_member(image_id, step.member_project_id)
        except Conflict:
            note = "already a member"
        with self.open(step.member) as member:
            member.update_member_status(image_id, step.member_project_id, "accepted")
        return note

    def _rename(self, session: CloudSession, step: Rename, image_id: str) -> str:
        record = current(session, image_id, step)
        if record.name == step.new_name:
            return "already named so"
        if record.name != step.old_name:
            raise Refused(
                f"{image_id} is named {record.name!r} now, not {step.old_name!r}: left as it is"
            )
        for ref in dict.fromkeys((step.ref, *step.seen_from)):
            with self._session_at(ref, session) as there:
                taken = [i.id for i in there.list_images(name=step.new_name) if i.id != image_id]
            if taken:
                raise Refused(
                    f"{ref} has another image named {step.new_name!r} now "
                    f"({', '.join(sorted(taken))}): not renamed (never two images one name)"
                )
        session.update_image(image_id, name=step.new_name)
        return ""

    def _retire(self, session: CloudSession, step: Retire, image_id: str) -> str:
        record = current(session, image_id, step)
        if record.protected:
            raise Refused(f"{image_id} is protected now: not {_past(step.action)}")
        if step.content_key and record.content_key != step.content_key:
            raise Refused(f"{image_id} changed since the plan was made: not {_past(step.action)}")
        stamp = {RETIRED_AT: step.retired_at} if step.retired_at else {}
        if RETIRED_AT in record.properties:
            stamp = {}
        if step.action == "hide":
            if record.hidden and not stamp:
                return "already hidden"
            session.update_image(image_id, hidden=True, **stamp)
            return ""
        with self._removal_locks(step):
            self._still_removable(step, image_id)
            if step.action == "delete":
                session.delete_image(image_id)
                return ""
            if record.status != "deactivated":
                session.deactivate_image(image_id)
            if stamp:
                session.update_image(image_id, **stamp)
        return ""

    def _restore(self, session: CloudSession, step: Restore, image_id: str) -> str:
        record = current(session, image_id, step)
        if step.reactivate and record.status == "deactivated":
            session.reactivate_image(image_id)
        attrs: dict[str, Any] = {}
        if step.unhide and record.hidden:
            attrs["hidden"] = False
        if RETIRED_AT in record.properties:
            attrs[RETIRED_AT] = None
        if attrs:
            session.update_image(image_id, **attrs)
        return ""

    # --- the removal checks ------------------------------------------------------------------
    @contextlib.contextmanager
    def _removal_locks(self, step: Retire) -> Iterator[None]:
        """The version's lock, then the content's (the engine's delete lock): every glint
        run checks the copies a removal relies on under them, so two runs cannot remove
        the last two copies of one version at once."""
        keys = [("catalog-version", step.entry, step.version)]
        if step.content_key:
            keys.append(("content", step.content_key))
        with contextlib.ExitStack() as held:
            for key in keys:
                try:
                    held.enter_context(
                        locks.hold(locks.lock_path(self.paths, *key), self.cancel.wait)
                    )
                except locks.LockCancelled:
                    raise Refused("cancelled while waiting for another glint run") from None
            yield

    def _still_removable(self, step: Retire, image_id: str) -> None:
        """No server runs from it (where a column can tell), and one of the copies the plan
        relied on is still there — else Refused."""
        for ref in dict.fromkeys((step.ref, *step.seen_from)):
            with self.open(ref) as there:
                busy = there.image_in_use(image_id)
            if busy:
                raise Refused(
                    f"{image_id} is in use now: a server runs from it (seen from {ref}): "
                    f"not {_past(step.action)}"
                )
        if step.last_copy or not step.keeps:
            return  # the plan allowed the last copy (no column keeps it), or relied on an
            # upload of this run (``after``: it verified)
        problems = []
        for ref, other_id, content_key in step.keeps:
            try:
                with self.open(ref) as there:
                    other = there.get_image(other_id)
            except GlintError as e:
                problems.append(located(ref, str(e)))
                continue
            mark = mark_of(other)
            same = mark is not None and (mark.entry, mark.version) == (step.entry, step.version)
            if other.status == "active" and other.content_key == content_key and same:
                return
            problems.append(f"{ref}: {other_id} is {other.status}")
        raise Refused(
            f"the other copies of {step.version} this relied on are gone or cannot be checked "
            f"({'; '.join(problems)}): {image_id} not {_past(step.action)}"
        )

    @contextlib.contextmanager
    def _session_at(self, ref: ProjectRef, session: CloudSession) -> Iterator[CloudSession]:
        if ref == session.credential.ref:
            yield session
            return
        with self.open(ref) as other:
            yield other


def current(session: CloudSession, image_id: str, step: MetadataStep) -> ImageRecord:
    """The image as it is now, if it is still this column's and this entry's version."""
    record = session.get_image(image_id)
    if record.owner != session.project_id:
        raise Refused(f"{image_id} is owned by another project now ({record.owner})")
    mark = mark_of(record)
    if mark is None or (mark.entry, mark.version) != (step.entry, step.version):
        raise Refused(
            f"{image_id} no longer says it is {step.entry} {step.version} "
            "(its glint_catalog_* properties changed): left as it is"
        )
    return record


def _after(step: MetadataStep) -> tuple[str, ...]:
    return getattr(step, "after", ())


def _ref(step: MetadataStep) -> ProjectRef:
    return step.ref


def _past(action: str) -> str:
    return {"hide": "hidden", "deactivate": "deactivated", "delete": "deleted"}[action]


def _reason(step: MetadataStep, error: GlintError) -> str:
    """One line for a failed step; a refused (de)activation says what to do about it."""
    activating = (isinstance(step, Retire) and step.action == "deactivate") or (
        isinstance(step, Restore) and step.reactivate
    )
    if activating and isinstance(error, PermissionDenied):
        verb = "deactivate" if isinstance(step, Retire) else "reactivate"
        return (
            f"the cloud's policy does not let glint's credential for {step.ref} {verb} "
            f"images (Glance often allows it to admins only): use `retire: hide`, or an "
            f"admin credential for {step.ref}"
        )
    return str(error)
