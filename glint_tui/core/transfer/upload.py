"""One destination's upload: look again, create, fill, verify, settle — or clean up.

Every destination goes the same path (``DestinationUpload.run``), whatever moves its
bytes; only the middle step differs, and that step is a ``TransferMethod``:

1. under the copy job's lock for (cloud, project, content), look at the destination
   again: an active image of this name and content it owns means another glint run made
   it meanwhile ("already present", nothing created);
2. journal ``creating`` (before anything exists), create the queued image carrying the
   transfer id, journal ``created``;
3. ``method.put`` fills it: ``StreamMethod`` uploads from the fan-out's queue; a
   cloud-side method (``cloudside.ImportMethod``: a Glance import where the destination
   pulls the bytes itself) starts the import and watches it against a no-progress
   deadline (copy-image creates nothing: it adds a store to the image already there);
4. wait for ``active``, then ``verify.check_copy`` with the hashes the destination's
   session reports (``CloudSession.stored_hashes``) against ``method.expectation``, and
   ``method.finish`` (a cloud-side copy gets the metadata its import did not carry);
5. settle (a cancel that won the race deletes even a verified copy), delete the image
   it replaces (``--on-conflict replace``), journal ``verified``.

Any failure journals ``failed`` and deletes the half image, or remembers it
(``Destination.leftovers``) when its cloud cannot be reached: the journal still has it,
so the next attempt, the end of the run, or ``glint reconcile`` deletes it.
"""

from __future__ import annotations

import contextlib
from typing import Protocol

from glint_tui.core import journal as jn
from glint_tui.core.actions import CopyAction, CopyTarget
from glint_tui.core.clouds.base import CloudSession, ImageSpec
from glint_tui.core.errors import GlintError, ImageNotFound, ServerError
from glint_tui.core.events import CellChanged
from glint_tui.core.journal import TRANSFER_PROPERTY
from glint_tui.core.model import CellState, ImageRecord
from glint_tui.core.transfer.context import RunContext
from glint_tui.core.transfer.control import ActionControl, Cancelled, CancelScope
from glint_tui.core.transfer.delete_job import why_not_deletable
from glint_tui.core.transfer.destination import Attempt
from glint_tui.core.transfer.fanout import Feed, QueueReader, as_glint_error
from glint_tui.core.transfer.sources import Source
from glint_tui.core.transfer.verify import Expectation, check_copy, wait_active

# properties never copied: the copy gets its own transfer id; the SDK's owner_specified.*
# describe the original upload, not ours
_SKIP_PREFIXES = ("owner_specified.openstack.",)
_SKIP_KEYS = frozenset({TRANSFER_PROPERTY})


class TransferMethod(Protocol):
    """How one destination's image gets its bytes: the one step that differs per method.

    ``StreamMethod`` here; the cloud-side ones (Glance's imports) in ``cloudside.py``.
    """

    name: str  # "stream", "glance-download", "web-download", "copy-image", …
    through_host: bool  # the bytes cross this host (what the plan's byte count shows)
    creates_image: bool  # False: it fills ``existing`` (copy-image adds a store to it)
    existing: str | None  # the image it fills instead of creating one
    store: str | None  # the store the bytes must land in (None: the cloud's default)

    @property
    def expectation(self) -> Expectation:
        """What the filled image is verified against (a stream: the hash glint computed
        of what it sent; a cloud-side import: the source's own hash)."""
        ...

    def put(self, session: CloudSession, image_id: str, size: int) -> None:
        """Fill *image_id* with *size* bytes of the source.

        Raises:
            GlintError: the bytes did not get there (transient errors are retried by the
                copy job; ``cloudside.ImportFailed`` makes it stream instead);
                ``Cancelled`` when the destination was cancelled meanwhile.
        """
        ...

    def finish(
        self, session: CloudSession, record: ImageRecord, spec: ImageSpec | None
    ) -> ImageRecord:
        """Once the image is active: set what the method did not carry over (a stream
        created the image with everything already), and return the image as it is."""
        ...


class StreamMethod:
    """The bytes come from the fan-out's queue for this attempt (``Feed``)."""

    name = "stream"
    through_host = True
    creates_image = True
    existing = None

    def __init__(
        self,
        feed: Feed,
        expectation: Expectation,
        cancel: CancelScope,
        store: str | None = None,
    ) -> None:
        self.feed = feed
        self._expectation = expectation
        self.cancel = cancel
        self.store = store

    @property
    def expectation(self) -> Expectation:
        return self._expectation

    def put(self, session: CloudSession, image_id: str, size: int) -> None:
        reader = QueueReader(self.feed, self.cancel)
        if self.store:
            session.upload(image_id, reader, size, store=self.store)
        else:
            session.upload(image_id, reader, size)

    def finish(
        self, session: CloudSession, record: ImageRecord, spec: ImageSpec | None
    ) -> ImageRecord:
        return record


def image_spec(
    source: ImageRecord, action: CopyAction, target: CopyTarget, visibility: str, transfer_id: str
) -> ImageSpec:
    """What to create at *target*: the source's formats, limits, tags and user
    properties, under the target's name, tagged with this attempt's transfer id."""
    properties = {
        key: value
        for key, value in source.properties.items()
        if key not in _SKIP_KEYS and not key.startswith(_SKIP_PREFIXES)
    }
    properties[TRANSFER_PROPERTY] = transfer_id
    return ImageSpec(
        name=target.name,
        disk_format=source.disk_format or action.disk_format or "raw",
        container_format=source.container_format or "bare",
        visibility=visibility,
        min_disk=source.min_disk,
        min_ram=source.min_ram,
        tags=list(source.tags),
        properties=properties,
    )


def already_there(
    session: CloudSession, name: str, content_key: str, store: str | None = None
) -> ImageRecord | None:
    """An active image of this name and content the session's project owns — in *store*,
    when one is named and the cloud lists stores (another glint run made it while this
    one waited for the lock)."""
    project_id = session.project_id
    for record in session.list_images(name=name):
        if (
            record.status == "active"
            and record.owner == project_id
            and record.content_key == content_key
            and (not store or not record.stores or store in record.stores)
        ):
            return record
    return None


def remove_half_image(session: CloudSession, image_id: str) -> bool:
    """Delete an image a failed attempt made; False when its cloud did not answer."""
    try:
        session.delete_image(image_id)
    except ImageNotFound:
        pass
    except GlintError:
        return False
    return True


class DestinationUpload:
    """One attempt at one destination, run in a thread of its own (see the module doc)."""

    def __init__(
        self,
        ctx: RunContext,
        action: CopyAction,
        control: ActionControl,
        source: Source,
        facts: ImageRecord,
        attempt: Attempt,
        method: TransferMethod,
    ) -> None:
        self.ctx = ctx
        self.action = action
        self.control = control
        self.source = source
        self.facts = facts  # the source as it was checked at the start of the copy
        self.attempt = attempt
        self.destination = attempt.destination
        self.method = method
        self.where = str(attempt.ref)
        self.transfer_id = ""
        self.spec: ImageSpec | None = None  # what was created (a cloud-side copy's finish)

    def cell(self, state: CellState, message: str = "", image_id: str | None = None) -> None:
        destination = self.destination
        self.ctx.emit(
            CellChanged(
                self.action.id, destination.ref, state, message, image_id or destination.image_id
            )
        )

    def run(self) -> None:
        attempt, destination = self.attempt, self.destination
        image_id = created = None
        session = None
        try:
            session = self.ctx.open(destination.ref)
            if self._found_made_by_another_run(session):
                return
            if self.method.creates_image:
                image_id = created = self._create(session)
            else:
                image_id = self._fill_existing()
            self.cell(CellState.TRANSFERRING, image_id=image_id)
            self.method.put(session, image_id, self.action.size)
            self.cell(CellState.VERIFYING, image_id=image_id)
            timeout = self.ctx.options.active_timeout
            final = wait_active(session, image_id, self.where, destination.scope, timeout)
            image_id = final.id  # EC2: the AMI the upload registered (created: a pending id)
            check_copy(final, session.stored_hashes(final), self.method.expectation, self.where)
            final = self.method.finish(session, final, self.spec)
            if not self.ctx.controls.settle(self.control, destination.ref, destination.scope):
                raise Cancelled()  # cancelled while verifying: the verified copy goes too
            self._replace_old(session)
            sent = self.action.size if self.method.through_host else 0
            self._journal(jn.VERIFIED, image_id=image_id, bytes=sent, result="ok")
            destination.image_id = image_id
            attempt.ok = True
            self.cell(CellState.PRESENT, image_id=image_id)
        except BaseException as exc:
            error = self._error_of(exc)
            attempt.fail(error)
            if created is not None and session is not None:
                self._discard(session, created, error)
            elif image_id is not None:  # an image that was there before: never deleted
                self._journal_failed(image_id, error)
        finally:
            if session is not None:
                with contextlib.suppress(Exception):
                    session.close()
            attempt.done.set()

    def _error_of(self, exc: BaseException) -> GlintError:
        """What this attempt reports: the fan-out's reason if it dropped us first, a
        permanent cloud error over "aborted", and a cancel over everything."""
        attempt = self.attempt
        error = (
            attempt.error
            if (attempt.dead.is_set() and attempt.error)
            else as_glint_error(exc, self.where)
        )
        if isinstance(exc, GlintError) and not isinstance(exc, ServerError):
            error = exc
        if self.destination.scope.is_set():
            error = Cancelled()
        return error

    def _found_made_by_another_run(self, session: CloudSession) -> bool:
        destination = self.destination
        found = already_there(
            session, destination.target.name, self.action.content_key, self.method.store
        )
        if found is None:
            return False
        destination.image_id, destination.note, self.attempt.ok = found.id, "already present", True
        self.attempt.dead.set()  # the fan-out stops feeding this destination
        self.ctx.controls.settle(self.control, destination.ref)
        self.cell(CellState.PRESENT, "already present", found.id)
        self.ctx.notice(
            f"{self.action.name} -> {destination.ref}: already present (image {found.id}), "
            "not copied again",
            self.action.id,
        )
        return True

    def _create(self, session: CloudSession) -> str:
        """Journal, then create the queued image; its id."""
        journal, target = self.ctx.journal, self.destination.target
        self.transfer_id = journal.transfer_id()
        self._journal(
            jn.CREATING,
            name=target.name,
            content_key=self.action.content_key,
            bytes=self.action.size,
        )
        visibility = self.ctx.options.visibility or self.action.visibility
        spec = image_spec(self.facts, self.action, target, visibility, self.transfer_id)
        self.spec = spec
        try:
            record = session.create_image(spec)
        except GlintError as e:
            if not isinstance(e, ServerError):  # refused or never connected: no image
                journal.record(
                    jn.CLEANED, transfer_id=self.transfer_id, ref=self.where, result=str(e)
                )
            raise
        journal.record(jn.CREATED, transfer_id=self.transfer_id, ref=self.where, image_id=record.id)
        return record.id

    def _fill_existing(self) -> str:
        """copy-image: journal the store being added to an image that is already there
        (nothing is created, so nothing is for reconcile to delete)."""
        image_id = self.method.existing
        assert image_id is not None
        self.transfer_id = self.ctx.journal.transfer_id()
        self._journal(jn.ADDING_STORE, image_id=image_id, store=self.method.store)
        return image_id

    def _journal(self, kind: str, **fields: object) -> None:
        """One journal line about this copy: its transfer id, place, method and source."""
        self.ctx.journal.record(
            kind,
            transfer_id=self.transfer_id,
            action="copy",
            ref=self.where,
            method=self.method.name,
            **fields,
            **self.source.journal,
        )

    def _journal_failed(self, image_id: str, error: GlintError) -> None:
        self._journal(jn.FAILED, image_id=image_id, result=str(error))

    def _replace_old(self, session: CloudSession) -> None:
        """``--on-conflict replace``: delete the other same-named image, if still safe."""
        replaces = self.destination.target.replaces
        if not replaces:
            return
        why = why_not_deletable(session, replaces, None)
        if why is None:
            session.delete_image(replaces)
        self.ctx.journal.record(
            jn.DELETED if why is None else jn.DELETE_FAILED,
            action="replace",
            ref=self.where,
            image_id=replaces,
            result=why or "ok",
        )

    def _discard(self, session: CloudSession, image_id: str, error: GlintError) -> None:
        """Delete this attempt's image now, or remember it for later (and reconcile)."""
        journal = self.ctx.journal
        self._journal_failed(image_id, error)
        if remove_half_image(session, image_id):
            journal.record(
                jn.CLEANED, transfer_id=self.transfer_id, ref=self.where, image_id=image_id
            )
        else:
            self.destination.leftovers.append((self.transfer_id, image_id))
