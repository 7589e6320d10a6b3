"""Where a copy's bytes come from: a ``Source`` the fan-out reads once per attempt.

Today a copy's source is an image in a cloud (``CloudImageSource``) or a file on this
host (``LocalFileSource``: ``glint upload FILE`` and a catalog's fetched upstream file
build on it). Every source answers the same three questions, so the fan-out, the spool,
the verification and the journal never ask which kind it is:

* ``check()`` — is it usable now, and what are its facts (formats, properties, the hash
  the bytes must have), as an ``ImageRecord``; raises the glint error that says why not;
* ``open(chunk_size)`` — a fresh stream of its bytes (``SourceStream``);
* ``spool`` — whether a retry should rather read the spool's copy (a cloud: yes, so one
  flaky destination never reads the source twice; a local file: no, it is local already).

A new kind (an HTTP URL fetched with resume, an EC2 snapshot read block by block) is one
more class here and one more branch in ``source_for``.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from glint_tui.core.actions import CopyAction, FileImage
from glint_tui.core.clouds.base import CloudSession
from glint_tui.core.errors import Conflict, DataMismatch, ImageNotFound
from glint_tui.core.model import ImageRecord, ProjectRef

OpenSession = Callable[[ProjectRef], CloudSession]


@dataclass
class SourceStream:
    """An open stream of a source's bytes: iterate ``chunks`` once, then ``close()``."""

    chunks: Iterable[bytes]
    close: Callable[[], None]


class Source(Protocol):
    """The bytes of one copy action, however they are reached."""

    where: str  # where errors happened, for messages ("c1:alpha", "file /srv/x.img")
    label: str  # what the bytes are, for messages ("source image 1f3…", "file /srv/x.img")
    damage_hint: str  # the likely cause of a hash mismatch, for messages
    spool: bool  # tee the stream to the spool so retries need not read this source again
    journal: dict[str, str]  # what the journal records as the source of each copy

    def check(self) -> ImageRecord:
        """The source's facts as it is now.

        Returns:
            A record with the formats, min disk/RAM, tags and properties a copy carries,
            and the hash its bytes must have (``os_hash_algo``/``os_hash_value``, and the
            md5 ``checksum`` where known).
        Raises:
            GlintError: the source is gone, not usable (not ``active``), or not the
                content the plan was made for.
        """
        ...

    def open(self, chunk_size: int) -> SourceStream:
        """A new stream of the bytes, in chunks of about *chunk_size*.

        Raises:
            GlintError: the stream could not be opened.
        """
        ...


class CloudImageSource:
    """An image in a cloud, read through a session (Glance's ``/file`` download)."""

    spool = True
    damage_hint = "corrupted in the store?"

    def __init__(
        self, open_session: OpenSession, ref: ProjectRef, image_id: str, content_key: str
    ) -> None:
        self._open_session = open_session
        self.ref = ref
        self.image_id = image_id
        self.content_key = content_key
        self.where = str(ref)
        self.label = f"source image {image_id}"
        self.journal = {"source": str(ref), "source_image_id": image_id}

    def check(self) -> ImageRecord:
        with self._open_session(self.ref) as session:
            record = session.get_image(self.image_id)
        if record.status != "active":
            raise Conflict(f"source image {record.id} is {record.status}, not active", self.where)
        if record.content_key != self.content_key:
            raise DataMismatch(
                f"source image {record.id} changed since the plan was made", self.where
            )
        return record

    def open(self, chunk_size: int) -> SourceStream:
        session = self._open_session(self.ref)
        try:
            # glint hashes the stream itself (once, for every destination): verify=False
            download = session.download(self.image_id, chunk_size, verify=False)
        except BaseException:
            session.close()
            raise

        def close() -> None:
            with contextlib.suppress(Exception):  # a failed close must not hide the outcome
                download.close()
            session.close()

        return SourceStream(download, close)


class LocalFileSource:
    """A file on this host: its bytes are read from disk, never spooled (a retry reads
    the file again); the image made from it carries *image* (formats, limits, tags,
    properties). The plan gives its content key (the caller hashed it to plan the copy);
    the stream is hashed again as it goes, so a file that changed meanwhile never becomes
    an active image."""

    spool = False
    damage_hint = "changed while glint read it?"

    def __init__(
        self,
        path: Path,
        content_key: str,
        *,
        name: str,
        disk_format: str | None = None,
        image: FileImage | None = None,
    ) -> None:
        algo, _, value = content_key.partition(":")
        self.path = path
        self.content_key = content_key
        self.name = name
        self.disk_format = disk_format
        self.image = image or FileImage()
        self._algo, self._value = algo, value
        self.where = f"file {path}"
        self.label = f"file {path}"
        self.journal = {"source": f"file {path}"}

    def check(self) -> ImageRecord:
        try:
            size = os.stat(self.path).st_size
        except FileNotFoundError:
            raise ImageNotFound(f"{self.path} does not exist", self.where) from None
        except OSError as e:
            raise Conflict(f"cannot read {self.path}: {e.strerror}", self.where) from None
        return ImageRecord(
            id=str(self.path),
            name=self.name,
            status="active",
            size=size,
            disk_format=self.disk_format,
            container_format=self.image.container_format,
            min_disk=self.image.min_disk,
            min_ram=self.image.min_ram,
            tags=self.image.tags,
            properties=dict(self.image.properties),
            checksum=self._value if self._algo == "md5" else None,
            os_hash_algo=self._algo if self._algo != "md5" else None,
            os_hash_value=self._value if self._algo != "md5" else None,
        )

    def open(self, chunk_size: int) -> SourceStream:
        try:
            file = open(self.path, "rb")  # noqa: SIM115 - closed by the stream's close
        except OSError as e:
            raise Conflict(f"cannot read {self.path}: {e.strerror}", self.where) from None

        def chunks() -> Iterator[bytes]:
            while block := file.read(chunk_size):
                yield block

        return SourceStream(chunks(), file.close)


def source_for(action: CopyAction, open_session: OpenSession) -> Source:
    """The source a copy action names: a local file, else an image in a cloud."""
    if action.source_file is not None:
        return LocalFileSource(
            Path(action.source_file),
            action.content_key,
            name=action.name,
            disk_format=action.disk_format,
            image=action.file_image,
        )
    assert action.source is not None and action.source_image_id is not None
    return CloudImageSource(open_session, action.source, action.source_image_id, action.content_key)
