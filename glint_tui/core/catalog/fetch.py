"""Downloading an upstream image into the spool: resumed, retried, verified, or nothing.

``fetch(url, dest, expected)`` is the whole interface: a URL, the final path, the digest
the bytes must have. The bytes go to a locked partial file beside *dest* (``partial``),
in bounded chunks (memory does not grow with the image), while sha512 — the content key —
and upstream's own algorithm are computed on the fly. Then:

* a dropped connection is retried with backoff (``web.RetryPolicy``), asking for the rest
  with ``Range`` (and ``If-Range``, so a file that changed upstream is sent whole again);
  a server that answers 200 instead of 206 (no range support) is read again from the start;
* no byte for ``Timeouts.stream`` seconds counts as a drop (the socket's read timeout);
* the file is handed on (renamed to *dest*) only when its digest is the expected one; a
  mismatch deletes it and raises ``DataMismatch`` — nothing was created anywhere, because
  nothing is uploaded from a file that is not at *dest*. One mismatch after a resume is
  read again from scratch first (a resumed file is the one case glint itself may have
  mixed two versions of a file).
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import humanize
import requests

from glint_tui.core.catalog.entries import Checksum
from glint_tui.core.catalog.partial import CHUNK, Digests, Partial, PartialBusy, hash_file
from glint_tui.core.catalog.web import (
    RetryPolicy,
    UpstreamError,
    check_status,
    new_session,
    translate,
)
from glint_tui.core.errors import DataMismatch, GlintError
from glint_tui.core.safetext import escape
from glint_tui.core.timeouts import Timeouts

Progress = Callable[[int, "int | None"], None]
"""Called with (bytes so far, total or None) as bytes arrive."""

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


@dataclass(frozen=True)
class Fetched:
    """A verified file at ``path``: its size, sha512, and the checksum it matched."""

    path: Path
    size: int
    sha512: str
    checksum: Checksum
    attempts: int = 1
    resumed: int = 0  # requests answered 206 (continued where the last one dropped)
    reused: bool = False  # *dest* was already there and verified: nothing downloaded

    @property
    def content_key(self) -> str:
        return f"sha512:{self.sha512}"


class Cancelled(GlintError):
    """The caller asked the download to stop; the partial file stays for a resume."""

    exit_code = 130


def fetch(
    url: str,
    dest: Path,
    expected: Checksum,
    *,
    size: int | None = None,
    timeouts: Timeouts | None = None,
    policy: RetryPolicy | None = None,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
    on_progress: Progress | None = None,
    cancel: threading.Event | None = None,
    chunk_size: int = CHUNK,
) -> Fetched:
    """Download *url* to *dest*, verified against *expected* (and *size* when known).

    Raises:
        DataMismatch: the bytes are not the expected ones (the file is deleted).
        UpstreamError: the mirror failed permanently, or transiently too often.
        Cancelled: *cancel* was set.
        GlintError: the spool directory cannot be written (full, read-only).
    """
    dest = Path(dest)
    if dest.exists():
        digests = hash_file(dest, expected.algo)
        if digests.hex(expected.algo) == expected.hex:
            return Fetched(dest, dest.stat().st_size, digests.hex("sha512"), expected, 0, 0, True)
        dest.unlink()
    partial = Partial(dest, "fetch")
    try:
        partial.open()
    except PartialBusy:
        raise UpstreamError(
            "another glint run is downloading it now", url, transient=True
        ) from None
    except OSError as e:
        raise GlintError(f"cannot write into {dest.parent}: {e.strerror or e}") from None
    own = session is None
    options = _Options(size, timeouts or Timeouts(), policy or RetryPolicy(), sleep,
                       on_progress, cancel, chunk_size)  # fmt: skip
    download = _Download(url, partial, expected, options, session or new_session())
    try:
        return download.run()
    except OSError as e:  # the spool's disk: full or gone read-only
        partial.discard()
        raise GlintError(f"cannot write {partial.path}: {e.strerror or e}") from None
    finally:
        partial.close()
        if own:
            download.http.close()


@dataclass(frozen=True)
class _Options:
    """How one fetch behaves (``fetch``'s keyword arguments)."""

    size: int | None
    timeouts: Timeouts
    policy: RetryPolicy
    sleep: Callable[[float], None]
    on_progress: Progress | None
    cancel: threading.Event | None
    chunk_size: int


class _Download:
    """One fetch's state across its attempts."""

    def __init__(
        self,
        url: str,
        partial: Partial,
        expected: Checksum,
        options: _Options,
        http: requests.Session,
    ) -> None:
        self.url, self.partial, self.expected = url, partial, expected
        self.opt, self.http = options, http
        self.total: int | None = options.size
        self.validator: str | None = None
        self.ranges = True  # until the server says "Accept-Ranges: none"
        self.attempts = 0
        self.resumed = 0
        self.offset = partial.size()
        # bytes a killed run left: hashed first, then continued (checked like any resume)
        self.digests = hash_file(partial.path, expected.algo) if self.offset else None
        self.digests = self.digests or Digests(expected.algo)
        self.resumed_any = self.offset > 0

    def run(self) -> Fetched:
        self._until_complete()
        if self._matches() or not self.resumed_any:
            return self._verified()
        self._restart()  # a resumed file that does not match: read it whole once more
        self.resumed_any = False
        self._until_complete()
        return self._verified()

    def _matches(self) -> bool:
        return self.digests.hex(self.expected.algo) == self.expected.hex

    def _verified(self) -> Fetched:
        if not self._matches():
            got = self.digests.hex(self.expected.algo)
            self.partial.discard()
            raise DataMismatch(
                f"the downloaded file's {self.expected.algo} is {got[:16]}…, upstream's "
                f"checksum is {self.expected.hex[:16]}…: refused and deleted (nothing was "
                "created anywhere)",
                escape(self.url),
            )
        path = self.partial.publish()
        return Fetched(
            path,
            self.offset,
            self.digests.hex("sha512"),
            self.expected,
            self.attempts,
            self.resumed,
        )

    def _restart(self) -> None:
        self.partial.truncate()
        self.offset = 0
        self.digests = Digests(self.expected.algo)
        self.validator = None

    def _until_complete(self) -> None:
        failures = 0
        while True:
            before = self.offset
            self.attempts += 1
            try:
                self._attempt()
                return
            except (requests.RequestException, UpstreamError) as exc:
                error = translate(exc, self.url)
                if not error.transient:
                    raise error from None
                failures = 1 if self.offset > before else failures + 1
                if (
                    failures >= self.opt.policy.attempts
                    or self.attempts >= self.opt.policy.max_attempts
                ):
                    raise UpstreamError(
                        f"{error.detail} (gave up after {self.attempts} attempts, "
                        f"{self.offset} bytes in)",
                        self.url,
                    ) from None
                self.opt.sleep(self.opt.policy.delay(failures))

    def _attempt(self) -> None:
        headers = {}
        if self.offset and self.ranges:
            headers["Range"] = f"bytes={self.offset}-"
            if self.validator:
                headers["If-Range"] = self.validator
        elif self.offset:
            self._restart()
        timeout = self.opt.timeouts.for_download
        with self.http.get(self.url, stream=True, timeout=timeout, headers=headers) as response:
            if response.status_code == 416 and self.offset:
                self._past_the_end(response)
                return
            check_status(response, self.url)
            self._start(response)
            try:
                for chunk in response.iter_content(self.opt.chunk_size):
                    self._take(chunk)
            except requests.RequestException as exc:
                raise self._dropped(exc) from None
        if self.total is not None and self.offset < self.total:
            raise UpstreamError(
                f"the connection closed after {self.offset} of {self.total} bytes",
                self.url,
                transient=True,
            )

    def _dropped(self, exc: requests.RequestException) -> UpstreamError:
        """A stream that failed mid-way: a stall (no byte for the stream deadline) or a drop."""
        if "timed out" in str(exc).lower():
            what = f"no byte arrived for {self.opt.timeouts.stream:g} s"
        else:
            what = "the connection dropped"
        return UpstreamError(f"{what} at {self.offset} bytes", self.url, transient=True)

    def _start(self, response: requests.Response) -> None:
        """Where this response's bytes go: after ours (206) or from the start (200)."""
        if response.headers.get("Accept-Ranges", "").lower() == "none":
            self.ranges = False
        if response.status_code == 206:
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if not match or int(match[1]) != self.offset:
                self._restart()
                raise UpstreamError("answered a range request wrongly", self.url, transient=True)
            total = None if match[3] == "*" else int(match[3])
            self.resumed += 1
        else:
            if self.offset:
                self._restart()  # the whole file again: no range support, or it changed
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            etag = response.headers.get("ETag")
            strong = etag if etag and not etag.startswith("W/") else None
            self.validator = strong or response.headers.get("Last-Modified")
        if total is not None:
            self._check_total(total)

    def _check_total(self, total: int) -> None:
        if self.opt.size is not None and total != self.opt.size:
            raise UpstreamError(
                f"is {total} bytes, the catalog says {self.opt.size}: not the listed file", self.url
            )
        self.total = total
        free = shutil.disk_usage(self.partial.path.parent).free
        if total - self.offset > free:
            raise GlintError(
                f"not enough space in {self.partial.path.parent} for {escape(self.url)}: needs "
                f"{humanize.naturalsize(total - self.offset, binary=True)}, has "
                f"{humanize.naturalsize(free, binary=True)}"
            )

    def _take(self, chunk: bytes) -> None:
        if self.opt.cancel is not None and self.opt.cancel.is_set():
            raise Cancelled(f"{escape(self.url)}: download cancelled at {self.offset} bytes")
        self.partial.append(chunk)
        self.digests.update(chunk)
        self.offset += len(chunk)
        if self.total is not None and self.offset > self.total:
            raise UpstreamError(f"sent more than the {self.total} bytes it announced", self.url)
        if self.opt.on_progress is not None:
            self.opt.on_progress(self.offset, self.total)

    def _past_the_end(self, response: requests.Response) -> None:
        """416 to ``Range: bytes=N-``: the partial already holds the whole file when the
        server says its length is N; anything else starts over."""
        match = re.match(r"^bytes \*/(\d+)$", response.headers.get("Content-Range", ""))
        if match and int(match[1]) == self.offset:
            self.total = self.offset
            return
        self._restart()
        raise UpstreamError("refused the range asked for", self.url, transient=True)
