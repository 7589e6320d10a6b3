"""Cloud-side transfer methods: the destination's cloud pulls the bytes itself.

``ImportMethod`` is the ``TransferMethod`` of Glance's interoperable import
(``glance-download`` from another region behind the same Keystone, ``web-download`` from
a URL anyone can read, ``copy-image`` into another store of the same image). Nothing
crosses this host, so:

* ``expectation`` is the source's own hash: the destination's ``os_hash_value`` must equal
  the content key's, or the copy is deleted (``verify.check_copy``, like a stream copy);
* ``put`` asks for the import and watches it: Glance shows no byte count while it pulls,
  only the image's status, its ``os_glance_importing_to_stores`` /
  ``os_glance_failed_import`` lists, its lock and the task's status, message and update
  time (``ImportState``). An import whose visible state does not change for
  ``import_stall`` seconds is stopped — a source that stopped answering stalls Glance's
  download for ever, and a task whose first save failed stays ``pending`` for ever — and
  so is one that failed; either raises ``ImportFailed``, and the copy job then streams
  that destination instead (it costs no retry);
* ``finish`` sets what Glance's import does not copy (glance-download copies formats and a
  few property prefixes only): name, visibility, min disk/RAM, tags and user properties
  as a stream copy would have them, then checks them.

``copy-image`` fills no new image: it adds a store to the image that is already there.
It never deletes that image on failure and never falls back (a stream would make a second
image of the same name); it fails with the reason instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from glint_tui.core.clouds.base import CloudSession, ImageSpec, ImportState
from glint_tui.core.errors import (
    BadRequest,
    CloudError,
    Conflict,
    DataMismatch,
    ImageNotFound,
    PermissionDenied,
    ServerError,
    Unreachable,
)
from glint_tui.core.importmethods import COPY_IMAGE
from glint_tui.core.model import ImageRecord
from glint_tui.core.transfer.control import Cancelled, CancelScope
from glint_tui.core.transfer.verify import Expectation

Progress = Callable[[ImportState], None]


class ImportFailed(CloudError):
    """A cloud-side import was refused, failed or stalled. ``fallback``: the copy job
    streams this destination instead (False for copy-image: see the module docstring)."""

    def __init__(self, message: str, where: str | None = None, *, fallback: bool = True):
        super().__init__(message, where)
        self.fallback = fallback


def source_expectation(expect: Expectation) -> Expectation:
    """What a cloud-side copy is verified against: the source's own hash (glint hashed
    nothing, so the hash 'sent' is the one the source recorded)."""
    fresh = expect.fresh()
    fresh.digest = fresh.expected
    return fresh


class ImportMethod:
    """One destination filled by its cloud (see the module docstring)."""

    through_host = False

    def __init__(
        self,
        name: str,
        body: Mapping[str, Any],
        expectation: Expectation,
        cancel: CancelScope,
        *,
        stall: float,
        poll: float = 2.0,
        progress: Progress | None = None,
        existing: str | None = None,
        store: str | None = None,
        where: str = "",
    ) -> None:
        self.name = name
        self.where = where  # the destination column, for messages
        self.body = dict(body)
        self._expectation = source_expectation(expectation)
        self.cancel = cancel
        self.stall = stall
        self.poll = poll
        self.progress = progress or (lambda state: None)
        self.existing = existing  # copy-image: the image that gets a store, not a new one
        self.store = store
        self.creates_image = existing is None

    @property
    def expectation(self) -> Expectation:
        return self._expectation

    def _failed(self, why: str, where: str) -> ImportFailed:
        return ImportFailed(f"{self.name} {why}", where, fallback=self.name != COPY_IMAGE)

    def put(self, session: CloudSession, image_id: str, size: int) -> None:
        """Ask for the import, then watch it until it is done, fails or stalls."""
        where = self.where
        try:
            session.start_import(image_id, self.body)
        except (BadRequest, Conflict, PermissionDenied) as e:
            raise self._failed(f"refused: {_bare(e)}", where) from None
        self._watch(session, image_id, where)

    def _watch(self, session: CloudSession, image_id: str, where: str) -> None:
        seen: tuple[Any, ...] | None = None
        changed = time.monotonic()
        while True:
            state = self._look(session, image_id, where)
            now = time.monotonic()
            if state is not None and state.signature() != seen:
                seen, changed = state.signature(), now
                self.progress(state)
            if state is not None and self._over(state, where):
                return
            if now - changed > self.stall:
                what = state.describe() if state is not None else "no answer"
                raise self._failed(
                    f"made no progress for {self.stall:.0f} s ({what}); stopped", where
                )
            if self.cancel.wait(self.poll):
                raise Cancelled()

    def _look(self, session: CloudSession, image_id: str, where: str) -> ImportState | None:
        """The import's state; None when the cloud did not answer this time (a busy
        Glance: the no-progress deadline decides)."""
        try:
            return session.import_state(image_id)
        except ImageNotFound:
            raise self._failed("failed: the image disappeared during the import", where) from None
        except (ServerError, Unreachable):
            return None

    def _over(self, state: ImportState, where: str) -> bool:
        """True once the import succeeded; raises once it failed."""
        if state.failed:
            raise self._failed(f"failed at store {','.join(state.failed)}", where)
        if state.status in ("killed", "deleted", "pending_delete"):
            raise self._failed(f"failed: Glance marked the image {state.status}", where)
        if not state.finished:
            return False
        if state.task_status == "failure":
            raise self._failed(f"failed: {state.task_message or 'the task failed'}", where)
        if self.store and state.stores and self.store not in state.stores:
            return False  # the task ended but the store is not listed yet
        return state.status == "active"

    def finish(
        self, session: CloudSession, record: ImageRecord, spec: ImageSpec | None
    ) -> ImageRecord:
        """Set what the import did not copy, as a stream copy has it, and check it.

        Raises:
            DataMismatch: the formats differ from the source's, or Glance did not keep
                what glint set.
        """
        if not self.creates_image or spec is None:
            return record  # copy-image: the same image, its metadata untouched
        where = self.where
        if (record.disk_format, record.container_format) != (
            spec.disk_format,
            spec.container_format,
        ):
            raise DataMismatch(
                f"{self.name} made a {record.disk_format}/{record.container_format} image, "
                f"not {spec.disk_format}/{spec.container_format}; deleted",
                where,
            )
        changes = metadata_changes(record, spec)
        if changes:
            record = session.update_image(record.id, **changes)
        left = metadata_changes(record, spec)
        if left:
            raise DataMismatch(
                f"the copy's {', '.join(sorted(left))} could not be set; deleted", where
            )
        return record


def _bare(error: CloudError) -> str:
    """The error's message without its ``where:`` prefix (the new error adds its own)."""
    text = str(error)
    prefix = f"{error.where}: " if error.where else ""
    return text[len(prefix) :] if prefix and text.startswith(prefix) else text


def metadata_changes(record: ImageRecord, spec: ImageSpec) -> dict[str, Any]:
    """What ``update_image`` must set on *record* so that it says what *spec* says."""
    changes: dict[str, Any] = {}
    for key in ("name", "visibility", "min_disk", "min_ram"):
        if getattr(record, key) != getattr(spec, key):
            changes[key] = getattr(spec, key)
    if sorted(record.tags) != sorted(spec.tags):
        changes["tags"] = list(spec.tags)
    for key, value in spec.properties.items():
        if record.properties.get(key) != value:
            changes[key] = value
    return changes
