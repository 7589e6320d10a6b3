"""Error translation: every provider failure as one glint ``CloudError``.

keystoneauth exceptions are *not* openstacksdk ``SDKException``s, and requests errors can
escape while a stream is read, so all three families are mapped here, by kind (timeouts,
TLS, connections never made versus dropped, missing endpoints) and then by HTTP status.
Messages are human, say what glint was doing, and never contain the secret (the session
masks it once more before raising).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import requests
from keystoneauth1 import exceptions as ks_exc
from openstack import exceptions as os_exc

from glint_tui.core import errors
from glint_tui.core.errors import CloudError

PROVIDER_ERRORS = (
    ks_exc.ClientException,
    os_exc.SDKException,
    requests.exceptions.RequestException,
)

# A connection error whose text says the socket never opened means "unreachable"; any other
# connection error happened mid-request (dropped, reset, truncated) and is a server error.
_NEVER_CONNECTED = re.compile(
    r"Failed to establish a new connection|Connection refused|Name or service not known|"
    r"NameResolution|nodename nor servname|No route to host|Network is unreachable",
    re.IGNORECASE,
)
_CONNECTION_ERRORS = (
    ks_exc.ConnectionError,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
)
_URL = re.compile(r"https?://[^\s/'\"]+")
_TIMED_OUT = re.compile(r"timed out", re.IGNORECASE)


def status_of(exc: BaseException) -> int | None:
    for attr in ("status_code", "http_status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) if response is not None else None


def _raw_detail(exc: BaseException) -> str:
    text = getattr(exc, "details", None) or ""
    return (text if isinstance(text, str) else str(text)).strip()


def is_html(exc: BaseException) -> bool:
    """An HTML error page: the answer came from a web server, not an OpenStack API."""
    return _raw_detail(exc).startswith("<")


def _detail(exc: BaseException) -> str:
    """The server's own explanation, one short line (Glance HTML-escapes it)."""
    text = re.sub(r"<[^>]*>", " ", _raw_detail(exc))
    text = re.sub(r"\s+", " ", html.unescape(text)).strip()
    text = re.sub(r"^\d{3} [A-Za-z ]+: ", "", text)  # Glance repeats "404 Not Found: "
    return text[:300]


def _host_of(exc: BaseException) -> str | None:
    match = _URL.search(str(exc))
    return match.group(0) if match else None


def _timed_out(exc: BaseException) -> str | None:
    """Which timeout *exc* is, if any: ``connect``, ``read`` (keystoneauth raises
    ConnectTimeout for both; the requests exception it replaced tells them apart)."""
    chain = [exc, exc.__cause__, exc.__context__]
    if any(isinstance(e, requests.exceptions.ConnectTimeout) for e in chain):
        return "connect"
    if isinstance(exc, (ks_exc.ConnectTimeout, requests.exceptions.Timeout)):
        return "read"
    if isinstance(exc, _CONNECTION_ERRORS) and _TIMED_OUT.search(str(exc)):
        return "read"  # a stream's read or write timed out mid-transfer
    return None


def translate_error(
    exc: BaseException,
    *,
    where: str,
    what: str,
    service: Callable[[str | None], str],
    endpoint: str = "image endpoint",
    waited: tuple[float, float] | None = None,
) -> CloudError:
    """One glint error for any openstacksdk/keystoneauth/requests failure.

    *what* says what glint was doing ("list images"), *service* names the endpoint a URL
    belongs to ("Keystone at http://…"), *endpoint* describes the catalog entry sought
    ("public image endpoint in region R"), *waited* the (connect, read) timeouts the call
    had, for the message. 401s are diagnosed by the session before this is reached when
    they come from a login; here a 401 means the token was refused.
    """
    timed_out = _timed_out(exc)
    if timed_out is not None:
        seconds = ""
        if waited is not None:
            seconds = f" within {waited[0 if timed_out == 'connect' else 1]:.0f} s"
        verb = "accept a connection" if timed_out == "connect" else "answer"
        return errors.Unreachable(
            f"{service(_host_of(exc))} did not {verb}{seconds} while trying to {what}", where
        )
    status = status_of(exc)
    detail = _detail(exc)
    suffix = f": {detail}" if detail else ""

    if isinstance(
        exc, (os_exc.ServiceDisabledException, ks_exc.EndpointNotFound, os_exc.EndpointNotFound)
    ):
        return errors.NoImageEndpoint(f"the catalog has no {endpoint}", where)
    if isinstance(exc, os_exc.NotSupported):
        return errors.Unreachable(
            f"the image service did not answer with a usable API version while trying to "
            f"{what} (is Glance down?)",
            where,
        )
    if isinstance(exc, (ks_exc.SSLError, requests.exceptions.SSLError)):
        return errors.Unreachable(
            f"TLS handshake with {service(_host_of(exc))} failed (wrong CA bundle, or a "
            f"self-signed certificate?)",
            where,
        )
    if isinstance(exc, _CONNECTION_ERRORS):
        if _NEVER_CONNECTED.search(str(exc)):
            return errors.Unreachable(f"cannot connect to {service(_host_of(exc))}", where)
        return errors.ServerError(
            f"connection to {service(_host_of(exc))} dropped while trying to {what}", where
        )
    if isinstance(exc, ks_exc.DiscoveryFailure):
        return errors.Unreachable(
            f"no Keystone v3 API found at {service(_host_of(exc))} ({exc.__class__.__name__})",
            where,
        )
    if isinstance(exc, os_exc.InvalidResponse) and "checksum" in str(exc).lower():
        return errors.DataMismatch(f"checksum mismatch while trying to {what}", where)
    if isinstance(exc, ks_exc.AuthPluginException):
        return errors.AuthenticationFailed(f"cannot log in: {exc}", where)

    if status is not None:
        return _by_status(status, where=where, what=what, suffix=suffix)
    return errors.ServerError(f"failed to {what} ({exc.__class__.__name__})", where)


def _by_status(status: int, *, where: str, what: str, suffix: str) -> CloudError:
    table: dict[int, type[CloudError]] = {
        400: errors.BadRequest,
        401: errors.AuthenticationFailed,
        403: errors.PermissionDenied,
        404: errors.ImageNotFound,
        409: errors.Conflict,
        413: errors.QuotaExceeded,
    }
    words = {
        400: "the cloud refused to",
        401: "the cloud refused the session's token while trying to",
        403: "not allowed to",
        404: "cannot",
        409: "cannot",
        413: "over quota or too large: cannot",
    }
    if status == 410:  # Glance: the image changed state under an upload (a race): retry
        return errors.ServerError(f"the image changed while trying to {what}{suffix}", where, 410)
    if status in table:
        return table[status](f"{words[status]} {what}{suffix}", where, status)
    if status >= 500:
        return errors.ServerError(
            f"server error {status} while trying to {what}{suffix}", where, status
        )
    return errors.BadRequest(f"HTTP {status} while trying to {what}{suffix}", where, status)
