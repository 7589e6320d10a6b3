"""A catalog run's bytes on this host, before anything is created in any cloud.

Each new version is fetched once (``fetch``: resumed where the mirror allows, checked
against the checksum file — a mismatch is deleted and nothing is uploaded), then
converted once per disk format a cloud wants (``convert``: ``qemu-img``, the converted
file's own sha512 is its content key there). Only then do the uploads become engine copies
from these local files (``copies_for``), fanned out to every target like any copy.

Why fetch first rather than stream the mirror into the fan-out: a converted copy needs the
whole file on disk anyway (qemu-img does not stream), a file that failed its checksum must
never be the source of any upload (with a stream, every destination would hold a complete,
active-able image by the time the last byte's hash is known), and the fetch resumes a
dropped download where a stream would start over. The cost is one local write and read
of each new version (``bench/catalog_apply.py`` measures it against ``glint copy``).

The files live in ``<spool>/catalog/`` as spool entries of their own (``Spool`` on that
directory: unlocked partials of killed runs swept and old files dropped at each catalog
run's start, never during one), so the engine's spool housekeeping cannot remove a file a
copy is reading.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from glint_tui.core.actions import CopyAction, CopyTarget, FileImage, Plan
from glint_tui.core.catalog.convert import convert
from glint_tui.core.catalog.entries import Checksum
from glint_tui.core.catalog.fetch import Fetched, fetch
from glint_tui.core.catalog.naming import SOURCE_SHA512
from glint_tui.core.catalog.steps import Upload
from glint_tui.core.errors import GlintError
from glint_tui.core.events import CopyProgress, Event, Notice
from glint_tui.core.spool import Spool
from glint_tui.core.timeouts import Timeouts

CATALOG_DIR = "catalog"
PROGRESS_EVERY = 0.5  # seconds between fetch progress events


@dataclass(frozen=True)
class Staged:
    """One upload's file, ready to copy: its size and content key (the converted file's
    own sha512 when converted), and the upstream file's sha512."""

    upload_id: str
    path: Path
    size: int
    content_key: str
    source_sha512: str


class Stager:
    """Fetches and converts the uploads of one catalog run (see the module docstring)."""

    def __init__(
        self,
        spool_dir: Path,
        *,
        timeouts: Timeouts | None = None,
        emit: Callable[[Event], None] = lambda event: None,
        cancel: threading.Event | None = None,
        max_age: float | None = None,
    ) -> None:
        self.spool = Spool(Path(spool_dir) / CATALOG_DIR)
        if max_age is not None:
            self.spool.max_age = max_age
        self.timeouts = timeouts or Timeouts()
        self.emit = emit
        self.cancel = cancel

    def stage(self, uploads: list[Upload]) -> tuple[dict[str, Staged], dict[str, GlintError]]:
        """(upload id -> its staged file, upload id -> why it has none). One fetch per
        upstream file, one conversion per (file, format)."""
        self.spool.clean()
        staged: dict[str, Staged] = {}
        failed: dict[str, GlintError] = {}
        groups: dict[tuple[str, str], list[Upload]] = {}
        for upload in uploads:
            groups.setdefault((upload.url, upload.checksum), []).append(upload)
        for group in groups.values():
            if self.cancel is not None and self.cancel.is_set():
                break
            try:
                fetched = self._fetch(group[0])
            except GlintError as e:
                failed.update({u.id: e for u in group})
                continue
            converted: dict[str, Staged] = {}
            for upload in group:
                try:
                    staged[upload.id] = self._for(upload, fetched, converted)
                except GlintError as e:
                    failed[upload.id] = e
        return staged, failed

    def _fetch(self, upload: Upload) -> Fetched:
        checksum = Checksum.parse(upload.checksum)
        dest = self.spool.path_of(str(checksum))
        what = f"{upload.entry} {upload.version}"
        self.emit(Notice(f"fetching {what} from {upload.url}", upload.id))
        progress = _FetchProgress(self.emit, upload.id, f"fetch {what}")
        fetched = fetch(
            upload.url,
            dest,
            checksum,
            size=upload.size,
            timeouts=self.timeouts,
            on_progress=progress,
            cancel=self.cancel,
        )
        how = "already here, checked" if fetched.reused else "fetched and checked"
        if fetched.resumed:
            how += f", resumed {fetched.resumed}x"
        self.emit(Notice(f"{what}: {how} against {checksum.algo} of the checksum file", upload.id))
        return fetched

    def _for(self, upload: Upload, fetched: Fetched, converted: dict[str, Staged]) -> Staged:
        if upload.convert_from is None:
            return Staged(
                upload.id, fetched.path, fetched.size, fetched.content_key, fetched.sha512
            )
        done = converted.get(upload.disk_format)
        if done is None:
            self.emit(Notice(f"converting {upload.entry} {upload.version} to {upload.disk_format}"))
            dest = self.spool.dir / f"{upload.disk_format}-from-sha512-{fetched.sha512}.img"
            out = convert(fetched.path, upload.source_format, upload.disk_format, dest)
            done = Staged(upload.id, out.path, out.size, out.content_key, fetched.sha512)
            converted[upload.disk_format] = done
        return Staged(upload.id, done.path, done.size, done.content_key, done.source_sha512)


class _FetchProgress:
    """Fetch progress as the engine's ``CopyProgress`` (the printers show a bar)."""

    def __init__(self, emit: Callable[[Event], None], action_id: str, name: str) -> None:
        self.emit, self.action_id, self.name = emit, action_id, name
        self.start = time.monotonic()
        self.last = 0.0

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_EVERY and done != total:
            return
        self.last = now
        rate = done / max(now - self.start, 1e-6)
        eta = (total - done) / rate if total and rate > 0 else None
        self.emit(CopyProgress(self.action_id, self.name, done, total, rate, eta))


def copies_for(uploads: list[Upload], staged: dict[str, Staged]) -> Plan:
    """The engine's plan: one copy per staged upload, from its local file, carrying the
    catalog's properties (and the source's sha512, learnt while fetching if upstream
    vouched with another algorithm)."""
    plan = Plan()
    for upload in uploads:
        ready = staged.get(upload.id)
        if ready is None:
            continue
        properties = {**upload.properties, SOURCE_SHA512: ready.source_sha512}
        plan.copies.append(
            CopyAction(
                id=upload.id,
                name=upload.targets[0].name,
                content_key=ready.content_key,
                size=ready.size,
                source=None,
                source_image_id=None,
                targets=tuple(
                    CopyTarget(t.ref, t.name, None, t.cloud, t.project_id) for t in upload.targets
                ),
                disk_format=upload.disk_format,
                visibility=upload.visibility,
                source_file=str(ready.path),
                file_image=FileImage(
                    upload.container_format,
                    upload.min_disk,
                    upload.min_ram,
                    tuple(upload.tags),
                    properties,
                ),
            )
        )
    return plan
