"""The delete job: one image deleted by id, after re-checking every safety rule now.

The plan was made from an inventory that may be minutes old, so just before deleting
the engine looks again, under a lock per content key that every glint run of this
profile takes for the same check (two runs deleting the two copies of an image leave
one): the image is still owned by the project, not protected, and still this content
(``why_not_deletable``); and one of the other copies the plan relied on (``keeps``) is
still there, active, with this content. A delete that must wait for a copy of the same
plan (``after``) runs only if that copy verified.
"""

from __future__ import annotations

from glint_tui.core import journal as jn
from glint_tui.core import locks
from glint_tui.core.actions import DeleteAction
from glint_tui.core.clouds.base import CloudSession
from glint_tui.core.errors import GlintError, located
from glint_tui.core.events import ActionFinished, CellChanged
from glint_tui.core.model import CellState
from glint_tui.core.transfer.context import RunContext
from glint_tui.core.transfer.control import ActionControl
from glint_tui.core.transfer.result import Outcome


def why_not_deletable(session: CloudSession, image_id: str, content_key: str | None) -> str | None:
    """Re-check the safety rules on the image as it is *now* (the plan may be stale):
    None when it may go, else why not."""
    record = session.get_image(image_id)
    if record.owner != session.project_id:
        return f"refused: not owned: {image_id} is owned by another project ({record.owner})"
    if record.protected:
        return f"refused: {image_id} is protected"
    known = content_key and record.identity_key and not content_key.startswith("none:")
    if known and record.identity_key != content_key:
        return f"refused: {image_id} changed since the plan was made"
    return None


class DeleteJob:
    """One ``DeleteAction``: checked again, then deleted, or refused with a reason."""

    def __init__(
        self,
        ctx: RunContext,
        action: DeleteAction,
        control: ActionControl,
        *,
        copies_ok: dict[str, bool],
        after_cancelled: bool,
    ) -> None:
        self.ctx = ctx
        self.action = action
        self.control = control
        self.copies_ok = copies_ok  # copy action id -> at least one destination verified
        self.after_cancelled = after_cancelled  # a copy it waits for was cancelled

    def _outcome(self, ok: bool, message: str, cancelled: bool = False) -> Outcome:
        action, ctx = self.action, self.ctx
        ctx.controls.finish(self.control)
        state = CellState.ABSENT if ok else CellState.ERROR
        ctx.emit(
            CellChanged(action.id, action.ref, state, message, action.image_id, cancelled=cancelled)
        )
        ctx.emit(ActionFinished(action.id, "delete", action.name, ok, message, cancelled=cancelled))
        ctx.journal.record(
            jn.DELETED if ok else jn.DELETE_FAILED,
            action="delete",
            ref=str(action.ref),
            image_id=action.image_id,
            name=action.name,
            content_key=action.content_key,
            bytes=action.size,
            result="ok" if ok else message,
        )
        return Outcome(
            action.id,
            "delete",
            action.name,
            action.ref,
            ok,
            action.image_id,
            message,
            cancelled=cancelled,
        )

    def run(self) -> Outcome:
        action, ctx = self.action, self.ctx
        if not ctx.controls.start(self.control):
            return self._outcome(False, "cancelled", cancelled=True)
        if action.after and not any(self.copies_ok.get(copy_id) for copy_id in action.after):
            if self.after_cancelled:  # its copy was cancelled: so is the move
                return self._outcome(False, "cancelled", cancelled=True)
            return self._outcome(False, "not deleted: the copy it relied on did not complete")
        ctx.emit(CellChanged(action.id, action.ref, CellState.DELETING, image_id=action.image_id))
        try:
            session = ctx.open(action.ref)
        except GlintError as e:
            return self._outcome(False, str(e))
        try:
            # one glint run at a time checks the copies a delete of this content relies on
            lock = locks.lock_path(ctx.paths, "content", action.content_key)
            with locks.hold(lock, ctx.cancel.wait):
                why = why_not_deletable(session, action.image_id, action.content_key)
                if why is None and not action.after:
                    why = self._no_other_copy()
                if why:
                    return self._outcome(False, why)
                session.delete_image(action.image_id)
            return self._outcome(True, "")
        except locks.LockCancelled:
            return self._outcome(False, "cancelled", cancelled=True)
        except GlintError as e:
            return self._outcome(False, str(e))
        finally:
            session.close()

    def _no_other_copy(self) -> str | None:
        """None when one of the copies the plan relied on (``keeps``) is still there and
        active with this content, now; else why the delete is refused."""
        action = self.action
        if not action.content_key or action.content_key.startswith("none:"):
            return None  # no data: no last-copy rule
        if not action.keeps:
            return "refused: the plan names no other copy of this content; nothing deleted"
        problems = []
        for ref, image_id in action.keeps:
            try:
                with self.ctx.open(ref) as session:
                    record = session.get_image(image_id)
            except GlintError as e:
                problems.append(located(ref, str(e)))
                continue
            if record.status == "active" and record.content_key == action.content_key:
                return None
            problems.append(f"{ref}: {image_id} is {record.status}")
        return (
            "refused: the other copy this delete relied on is gone or cannot be checked "
            f"({'; '.join(problems)}); nothing deleted"
        )
