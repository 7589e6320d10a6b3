"""Turn ``REPO:PROJECT`` into a logged-in cloud session, from the config and the keyring.

Every caller that needs a configured cloud (inventory, engine, reconcile, the use cases
in ``core.services``) goes through ``SessionProvider`` so "which credential, which secret,
what if one is missing" is answered in one place with messages that say which command
fixes it. ``SessionSource`` is what the engine and the inventory need of it, and
``open_serialized`` is how they open sessions from many threads at once.
"""

from __future__ import annotations

import json
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from glint_tui.core.clouds import open_session
from glint_tui.core.clouds.base import CloudSession
from glint_tui.core.config import ConfigStore, insecure_warning
from glint_tui.core.errors import CloudError, ConfigError, Unreachable
from glint_tui.core.model import SECRETLESS_AUTH_TYPES, Credential, ProjectRef, Repository
from glint_tui.core.notices import log_warning
from glint_tui.core.paths import Paths, paths_for
from glint_tui.core.safetext import escape
from glint_tui.core.secrets import SecretStore
from glint_tui.core.timeouts import SETTING as TIMEOUTS_SETTING
from glint_tui.core.timeouts import Timeouts

_WARNED_INSECURE: set[str] = set()


class SessionSource(Protocol):
    """What inventory, transfer and reconcile need from a ``SessionProvider``."""

    def refs(self) -> list[ProjectRef]: ...

    def open(self, ref: ProjectRef) -> CloudSession: ...


_OPEN_LOCK = threading.Lock()


def open_serialized(source: SessionSource, ref: ProjectRef) -> CloudSession:
    """Open a session with one secret lookup at a time.

    Opening is cheap (sessions are lazy) but reads the keyring, which may derive a key
    (scrypt: tens of MiB and a CPU burst) or prompt; done from many threads at once that
    would multiply memory and CPU. The network calls that follow run in parallel.
    """
    with _OPEN_LOCK:
        return source.open(ref)


class SessionProvider:
    """Opens sessions for configured ``REPO:PROJECT`` refs (caller closes each session)."""

    def __init__(
        self,
        paths: Paths | None = None,
        secrets: SecretStore | None = None,
        warn: Callable[[str], None] | None = None,
    ):
        self.paths = paths or paths_for()
        self.secrets = secrets or SecretStore(self.paths)
        self.config = ConfigStore(self.paths, secrets=self.secrets, warn=warn)
        self._warn = warn or log_warning
        self._timeouts: Timeouts | None = None

    @property
    def timeouts(self) -> Timeouts:
        """Call timeouts of every session opened here: defaults, or the profile's
        ``settings.json`` ``"timeouts"`` (read once; a bad value is a ConfigError)."""
        if self._timeouts is None:
            value = self.config.get_setting(TIMEOUTS_SETTING)
            self._timeouts = Timeouts.from_setting(value, str(self.paths.settings_file))
        return self._timeouts

    def refs(self) -> list[ProjectRef]:
        """Every configured column (a credential, or one per region of an EC2
        repository), sorted."""
        return self.config.columns()

    def resolve(self, ref: ProjectRef | str) -> tuple[Repository, Credential, str]:
        """Repository (with ``region`` set to the column's, for a region column),
        credential and secret for *ref* (``""`` when the credential keeps none in the
        keyring: an AWS profile or the environment), or a ConfigError saying how to fix it.
        A repository that names its regions (EC2) takes only those; an OpenStack repository
        with no region pinned takes any region its catalog lists (one column per region)."""
        ref = ProjectRef.parse(ref) if isinstance(ref, str) else ref
        repo = self.config.get_repository(ref.repository)
        if repo.regions and ref.region not in repo.regions:
            have = ", ".join(repo.regions)
            raise ConfigError(
                f"{ref}: repository {repo.name} has no region {ref.region!r} (regions: "
                f"{have}; add one with `glint repository edit {repo.name} --region R`)"
            )
        if ref.region is not None:
            repo = replace(repo, region=ref.region)
        cred = self.config.get_credential(ref)
        if cred.auth_type in SECRETLESS_AUTH_TYPES:
            return repo, cred, ""
        secret = self.secrets.get(cred.secret_key)
        if secret is None:
            raise ConfigError(
                f"{ref}: no secret in the keyring ({self.secrets.describe()}); store it with "
                f"`glint credentials add {cred.ref} {_who_option(cred)} {cred.username}`"
            )
        return repo, cred, secret

    def open(self, ref: ProjectRef | str) -> CloudSession:
        """A lazy session for *ref*; call ``check()`` on it to log in right away."""
        ref = ProjectRef.parse(ref) if isinstance(ref, str) else ref
        repo, cred, secret = self.resolve(ref)
        if repo.insecure and repo.name not in _WARNED_INSECURE:
            _WARNED_INSECURE.add(repo.name)
            self._warn(insecure_warning(repo))
        column = ref if ref.region is not None else None
        return open_session(repo, cred, secret, timeouts=self.timeouts, column=column)


def _who_option(cred: Credential) -> str:
    """The ``credentials add`` option that names *cred*'s user (for hints)."""
    return {
        "access_key": "--access-key-id",
        "application_credential": "--app-credential",
    }.get(cred.auth_type, "--username")


def _ssl_context(repo: Repository) -> ssl.SSLContext:
    if repo.insecure:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    return ssl.create_default_context(cafile=repo.ca_bundle or None)


def probe_endpoint(repo: Repository, timeout: float = 10.0) -> str:
    """Check that an EC2-compatible endpoint answers HTTP at all (any status: without a
    key it refuses every call); Unreachable when nothing answers."""
    url = repo.endpoint_url or ""
    context = _ssl_context(repo) if url.startswith("https:") else None
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=context):
            pass
    except urllib.error.HTTPError:
        pass  # it answered
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise Unreachable(f"cannot reach {url}: {reason}", f"repository {repo.name}") from None
    return f"endpoint {url} answers"


def probe_keystone(repo: Repository, timeout: float = 10.0) -> str:
    """Check that *repo*'s auth URL is a Keystone answering version discovery.

    Used before saving a repository, when there is no credential to log in with yet.
    Returns the identity API version found (e.g. ``v3.14``); raises Unreachable when
    nothing answers and CloudError when something that is not Keystone v3 does.
    """
    request = urllib.request.Request(repo.auth_url, headers={"Accept": "application/json"})
    where = f"repository {repo.name}"
    context = _ssl_context(repo) if repo.auth_url.startswith("https:") else None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            body = response.read(1 << 20)
    except urllib.error.HTTPError as e:
        if e.code != 300:  # Keystone's root answers "300 Multiple Choices" with its versions
            raise CloudError(
                f"{repo.auth_url} answered HTTP {e.code}; is this a Keystone auth URL?", where
            ) from None
        body = e.read(1 << 20)
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise Unreachable(f"cannot reach {repo.auth_url}: {reason}", where) from None
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    versions = []
    if isinstance(doc, dict) and isinstance(doc.get("version"), dict):
        versions = [doc["version"]]
    elif isinstance(doc, dict) and isinstance(doc.get("versions"), dict):
        versions = [v for v in doc["versions"].get("values", []) if isinstance(v, dict)]
    ids = [escape(v.get("id", "")) for v in versions]  # the server's words, for messages
    v3 = [i for i in ids if i.startswith("v3")]
    if not v3:
        found = ", ".join(ids) if ids else "no identity version document"
        raise CloudError(
            f"{repo.auth_url} is not a Keystone v3 endpoint ({found}); "
            "use the identity URL, e.g. https://keystone.example.org:5000/v3",
            where,
        )
    return v3[0]
