"""OpenStack adapter: Keystone v3 login + Glance v2 through openstacksdk's image proxy.

The only module in glint that imports ``openstack``/``keystoneauth1``. It has four parts:

* ``build_keystone_session`` turns a Repository + Credential + secret into a keystoneauth
  session (nothing is sent until first use: sessions are lazy). Auth types: ``password``,
  ``application_credential`` (username = its id) and ``token`` (a pre-issued token, for
  scripts and tests; it cannot be renewed).
* ``translate_error`` maps every provider failure (keystoneauth exceptions are *not*
  openstacksdk ``SDKException``s, and requests errors can escape while a stream is read)
  to one glint ``CloudError`` with a human message that never contains the secret.
* ``image_record`` turns a Glance image into glint's ``ImageRecord``.
* ``OpenStackSession`` implements ``CloudSession``; each public method runs inside
  ``_calls(...)``, the one place where errors are translated.

Property rule (``image_record``): ``properties`` holds every image attribute that is not a
Glance base attribute (``BASE_ATTRIBUTES``: the schema's core and read-only fields such as
id, status, size, checksum, os_hash_*, os_hidden, locations, direct_url, stores, file,
schema, self) and not in Glance's reserved ``os_glance_`` namespace. Everything else the
user (or a tool) set is kept, including ``owner_specified.*`` and well-known ones such as
``os_distro`` or ``hw_*``: they are what a faithful copy must carry.
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from openstack import connection
from openstack import exceptions as os_exc
from openstack.image.v2 import image as os_image

from glint_tui.core import errors
from glint_tui.core.cloudid import CloudIdentity, identity_from_catalog
from glint_tui.core.clouds.base import ImageSpec, Member, ProjectInfo, Reader
from glint_tui.core.errors import CloudError, ConfigError, GlintError
from glint_tui.core.model import Credential, ImageRecord, Repository
from glint_tui.core.timeouts import Timeouts

AUTH_TYPES = ("password", "application_credential", "token")
# The last-resort mask only replaces secrets this long: masking "x" would mangle messages.
MIN_MASKED_SECRET = 6

# Glance's own attributes (image schema core + read-only/computed ones). Anything else on an
# image is a user property and is copied with it.
BASE_ATTRIBUTES = frozenset(
    {
        "id", "name", "status", "visibility", "protected", "os_hidden", "owner",
        "checksum", "os_hash_algo", "os_hash_value", "size", "virtual_size",
        "min_ram", "min_disk", "disk_format", "container_format", "tags",
        "created_at", "updated_at", "self", "file", "schema", "direct_url",
        "locations", "stores", "properties",
    }
)  # fmt: skip
RESERVED_PREFIXES = ("os_glance_",)

# Attributes update_image() accepts by glint name -> Glance name; other keys are properties.
PUBLIC_ISH = ("public", "community")  # visible to every project

CORE_UPDATES = {
    "name": "name",
    "visibility": "visibility",
    "owner": "owner",  # admin only: restore puts the original owner back
    "protected": "protected",
    "hidden": "os_hidden",
    "min_disk": "min_disk",
    "min_ram": "min_ram",
    "tags": "tags",
    "disk_format": "disk_format",
    "container_format": "container_format",
}

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
TOKEN_PATH = "/auth/tokens"

# The libraries' own log lines (keystoneauth's "Failed to contact the endpoint … Fallback
# to using that endpoint", urllib3's retries, openstacksdk's notices) describe a failure
# glint reports itself, as one line that says what to do. Without a handler they would
# reach the terminal through Python's last-resort handler (or glint-backup's root
# logging), so they go nowhere. glint's own loggers are not touched.
LIBRARY_LOGGERS = ("keystoneauth", "keystoneauth1", "openstack", "stevedore", "urllib3")


def quiet_library_loggers() -> None:
    """Keep the HTTP libraries' log chatter off the terminal (idempotent)."""
    for name in LIBRARY_LOGGERS:
        log = logging.getLogger(name)
        log.propagate = False
        if not any(isinstance(h, logging.NullHandler) for h in log.handlers):
            log.addHandler(logging.NullHandler())


quiet_library_loggers()


# -- connection ---------------------------------------------------------------------------
def _verify(repository: Repository) -> bool | str:
    """TLS verification: a CA bundle path, False only when the repository says insecure."""
    if repository.insecure:
        return False
    if repository.ca_bundle and not os.path.isfile(repository.ca_bundle):
        # requests would raise a bare OSError deep inside the first request
        raise ConfigError(
            f"repository {repository.name}: CA bundle {repository.ca_bundle} is not a file"
        )
    return repository.ca_bundle or True


_PROJECT_ID = re.compile(r"[0-9a-f]{32}")


def _auth_plugin(
    repository: Repository, credential: Credential, secret: str, *, scoped: bool = True
) -> v3.Auth:
    """A Keystone v3 plugin for the credential; ``scoped=False`` drops the project."""
    url = repository.auth_url
    if credential.auth_type == "password":
        scope: dict[str, str] = {}
        if scoped and _PROJECT_ID.fullmatch(credential.project):
            # clouds.yaml entries may name the project by id only (Keystone ids are 32 hex)
            scope = {"project_id": credential.project}
        elif scoped:
            scope = {
                "project_name": credential.project,
                "project_domain_name": credential.project_domain,
            }
        return v3.Password(
            auth_url=url,
            username=credential.username,
            password=secret,
            user_domain_name=credential.user_domain,
            **scope,
        )
    if credential.auth_type == "application_credential":
        # An application credential is bound to its project: no scope to pass.
        return v3.ApplicationCredential(
            auth_url=url,
            application_credential_id=credential.username,
            application_credential_secret=secret,
        )
    if credential.auth_type == "token":
        # A pre-issued token (scripting, tests); it cannot be renewed when it expires.
        return v3.Token(
            auth_url=url,
            token=secret,
            project_name=credential.project,
            project_domain_name=credential.project_domain,
        )
    raise ConfigError(
        f"credential {credential.ref}: unknown auth type {credential.auth_type!r} "
        f"(expected one of {', '.join(AUTH_TYPES)})"
    )


class TimedSession(ks_session.Session):
    """A keystoneauth session that picks each request's (connect, read) timeout by kind.

    A request that names its own ``timeout`` (the byte streams) keeps it; Keystone's token
    API (a login, or the re-login keystoneauth does by itself inside any call) gets
    ``Timeouts.for_auth``; everything else, openstacksdk's own calls and version
    discovery included, gets ``Timeouts.for_api``. requests takes the (connect, read)
    pair as is; keystoneauth's own ``timeout`` attribute (one float) is left unset.
    """

    def __init__(self, *, timeouts: Timeouts, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timeouts = timeouts

    def request(self, url: str, method: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if kwargs.get("timeout") is None:
            is_token = url.rstrip("/").endswith(TOKEN_PATH)
            kwargs["timeout"] = self.timeouts.for_auth if is_token else self.timeouts.for_api
        return super().request(url, method, **kwargs)


def build_keystone_session(
    repository: Repository,
    credential: Credential,
    secret: str,
    *,
    scoped: bool = True,
    timeouts: Timeouts | None = None,
) -> TimedSession:
    """A lazy keystoneauth session: nothing is sent to Keystone until first use."""
    return TimedSession(
        auth=_auth_plugin(repository, credential, secret, scoped=scoped),
        verify=_verify(repository),
        app_name="glint",
        timeouts=timeouts or Timeouts(),
    )


def build_connection(repository: Repository, session: ks_session.Session) -> connection.Connection:
    """An openstacksdk Connection on *session* that never reads clouds.yaml or OS_* vars."""
    kwargs: dict[str, Any] = {"interface": repository.interface}
    if repository.region:
        kwargs["region_name"] = repository.region
    return connection.Connection(session=session, **kwargs)


# -- errors -------------------------------------------------------------------------------
def _status(exc: BaseException) -> int | None:
    for attr in ("status_code", "http_status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None) if response is not None else None


def _raw_detail(exc: BaseException) -> str:
    text = getattr(exc, "details", None) or ""
    return (text if isinstance(text, str) else str(text)).strip()


def _is_html(exc: BaseException) -> bool:
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
    status = _status(exc)
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


# -- records ------------------------------------------------------------------------------
def image_record(image: os_image.Image | dict[str, Any]) -> ImageRecord:
    """glint's record for an openstacksdk Image or Glance's JSON for one (see the module
    docstring for which attributes count as properties)."""
    if isinstance(image, os_image.Image):  # (a Resource is also a dict: test it first)
        raw = image.to_dict(original_names=True, computed=False, headers=False)
    else:
        raw = dict(image)
    extra = dict(raw.get("properties") or {})
    extra.update(raw)
    properties = {
        key: value
        for key, value in extra.items()
        if value is not None
        and key not in BASE_ATTRIBUTES
        and not key.startswith(RESERVED_PREFIXES)
    }
    return ImageRecord(
        id=raw["id"],
        name=raw.get("name") or "",
        owner=raw.get("owner"),
        visibility=raw.get("visibility") or "private",
        protected=bool(raw.get("protected")),
        status=raw.get("status") or "",
        size=raw.get("size"),
        disk_format=raw.get("disk_format"),
        container_format=raw.get("container_format"),
        min_disk=raw.get("min_disk") or 0,
        min_ram=raw.get("min_ram") or 0,
        tags=tuple(raw.get("tags") or ()),
        properties=properties,
        checksum=raw.get("checksum"),
        os_hash_algo=raw.get("os_hash_algo"),
        os_hash_value=raw.get("os_hash_value"),
        created_at=raw.get("created_at"),
        updated_at=raw.get("updated_at"),
        hidden=bool(raw.get("os_hidden")),
    )


# -- streams ------------------------------------------------------------------------------
class _ShortSource(Exception):
    """The upload reader ended before the declared size."""


class _SizedBody:
    """Upload body: iterates exactly *size* bytes of *reader* in chunks.

    ``len()`` makes requests send ``Content-Length`` instead of chunked encoding, and
    iterating keeps at most one chunk in memory. Errors from the reader are remembered, so
    they are not mistaken for network errors after urllib3 wraps them.
    """

    def __init__(self, reader: Reader, size: int, chunk_size: int):
        self.reader = reader
        self.size = size
        self.chunk_size = chunk_size
        self.sent = 0
        self.error: BaseException | None = None

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < self.size:
            try:
                chunk = self.reader.read(min(self.chunk_size, self.size - self.sent))
            except BaseException as exc:
                self.error = exc
                raise
            if not chunk:
                self.error = _ShortSource(
                    f"the source ended after {self.sent} of {self.size} bytes"
                )
                raise self.error
            self.sent += len(chunk)
            yield chunk


class OpenStackDownload:
    """A streamed image download; verifies size and hash as the bytes go by.

    Iterate it once for the chunks; a checksum or size mismatch raises ``DataMismatch``
    after the last chunk; always ``close()`` it (also closes the HTTP connection).
    """

    def __init__(
        self,
        response: requests.Response,
        record: ImageRecord,
        chunk_size: int,
        calls: Callable[[], Any],
        verify: bool,
        where: str,
    ):
        self.record = record
        self.where = where
        self.size: int | None = record.size
        self._response = response
        self._chunk_size = chunk_size
        self._calls = calls
        self._hasher: Any = None
        self._expected: str | None = None
        if verify:
            if record.os_hash_algo and record.os_hash_value:
                with contextlib.suppress(ValueError):  # an algorithm Python lacks: use md5
                    self._hasher = hashlib.new(record.os_hash_algo)
                    self._expected = record.os_hash_value
            if self._hasher is None and record.checksum:
                self._hasher = hashlib.md5(usedforsecurity=False)
                self._expected = record.checksum
        self.received = 0

    def __iter__(self) -> Iterator[bytes]:
        chunks = self._response.iter_content(self._chunk_size)
        while True:
            with self._calls():
                chunk = next(chunks, None)
            if chunk is None:
                break
            if not chunk:
                continue
            self.received += len(chunk)
            if self._hasher is not None:
                self._hasher.update(chunk)
            yield chunk
        self._finish()

    def _finish(self) -> None:
        where = self.where
        if self.size is not None and self.received != self.size:
            raise errors.DataMismatch(
                f"image {self.record.id} sent {self.received} of {self.size} bytes"
                + (" (its data is missing from the store?)" if self.received == 0 else ""),
                where,
            )
        if self._hasher is not None and self._hasher.hexdigest() != self._expected:
            raise errors.DataMismatch(
                f"image {self.record.id}: downloaded bytes do not match its "
                f"{self._hasher.name} checksum (corrupted in the store?)",
                where,
            )

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> OpenStackDownload:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the session --------------------------------------------------------------------------
class OpenStackSession:
    """A lazily logged-in session on one (repository, project) of an OpenStack cloud."""

    def __init__(
        self,
        repository: Repository,
        credential: Credential,
        secret: str,
        *,
        page_size: int | None = None,
        upload_chunk_size: int = 1 << 20,
        timeouts: Timeouts | None = None,
    ):
        self.repository = repository
        self.credential = credential
        self.page_size = page_size
        self.upload_chunk_size = upload_chunk_size
        self._secret = secret
        self._session = build_keystone_session(
            repository, credential, secret, timeouts=timeouts or Timeouts()
        )
        self._conn: connection.Connection | None = None
        self._logged_in = False

    @property
    def timeouts(self) -> Timeouts:
        """How long each kind of call may take (``core.timeouts``)."""
        return self._session.timeouts

    @timeouts.setter
    def timeouts(self, value: Timeouts) -> None:
        self._session.timeouts = value

    def __repr__(self) -> str:  # never shows the secret
        return f"<OpenStackSession {self.where} as {self.credential.username}>"

    @property
    def where(self) -> str:
        return str(self.credential.ref)

    # -- errors ---------------------------------------------------------------------------
    def _service(self, url: str | None) -> str:
        """Name the endpoint a URL belongs to, for messages."""
        auth = self.repository.auth_url.rstrip("/")
        if url and auth.startswith(url.rstrip("/")):
            return f"Keystone at {url}"
        if url:
            return f"the image service at {url}"
        # no URL in the error (e.g. a stream cut mid-read): after login it is Glance
        return "the image service" if self._logged_in else f"Keystone at {auth}"

    @property
    def _endpoint(self) -> str:
        region = f"region {self.repository.region}" if self.repository.region else "any region"
        return f"{self.repository.interface} image endpoint in {region}"

    def _clean(self, error: GlintError) -> GlintError:
        """Last guard: a message must never carry the secret."""
        if len(self._secret) >= MIN_MASKED_SECRET and self._secret in str(error):
            error.args = tuple(str(a).replace(self._secret, "***") for a in error.args)
        return error

    @contextmanager
    def _calls(self, what: str, waited: tuple[float, float] | None = None) -> Iterator[None]:
        """Run provider calls, turning every failure into one glint error; *waited* is the
        (connect, read) timeout they were given (default: an API call's), for messages."""
        try:
            yield
        except GlintError:
            raise
        except PROVIDER_ERRORS as exc:
            if self._is_login_failure(exc):
                raise self._clean(self._diagnose_login(exc)) from exc
            t = self.timeouts
            if TOKEN_PATH in str(exc) or not self._logged_in:
                waited = t.for_auth  # the login (or a re-login inside this call) hung
            error = translate_error(
                exc,
                where=self.where,
                what=what,
                service=self._service,
                endpoint=self._endpoint,
                waited=waited or t.for_api,
            )
            raise self._clean(error) from exc

    def _is_login_failure(self, exc: BaseException) -> bool:
        """An HTTP error from Keystone's token API (a login or re-login), not from Glance."""
        if _status(exc) is None:
            return False
        return not self._logged_in or "/auth/tokens" in str(getattr(exc, "url", "") or "")

    def _diagnose_login(self, exc: BaseException) -> CloudError:
        """Keystone answers 401 for a bad password AND for a bad project: tell them apart."""
        cred = self.credential
        where = self.where
        status = _status(exc) or 0
        auth_url = self.repository.auth_url
        if status >= 500:
            return errors.ServerError(f"Keystone at {auth_url} failed (HTTP {status})", where)
        # Keystone answers 404 (in JSON) for a token or application credential it cannot
        # find; a 404 page in HTML, or any other status, means the URL is not Keystone's.
        keystone_404 = status == 404 and not _is_html(exc)
        if status != 401 and not (keystone_404 and cred.auth_type != "password"):
            return errors.Unreachable(
                f"no Keystone v3 API at {auth_url} (HTTP {status}): check the auth URL", where
            )
        if cred.auth_type == "token":
            return errors.AuthenticationFailed(
                "the token was refused (expired, revoked or invalid)", where, status
            )
        if cred.auth_type == "application_credential":
            return errors.AuthenticationFailed(
                f"application credential {cred.username} was refused "
                f"(unknown id, wrong secret, expired or deleted)",
                where,
                status,
            )
        unscoped = build_keystone_session(
            self.repository, cred, self._secret, scoped=False, timeouts=self.timeouts
        )
        try:
            unscoped.get_token()
        except PROVIDER_ERRORS as second:
            if _status(second) == 401:
                return errors.AuthenticationFailed(
                    f"wrong user name or password for {cred.username}", where, 401
                )
            return translate_error(
                second, where=where, what="log in", service=self._service,
                waited=self.timeouts.for_auth,
            )  # fmt: skip
        finally:
            unscoped.session.close()
        return errors.ProjectNotFound(
            f"project {cred.project} (domain {cred.project_domain}) does not exist or "
            f"{cred.username} has no role on it",
            where,
            401,
        )

    # -- login ----------------------------------------------------------------------------
    def _login(self) -> None:
        with self._calls("log in"):
            self._session.get_token()
        self._logged_in = True

    @property
    def conn(self) -> connection.Connection:
        if self._conn is None:
            self._login()
            self._conn = build_connection(self.repository, self._session)
        return self._conn

    @property
    def project_id(self) -> str:
        self.conn  # noqa: B018 - logs in
        with self._calls("read the project id"):
            project_id = self._session.get_project_id()
        if not project_id:
            raise errors.ProjectNotFound("the login is not scoped to a project", self.where)
        return project_id

    def _is_admin(self) -> bool:
        self.conn  # noqa: B018 - logs in
        with self._calls("read the roles"):
            access = self._session.auth.get_access(self._session)
        return "admin" in (access.role_names or [])

    def is_admin(self) -> bool:
        """Whether the login carries Keystone's admin role (Glance then lists every project)."""
        return self._is_admin()

    # -- identity -------------------------------------------------------------------------
    def cloud_identity(self) -> CloudIdentity:
        """Which physical cloud this is, from the token's catalog (no extra request)."""
        url = self._catalog_image_url()
        with self._calls("read the service catalog"):
            access = self._session.auth.get_access(self._session)
        return identity_from_catalog(access.service_catalog.catalog or [], url)

    def _catalog_image_url(self) -> str:
        """The catalog's image endpoint for this repository's interface and region."""
        self.conn  # noqa: B018 - logs in
        with self._calls("find the image endpoint"):
            url = self._session.get_endpoint(
                service_type="image",
                interface=self.repository.interface,
                region_name=self.repository.region,
                skip_discovery=True,
            )
        if not url:
            raise errors.NoImageEndpoint(f"the catalog has no {self._endpoint}", self.where)
        return url

    def check(self) -> None:
        """Log in and reach the image service now; the error says precisely what is wrong."""
        conn = self.conn
        catalog_url = self._catalog_image_url()
        try:
            with self._calls("reach the image service"):
                next(iter(conn.image.images(limit=1)), None)
        except errors.Unreachable:
            raise self._probe(catalog_url) from None

    def _probe(self, url: str) -> CloudError:
        """Glance did not give a usable API: is it down, or is the catalog URL wrong?"""
        try:
            requests.get(url, timeout=self.timeouts.for_api, verify=_verify(self.repository))
        except requests.exceptions.RequestException:
            return errors.Unreachable(
                f"the image service at {url} is not answering (Glance down?)", self.where
            )
        return errors.NoImageEndpoint(
            f"{url} (the catalog's image endpoint) answers but offers no Image API v2",
            self.where,
        )

    # -- listing --------------------------------------------------------------------------
    def list_projects(self) -> list[ProjectInfo]:
        """Projects the user may scope to (``GET /v3/auth/projects``: allowed for members)."""
        conn = self.conn
        with self._calls("list projects"):
            response = conn.identity.get("/auth/projects")
            os_exc.raise_from_response(response)
            projects = response.json().get("projects", [])
        return sorted(
            (ProjectInfo(p["id"], p["name"], p.get("domain_id")) for p in projects),
            key=lambda p: p.name,
        )

    def list_images(
        self, *, all_projects: bool = False, member_status: str = "all", name: str | None = None
    ) -> Iterator[ImageRecord]:
        """Every image the project sees: all pages, ``visibility=all``, hidden ones too.

        Glance lists hidden images only when asked for them, so both lists are fetched.
        ``member_status=all`` includes shares not yet accepted. An admin's plain listing
        covers every project in Glance, so without *all_projects* it is narrowed to what
        the project owns plus public and community images (shares to an admin's project
        are not listed then). ``name`` lists only images of exactly that name.
        """
        narrow = not all_projects and self._is_admin()
        project_id = self.project_id if narrow else None
        query: dict[str, Any] = {"visibility": "all", "member_status": member_status}
        if name is not None and not name.startswith("in:"):  # Glance reads "in:a,b" as a list
            query["name"] = name
        if self.page_size:
            query["limit"] = self.page_size
        seen: set[str] = set()
        for hidden in (False, True):
            for raw in self._image_pages({**query, "os_hidden": hidden}):
                record = image_record(raw)
                if record.id in seen or (name is not None and record.name != name):
                    continue
                if narrow and record.owner != project_id and record.visibility not in PUBLIC_ISH:
                    continue
                seen.add(record.id)
                yield record

    def _image_pages(self, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """Glance's image list, page by page, as plain JSON.

        openstacksdk's Resource objects cost about 1.5 s of CPU per 1000 images, most of a
        no-op backup run; Glance's JSON goes straight into glint records instead.
        """
        conn = self.conn
        page: dict[str, Any] | None = params
        while page is not None:
            with self._calls("list images"):
                response = conn.image.get("/images", params=page)
                os_exc.raise_from_response(response)
                body = response.json()
            yield from body.get("images", [])
            link = body.get("next")
            page = {**params, **dict(parse_qsl(urlsplit(link).query))} if link else None

    def get_image(self, image_id: str) -> ImageRecord:
        conn = self.conn
        with self._calls(f"get image {image_id}"):
            return image_record(conn.image.get_image(image_id))

    # -- data -----------------------------------------------------------------------------
    def download(
        self, image_id: str, chunk_size: int = 1 << 20, *, verify: bool = True
    ) -> OpenStackDownload:
        """Open a streamed download (``stream=True``: one chunk in memory at a time)."""
        record = self.get_image(image_id)
        if record.status != "active":
            raise errors.Conflict(
                f"image {image_id} is {record.status}, it has no data to download", self.where
            )
        conn = self.conn
        what, waited = f"download image {image_id}", self.timeouts.for_download
        with self._calls(what, waited):
            # the read timeout is the stream's no-progress deadline: each chunk must come
            # within it, however long the whole download takes
            response = conn.image.get(f"/images/{image_id}/file", stream=True, timeout=waited)
            try:
                os_exc.raise_from_response(response)
            except BaseException:
                response.close()
                raise

        def calls() -> Any:
            return self._calls(what, waited)

        return OpenStackDownload(response, record, chunk_size, calls, verify, self.where)

    def create_image(self, spec: ImageSpec) -> ImageRecord:
        """Create the queued record only (openstacksdk's create_image would also upload,
        and adds its own owner_specified.openstack.* properties)."""
        attrs: dict[str, Any] = {
            "name": spec.name,
            "disk_format": spec.disk_format,
            "container_format": spec.container_format,
            "visibility": spec.visibility,
            "min_disk": spec.min_disk,
            "min_ram": spec.min_ram,
            "tags": list(spec.tags),
        }
        if spec.image_id:
            attrs["id"] = spec.image_id
        for key, value in spec.properties.items():
            if key in BASE_ATTRIBUTES or key.startswith(RESERVED_PREFIXES):
                raise errors.BadRequest(f"{key!r} cannot be set on an image", self.where)
            attrs[key] = value
        conn = self.conn
        with self._calls(f"create image {spec.name!r}"):
            response = conn.image.post("/images", json=attrs)
            os_exc.raise_from_response(response)
            raw = response.json()
        return image_record(raw)

    def upload(self, image_id: str, reader: Reader, size: int) -> None:
        """Stream *size* bytes into a queued image, with the size sent; never buffered.

        Glance can leave the image ``queued`` without an HTTP error when it refuses the data
        (e.g. bytes that do not match ``disk_format``), so the status is checked after.
        """
        body = _SizedBody(reader, size, self.upload_chunk_size)
        headers = {
            "Content-Type": "application/octet-stream",
            "X-OpenStack-Image-Size": str(size),
        }
        conn = self.conn
        waited = self.timeouts.for_upload
        try:
            with self._calls(f"upload image {image_id}", waited):
                # connect_retries=0: a retry would resend a half-consumed reader.
                # timeout: the no-progress deadline of each write and of the answer.
                response = conn.image.put(
                    f"/images/{image_id}/file",
                    data=body,
                    headers=headers,
                    connect_retries=0,
                    timeout=waited,
                )
                os_exc.raise_from_response(response)
        except BaseException:
            if isinstance(body.error, _ShortSource):
                raise errors.DataMismatch(
                    f"upload of image {image_id}: {body.error}", self.where
                ) from None
            if body.error is not None:
                raise body.error from None
            raise
        record = self.get_image(image_id)
        if record.status != "active":
            raise errors.BadRequest(
                f"Glance did not accept the data for image {image_id}: it is {record.status} "
                f"(does the data match disk_format {record.disk_format}?)",
                self.where,
            )

    # -- metadata -------------------------------------------------------------------------
    def update_image(self, image_id: str, **attrs: Any) -> ImageRecord:
        """Set attributes/properties BY ID with one JSON patch; other properties stay.

        Keys in ``CORE_UPDATES`` (glint names) are Glance attributes; any other key is a
        property; a value of None removes that property. (openstacksdk's update_image
        with an Image object would drop the other properties: RECIPE §5.6.)
        """
        ops: list[dict[str, Any]] = []
        for key, value in attrs.items():
            if key in CORE_UPDATES:
                ops.append({"op": "replace", "path": f"/{CORE_UPDATES[key]}", "value": value})
            elif key in BASE_ATTRIBUTES or key.startswith(RESERVED_PREFIXES):
                raise errors.BadRequest(f"{key!r} cannot be set on an image", self.where)
            elif value is None:
                ops.append({"op": "remove", "path": f"/{key}"})
            else:
                ops.append({"op": "add", "path": f"/{key}", "value": value})
        if not ops:
            return self.get_image(image_id)
        conn = self.conn
        with self._calls(f"update image {image_id}"):
            response = conn.image.patch(
                f"/images/{image_id}",
                json=ops,
                headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
            )
            os_exc.raise_from_response(response)
            raw = response.json()
        return image_record(raw)

    def delete_image(self, image_id: str) -> None:
        conn = self.conn
        with self._calls(f"delete image {image_id}"):
            conn.image.delete_image(image_id, ignore_missing=False)

    def list_members(self, image_id: str) -> list[Member]:
        """One GET, plain JSON (a backup lists the members of every shared image each run:
        openstacksdk's Resource objects cost a third more per call)."""
        conn = self.conn
        with self._calls(f"list the members of image {image_id}"):
            response = conn.image.get(f"/images/{image_id}/members")
            os_exc.raise_from_response(response)
            rows = response.json().get("members", [])
        return [Member(m["member_id"], m["status"]) for m in rows]

    def add_member(self, image_id: str, project_id: str) -> Member:
        conn = self.conn
        with self._calls(f"share image {image_id} with project {project_id}"):
            member = conn.image.add_member(image_id, member=project_id)
        return Member(member.member_id, member.status)

    def update_member_status(self, image_id: str, member_id: str, status: str) -> Member:
        """Accept or reject a share as the member project (accepted, rejected, pending)."""
        conn = self.conn
        with self._calls(f"set the share of image {image_id} to {status}"):
            member = conn.image.update_member(member_id, image_id, status=status)
        return Member(member.member_id, member.status)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._session.session.close()

    def __enter__(self) -> OpenStackSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_session(
    repository: Repository,
    credential: Credential,
    secret: str,
    *,
    timeouts: Timeouts | None = None,
) -> OpenStackSession:
    """A lazy session: nothing is sent until the first call (``check()`` logs in now)."""
    return OpenStackSession(repository, credential, secret, timeouts=timeouts)
