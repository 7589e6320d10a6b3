"""Which physical cloud a repository is, from what the cloud itself says.

Glint's repository names are the operator's labels: one cloud may be registered twice
(two names, an auth URL written ``…/v3`` once and ``…/v3/`` or with ``localhost`` the other
time), and one Keystone may serve two regions whose Glances are different clouds. The
last-copy rule must count an image once however many columns see it, so it identifies a
physical image by (cloud identity, image id), where the cloud identity comes from
Keystone's service catalog: the image service's endpoint URLs in the region glint uses.

Two columns are the same cloud when their identities share an image endpoint (after
``normalize_url``). All interfaces (public, internal, admin) of that endpoint count, so a
repository using the internal URL is still recognised as the one using the public URL.
Keystone's service ids are not used: a staging cloud restored from a production dump has
the same ids and would be mistaken for production.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from glint_tui.core.model import ProjectRef, Repository

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}
_DEFAULT_PORTS = {"http": 80, "https": 443}
_VERSION = re.compile(r"/v\d+(\.\d+)?$", re.IGNORECASE)


def normalize_url(url: str) -> str:
    """One spelling per endpoint: lower-case scheme and host, every loopback address as
    127.0.0.1, an explicit port, no user info, query, trailing slash or API version
    suffix (``/v2``, ``/v3``, ``/v2.1``)."""
    parts = urlsplit(url.strip())
    scheme = (parts.scheme or "http").lower()
    host = (parts.hostname or "").lower().rstrip(".")
    if _is_loopback(host):
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:  # a port that is not a number: keep the text, it will not match
        port = 0
    path = parts.path.rstrip("/")
    while _VERSION.search(path):
        path = _VERSION.sub("", path).rstrip("/")
    return f"{scheme}://{host}:{port}{path}"


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class CloudIdentity:
    """One physical cloud (image store) as its Keystone catalog describes it.

    ``endpoint`` is the normalized image endpoint glint talks to; ``aliases`` are the
    normalized URLs of every interface of that endpoint (same service, same region),
    ``endpoint`` included; ``region`` is the catalog's region id, when it names one.
    """

    endpoint: str
    aliases: frozenset[str]
    region: str | None = None

    def same_cloud(self, other: CloudIdentity) -> bool:
        return bool(self.aliases & other.aliases)

    def to_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "region": self.region, "aliases": sorted(self.aliases)}


def identity_from_catalog(catalog: Iterable[dict[str, Any]], used_url: str) -> CloudIdentity:
    """The identity of the image endpoint *used_url* within a Keystone v3 catalog.

    The catalog is the token's ``catalog`` list (services with their ``endpoints``).
    The endpoint glint uses is found by its normalized URL; its siblings (same service,
    same region, other interfaces) become aliases. An endpoint the catalog does not list
    (an override) is its own only alias.
    """
    used = normalize_url(used_url)
    for service in catalog:
        if service.get("type") != "image":
            continue
        endpoints = [e for e in service.get("endpoints") or [] if e.get("url")]
        match = [e for e in endpoints if normalize_url(e["url"]) == used]
        if not match:
            continue
        region = match[0].get("region_id") or match[0].get("region")
        aliases = {
            normalize_url(e["url"])
            for e in endpoints
            if (e.get("region_id") or e.get("region")) == region
        }
        return CloudIdentity(used, frozenset(aliases | {used}), region)
    return CloudIdentity(used, frozenset({used}))


def group_clouds(
    columns: Iterable[tuple[ProjectRef, CloudIdentity | None]],
) -> dict[ProjectRef, str | None]:
    """Group columns into physical clouds: one repository (one region of it, for a column
    with a region: an EC2 account's regions hold different AMIs) is one cloud, and
    repositories whose identities share an image endpoint are one cloud. A group's key is
    its smallest endpoint; a group where no column knows its identity gets None (unknown)."""
    columns = list(columns)
    parent = {ref: ref for ref, _ in columns}

    def root(r: ProjectRef) -> ProjectRef:
        while parent[r] != r:
            parent[r] = parent[parent[r]]
            r = parent[r]
        return r

    first: dict[str, ProjectRef] = {}
    for ref, ident in columns:
        where = ref.repository if ref.region is None else f"{ref.repository}/{ref.region}"
        for token in [f"repository:{where}", *sorted(ident.aliases if ident else ())]:
            parent[root(ref)] = root(first.setdefault(token, ref))
    endpoints: dict[ProjectRef, set[str]] = {}
    for ref, ident in columns:
        endpoints.setdefault(root(ref), set()).update(ident.aliases if ident else ())
    return {ref: min(endpoints[root(ref)], default=None) for ref, _ in columns}


def same_keystone(repo: Repository, others: Iterable[Repository]) -> list[Repository]:
    """Repositories that are (most likely) the same cloud as *repo*, before any login:
    the same Keystone (normalized auth URL) and the same region, or a region left unset
    on either (then Keystone's catalog picks it). The matrix confirms it from the catalog
    once both have credentials."""
    url = normalize_url(repo.auth_url)
    return [
        o
        for o in others
        if o.name != repo.name
        and normalize_url(o.auth_url) == url
        and (repo.region is None or o.region is None or repo.region == o.region)
    ]


def same_cloud_warning(repo: Repository, twins: list[Repository]) -> str:
    """The line ``repository add``/``import`` prints when *repo* is another repository."""
    names = ", ".join(t.name for t in twins)
    return (
        f"repository {repo.name} is the same cloud as {names} (Keystone "
        f"{normalize_url(repo.auth_url)}): an image seen through both counts as one copy, "
        "and deleting it through either removes it from both"
    )
