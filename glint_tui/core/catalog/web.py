"""HTTP(S) to upstream mirrors: one error type, one retry policy, bounded reads.

Mirrors are not clouds: their failures are ``UpstreamError`` (with ``transient`` set per
failure: a refused connection, a timeout, a dropped stream, HTTP 5xx/429/408 are worth
retrying; 404, 403 or a TLS failure are not). TLS verification is always on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests

from glint_tui.core.errors import GlintError
from glint_tui.core.safetext import escape
from glint_tui.core.timeouts import Timeouts

T = TypeVar("T")
USER_AGENT = "glint (image catalog)"
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class UpstreamError(GlintError):
    """An upstream mirror did not give glint what it needed; ``where`` is the URL."""

    def __init__(self, message: str, where: str, *, transient: bool = False):
        self.where = where
        self.detail = message  # without the URL
        self.transient = transient
        super().__init__(f"{escape(where)}: {message}")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently glint asks a mirror again.

    ``attempts`` in a row that make no progress end a download; an attempt that moved
    bytes starts the count again (a mirror that drops every few GiB still finishes), up
    to ``max_attempts`` in all. Waits double from ``first_delay`` up to ``max_delay``."""

    attempts: int = 5
    max_attempts: int = 50
    first_delay: float = 1.0
    max_delay: float = 30.0

    def delay(self, failures: int) -> float:
        """Seconds to wait after the *failures*-th failure in a row (1-based)."""
        return min(self.max_delay, self.first_delay * 2 ** max(0, failures - 1))


def new_session() -> requests.Session:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return session


def translate(exc: Exception, url: str) -> UpstreamError:
    """A requests/urllib3 failure as an UpstreamError saying what happened."""
    if isinstance(exc, UpstreamError):
        return exc
    if isinstance(exc, requests.exceptions.SSLError):
        return UpstreamError("TLS verification failed (the mirror's certificate)", url)
    if isinstance(exc, requests.exceptions.Timeout):
        return UpstreamError("no answer in time (timed out)", url, transient=True)
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return UpstreamError("the connection dropped mid-transfer", url, transient=True)
    if isinstance(exc, requests.exceptions.ConnectionError):
        return UpstreamError("cannot connect (refused, reset or no route)", url, transient=True)
    if isinstance(exc, requests.exceptions.InvalidURL):
        return UpstreamError("not a URL requests can open", url)
    return UpstreamError(f"{type(exc).__name__}: {escape(str(exc))}", url, transient=True)


def check_status(response: requests.Response, url: str) -> None:
    """Raise the UpstreamError for an HTTP error status (transient where retrying helps)."""
    code = response.status_code
    if code < 400:
        return
    reason = escape(response.reason or "")
    raise UpstreamError(f"HTTP {code} {reason}".strip(), url, transient=code in _RETRY_STATUSES)


def with_retries(
    call: Callable[[], T],
    url: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """*call* until it succeeds, a permanent error, or ``policy.attempts`` transient ones."""
    failures = 0
    while True:
        try:
            return call()
        except (requests.RequestException, UpstreamError) as exc:
            error = translate(exc, url)
            failures += 1
            if not error.transient or failures >= policy.attempts:
                raise _gave_up(error, failures) from None
            sleep(policy.delay(failures))


def _gave_up(error: UpstreamError, failures: int) -> UpstreamError:
    if failures <= 1:
        return error
    return UpstreamError(f"{error.detail} (gave up after {failures} attempts)", error.where)


def get_text(
    url: str,
    *,
    max_bytes: int = 4 << 20,
    timeouts: Timeouts | None = None,
    policy: RetryPolicy | None = None,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> str:
    """A small text document (a checksum file), at most *max_bytes*, UTF-8."""
    timeouts = timeouts or Timeouts()
    own = session is None
    http = session or new_session()

    def once() -> bytes:
        with http.get(url, stream=True, timeout=timeouts.for_api) as response:
            check_status(response, url)
            body = bytearray()
            for chunk in response.iter_content(64 << 10):
                body += chunk
                if len(body) > max_bytes:
                    raise UpstreamError(f"larger than {max_bytes >> 20} MiB", url)
            return bytes(body)

    try:
        data = with_retries(once, url, policy or RetryPolicy(), sleep)
    finally:
        if own:
            http.close()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UpstreamError(f"not UTF-8 text (byte offset {e.start})", url) from None
