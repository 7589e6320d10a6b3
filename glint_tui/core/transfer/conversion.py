"""A copy whose destinations take another disk format: converted once, on this host.

The source's bytes come from the engine's spool when a copy of the same run left them
there (the plan puts the original-format copy first, so the source is read once), else
they are downloaded into ``<spool>/convert/`` and hashed on the way; either way they must
match the source's hash before ``qemu-img`` reads them. The converted file is then the
copy's source, a ``LocalFileSource`` like ``glint upload``'s: its own sha512 is its content
key at the destination, and the image carries the source's sha512 and format
(``glint_source_sha512``, ``glint_converted_from``, as a catalog's converted copy does) so
the matrix shows it in its source's row. Files are removed when the copy is over (a
killed run's, a day later, at the next conversion's start).
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import replace
from pathlib import Path

from glint_tui.core.actions import CopyAction, FileImage
from glint_tui.core.catalog.convert import convert
from glint_tui.core.catalog.partial import Partial, PartialBusy, hash_file
from glint_tui.core.errors import Conflict
from glint_tui.core.model import CONVERTED_FROM_PROPERTY, SOURCE_SHA512_PROPERTY, ImageRecord
from glint_tui.core.spool import Spool
from glint_tui.core.transfer.context import RunContext
from glint_tui.core.transfer.control import Cancelled, CancelScope
from glint_tui.core.transfer.sources import Source
from glint_tui.core.transfer.verify import check_stream, expectation_for

CONVERT_DIR = "convert"
LEFTOVER_AGE = 24 * 3600.0  # seconds: a file a killed run left in CONVERT_DIR


def converting(action: CopyAction) -> str | None:
    """The format *action*'s destinations get converted to here, or None."""
    return action.targets[0].convert_to if action.targets else None


class Conversion:
    """The files of one converted copy (see the module docstring)."""

    def __init__(self, ctx: RunContext, action: CopyAction, source: Source) -> None:
        self.ctx, self.action, self.source = ctx, action, source
        self.dir = Path(ctx.paths.spool_dir) / CONVERT_DIR
        self.made: list[Path] = []  # removed by ``close``
        self.source_reads = 0  # 1 when the spool did not have the source's bytes
        # this run's own files: another run converting the same image never shares them
        self._name = f"{action.content_key.replace(':', '-')}-{uuid.uuid4().hex[:12]}.img"

    def run(self, cancel: CancelScope) -> CopyAction:
        """The action rewritten to copy the converted file (its size, content key, format
        and the properties naming its source).

        Raises:
            GlintError: the source is unusable or its bytes do not match its hash, or
                qemu-img refused or failed (``ConversionFailed``); nothing was uploaded.
        """
        action, fmt = self.action, converting(self.action)
        assert fmt is not None and action.disk_format is not None
        facts = self.source.check()
        # leftovers of killed runs go after a day; never by size (a file may be in use)
        Spool(self.dir, cap_bytes=1 << 62, max_age=LEFTOVER_AGE).clean()
        original = self._original(facts, cancel)
        dest = self.dir / f"{fmt}-from-{self._name}"
        self.made.append(dest)
        out = convert(original, action.disk_format, fmt, dest)
        source_sha512 = action.content_key.split(":", 1)[1]
        properties = {
            **facts.properties,
            SOURCE_SHA512_PROPERTY: source_sha512,
            CONVERTED_FROM_PROPERTY: action.disk_format,
        }
        image = FileImage(
            facts.container_format, facts.min_disk, facts.min_ram, facts.tags, properties
        )
        return replace(
            action,
            content_key=out.content_key,
            size=out.size,
            disk_format=fmt,
            source_file=str(out.path),
            file_image=image,
        )

    def _original(self, facts: ImageRecord, cancel: CancelScope) -> Path:
        """A local file holding the source's bytes, checked against its hash."""
        action = self.action
        expect = expectation_for(facts, action.size, action.content_key, self.source.where)
        spool = self.ctx.spool
        cached = spool.get(action.content_key, action.size) if spool is not None else None
        if cached is not None:
            if hash_file(cached, expect.algo).hex(expect.algo) == expect.expected:
                self.ctx.notice(f"{action.name}: converting the spool's copy (checked)", action.id)
                return cached
            assert spool is not None
            spool.remove(action.content_key)  # rotted on disk: read the source again
        dest = self.dir / self._name
        partial = Partial(dest, "download")
        try:
            partial.open()
        except PartialBusy:
            busy = f"another glint run is downloading {action.name} now"
            raise Conflict(busy, self.source.where) from None
        try:
            partial.truncate()
            hasher, total = expect.hasher(), 0
            stream = self.source.open(self.ctx.options.chunk_size)
            self.source_reads += 1
            try:
                for chunk in stream.chunks:
                    if cancel.is_set():
                        raise Cancelled()
                    hasher.update(chunk)
                    partial.append(chunk)
                    total += len(chunk)
            finally:
                stream.close()
            expect.digest = hasher.hexdigest()
            source = self.source
            check_stream(expect, total, source.label, source.damage_hint, source.where)
            self.made.append(dest)
            self.ctx.notice(f"{action.name}: downloaded and checked for conversion", action.id)
            return partial.publish()
        except BaseException:
            partial.discard()
            raise

    def close(self) -> None:
        """Remove the files this conversion made (the spool's own entry stays)."""
        for path in self.made:
            with contextlib.suppress(OSError):
                path.unlink()
        self.made.clear()
