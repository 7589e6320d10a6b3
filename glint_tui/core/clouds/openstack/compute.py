"""Whether a server runs from an image: one question to Nova, when the cloud has one.

Asked before the catalog deactivates or deletes an old version (``catalog.inuse``). The
answer is only as good as what the login can see, so it says so:

* no ``compute`` endpoint in the Keystone catalog (a Glance-only cloud, the sandbox) ->
  None: the plan then says the check was not possible;
* an admin lists every project's servers (``all_tenants``) -> True or False;
* a project lists its own servers: True when one of them runs from the image; False only
  for a private image (no other project can boot it); for a shared, community or public
  image other projects may run servers glint cannot see -> None;
* any failure of the call -> None (never taken as "not in use").
"""

from __future__ import annotations

from typing import Any

from keystoneauth1 import exceptions as ks_exc

from glint_tui.core.model import Repository

PRIVATE = "private"


def compute_url(session: Any, repository: Repository) -> str | None:
    """The catalog's compute endpoint for the repository's interface and region, or None."""
    try:
        url = session.get_endpoint(
            service_type="compute",
            interface=repository.interface,
            region_name=repository.region,
            skip_discovery=True,
        )
    except ks_exc.EndpointNotFound:
        return None
    return url or None


def servers_from(session: Any, url: str, image_id: str, *, admin: bool) -> bool | None:
    """True/False: whether a server Nova lists (every project's when *admin*) runs from
    *image_id*; None when Nova did not answer usefully."""
    params: dict[str, Any] = {"image": image_id, "limit": 1}
    if admin:
        params["all_tenants"] = 1
    try:
        response = session.get(f"{url.rstrip('/')}/servers", params=params, raise_exc=False)
    except (ks_exc.ClientException, OSError):
        return None
    if response.status_code != 200:
        return None
    try:
        servers = response.json().get("servers")
    except ValueError:
        return None
    return bool(servers) if isinstance(servers, list) else None


def in_use(
    session: Any, repository: Repository, image_id: str, *, admin: bool, visibility: str
) -> bool | None:
    """``CloudSession.image_in_use`` for an OpenStack cloud (see the module docstring)."""
    url = compute_url(session, repository)
    if url is None:
        return None
    found = servers_from(session, url, image_id, admin=admin)
    if found is None or found or admin:
        return found
    return False if visibility == PRIVATE else None
