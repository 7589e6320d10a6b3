"""Building the login: a Keystone v3 auth plugin, a keystoneauth session that times each
request by kind, and the openstacksdk connection on it.

Sessions are lazy: nothing is sent to Keystone until first use. Auth types: ``password``,
``application_credential`` (username = its id) and ``token`` (a pre-issued token, for
scripts and tests; it cannot be renewed). The HTTP libraries' own log lines are kept off
the terminal (``quiet_library_loggers``, run when the adapter is imported).
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

import requests
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from openstack import connection

from glint_tui.core import errors
from glint_tui.core.clouds.openstack.translate import (
    PROVIDER_ERRORS,
    is_html,
    status_of,
    translate_error,
)
from glint_tui.core.errors import CloudError, ConfigError
from glint_tui.core.model import Credential, Repository
from glint_tui.core.timeouts import Timeouts

AUTH_TYPES = ("password", "application_credential", "token")
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


def tls_verify(repository: Repository) -> bool | str:
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


IDEMPOTENT = frozenset({"GET", "HEAD"})
RETRY_DELAY = 0.2  # seconds before the one retry of a dropped connection


class TimedSession(ks_session.Session):
    """A keystoneauth session that picks each request's (connect, read) timeout by kind.

    A request that names its own ``timeout`` (the byte streams) keeps it; Keystone's token
    API (a login, or the re-login keystoneauth does by itself inside any call) gets
    ``Timeouts.for_auth``; everything else, openstacksdk's own calls and version
    discovery included, gets ``Timeouts.for_api``. requests takes the (connect, read)
    pair as is; keystoneauth's own ``timeout`` attribute (one float) is left unset. A read
    or a login whose connection is closed before any answer is tried once more.
    """

    def __init__(self, *, timeouts: Timeouts, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timeouts = timeouts

    def request(self, url: str, method: str, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        is_token = url.rstrip("/").endswith(TOKEN_PATH)
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeouts.for_auth if is_token else self.timeouts.for_api
        try:
            return super().request(url, method, **kwargs)
        except ks_exc.ConnectFailure:
            # A connection closed before any answer (a server recycling a worker, a load
            # balancer dropping an idle connection) is tried once more where that cannot do
            # anything twice: a read, or a login (a second token is harmless). Timeouts are
            # not ConnectFailures: a hung server still fails at its deadline, once
            # (keystoneauth's own connect_retries would retry timeouts too).
            if not (method.upper() in IDEMPOTENT or is_token):
                raise
            time.sleep(RETRY_DELAY)
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
        verify=tls_verify(repository),
        app_name="glint",
        timeouts=timeouts or Timeouts(),
    )


def build_connection(repository: Repository, session: ks_session.Session) -> connection.Connection:
    """An openstacksdk Connection on *session* that never reads clouds.yaml or OS_* vars."""
    kwargs: dict[str, Any] = {"interface": repository.interface}
    if repository.region:
        kwargs["region_name"] = repository.region
    return connection.Connection(session=session, **kwargs)


def diagnose_login(
    exc: BaseException,
    repository: Repository,
    credential: Credential,
    secret: str,
    *,
    timeouts: Timeouts,
    service: Callable[[str | None], str],
) -> CloudError:
    """Why a login (or re-login) failed, precisely: Keystone answers 401 for a bad
    password AND for a bad project, so a second, unscoped login tells them apart."""
    cred = credential
    where = str(credential.ref)
    status = status_of(exc) or 0
    auth_url = repository.auth_url
    if status >= 500:
        return errors.ServerError(f"Keystone at {auth_url} failed (HTTP {status})", where)
    # Keystone answers 404 (in JSON) for a token or application credential it cannot
    # find; a 404 page in HTML, or any other status, means the URL is not Keystone's.
    keystone_404 = status == 404 and not is_html(exc)
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
    unscoped = build_keystone_session(repository, cred, secret, scoped=False, timeouts=timeouts)
    try:
        unscoped.get_token()
    except PROVIDER_ERRORS as second:
        if status_of(second) == 401:
            return errors.AuthenticationFailed(
                f"wrong user name or password for {cred.username}", where, 401
            )
        return translate_error(
            second, where=where, what="log in", service=service,
            waited=timeouts.for_auth,
        )  # fmt: skip
    finally:
        unscoped.session.close()
    return errors.ProjectNotFound(
        f"project {cred.project} (domain {cred.project_domain}) does not exist or "
        f"{cred.username} has no role on it",
        where,
        401,
    )
