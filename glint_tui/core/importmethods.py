"""Which transfer methods can move one image from a source to a destination.

Glance's interoperable import lets a destination pull an image itself, so its bytes never
cross glint's host: ``copy-image`` adds a store to the same image in one multi-store Glance,
``glance-download`` makes a new image from another Glance behind the same Keystone (another
region), and ``web-download`` from a URL anyone can read. ``stream`` (glint reads the
source and writes the destination) always works and is the fallback.

Everything here is a pure function over JSON glint has already fetched: ``GET
/v2/info/import``, ``GET /v2/info/stores``, the token's catalog and the source image. The
answers are necessary conditions, not promises: Glance's import filtering (which hosts and
ports a destination may fetch from) and its policy are not published, so a method judged
possible can still be refused or fail, and the caller falls back to ``stream``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from glint_tui.core.cloudid import normalize_url

STREAM = "stream"
COPY_IMAGE = "copy-image"
GLANCE_DOWNLOAD = "glance-download"
WEB_DOWNLOAD = "web-download"
AUTO = "auto"
# auto's preference: no network at all, then an authenticated pull of exact bytes, then a
# pull from a URL, then glint's own stream
PREFERENCE = (COPY_IMAGE, GLANCE_DOWNLOAD, WEB_DOWNLOAD, STREAM)
CHOICES = (AUTO, STREAM, GLANCE_DOWNLOAD, WEB_DOWNLOAD, COPY_IMAGE)  # --method's order
# Glance's import filtering refuses these by default, for glance-download and web-download
_DEFAULT_ALLOWED_PORTS = {80, 443}


@dataclass(frozen=True)
class Store:
    """One store of a multi-store Glance (``GET /v2/info/stores``)."""

    id: str
    default: bool = False
    description: str = ""


def import_methods(info_import: Mapping[str, Any] | None) -> frozenset[str]:
    """The methods ``GET /v2/info/import`` lists; none when it could not be read."""
    if not info_import:
        return frozenset()
    value = (info_import.get("import-methods") or {}).get("value") or []
    return frozenset(str(m) for m in value if isinstance(m, str))


def stores(info_stores: Mapping[str, Any] | None) -> tuple[Store, ...]:
    """The stores ``GET /v2/info/stores`` lists (Glance answers 404 without multi-store).

    Glance writes ``"default": "true"`` as a string, and leaves the key out otherwise.
    """
    if not info_stores:
        return ()
    out = []
    for s in info_stores.get("stores") or []:
        if isinstance(s, Mapping) and s.get("id"):
            default = str(s.get("default", "")).lower() in ("true", "1")
            out.append(Store(str(s["id"]), default, str(s.get("description") or "")))
    return tuple(out)


def image_regions(
    catalog: Iterable[Mapping[str, Any]], interface: str = "public"
) -> dict[str, str]:
    """Region id -> normalized image endpoint URL for *interface*, from a v3 catalog."""
    out: dict[str, str] = {}
    for service in catalog:
        if service.get("type") != "image":
            continue
        for e in service.get("endpoints") or []:
            region = e.get("region_id") or e.get("region")
            if e.get("interface") == interface and region and e.get("url"):
                out.setdefault(str(region), normalize_url(e["url"]))
    return out


def image_stores(image: Mapping[str, Any]) -> frozenset[str]:
    """The stores an image is in: Glance's ``stores`` field is ``"local,second"``."""
    return frozenset(s for s in str(image.get("stores") or "").split(",") if s)


@dataclass(frozen=True)
class GlanceSide:
    """One end of a transfer: a Glance as one project's token sees it."""

    endpoint: str  # normalized URL of the image endpoint glint talks to
    region: str | None  # the catalog's region of that endpoint
    project_id: str
    methods: frozenset[str] = frozenset()
    stores: tuple[Store, ...] = ()
    regions: Mapping[str, str] = field(default_factory=dict)  # region -> image endpoint
    interface: str = "public"
    # Glance's default policy gives copy-image to admins only ("copy_image": role:admin)
    may_copy_image: bool = False

    @classmethod
    def from_json(
        cls,
        endpoint: str,
        project_id: str,
        *,
        info_import: Mapping[str, Any] | None,
        info_stores: Mapping[str, Any] | None,
        catalog: Iterable[Mapping[str, Any]],
        roles: Iterable[str] = (),
        interface: str = "public",
    ) -> GlanceSide:
        """A side from the discovery answers and the token's catalog and role names."""
        regions = image_regions(catalog, interface)
        url = normalize_url(endpoint)
        region = next((r for r, u in regions.items() if u == url), None)
        return cls(
            endpoint=url,
            region=region,
            project_id=project_id,
            methods=import_methods(info_import),
            stores=stores(info_stores),
            regions=regions,
            interface=interface,
            may_copy_image="admin" in {r.lower() for r in roles},
        )

    def store_ids(self) -> frozenset[str]:
        return frozenset(s.id for s in self.stores)


@dataclass(frozen=True)
class SourceImage:
    """What the methods need to know of the image to move."""

    id: str
    size: int
    status: str = "active"
    owner: str = ""
    visibility: str = "shared"
    stores: frozenset[str] = frozenset()
    members: frozenset[str] = frozenset()  # projects whose membership is accepted
    web_url: str | None = None  # where anyone can read the same bytes without a token

    @classmethod
    def from_json(
        cls,
        image: Mapping[str, Any],
        members: Iterable[str] = (),
        web_url: str | None = None,
    ) -> SourceImage:
        return cls(
            id=str(image["id"]),
            size=int(image.get("size") or 0),
            status=str(image.get("status") or ""),
            owner=str(image.get("owner") or ""),
            visibility=str(image.get("visibility") or "shared"),
            stores=image_stores(image),
            members=frozenset(members),
            web_url=web_url,
        )

    def readable_by(self, project_id: str) -> bool:
        """Whether a token of *project_id* can download it (glance-download uses that token)."""
        return (
            self.owner == project_id
            or self.visibility in ("public", "community")
            or (self.visibility == "shared" and project_id in self.members)
        )


@dataclass(frozen=True)
class Verdict:
    """Whether *method* can serve one copy, why (one line), and what it costs this host."""

    method: str
    possible: bool
    reason: str
    host_bytes: int  # bytes that cross glint's host if this method is used
    body: Mapping[str, Any] | None = None  # the POST /v2/images/{id}/import body
    caveat: str = ""  # what discovery cannot tell, so the method may still fail


def verdicts(
    source: GlanceSide,
    image: SourceImage,
    dest: GlanceSide,
    dest_store: str | None = None,
) -> list[Verdict]:
    """One verdict per method, in auto's order of preference; ``stream`` is always last.

    *dest_store* names the store a copy must land in: on the source's own Glance it asks
    for ``copy-image``; elsewhere it is passed on to the import (Glance's default when None).
    """
    return [
        _copy_image(source, image, dest, dest_store),
        _glance_download(source, image, dest, dest_store),
        _web_download(image, dest, dest_store),
        Verdict(STREAM, True, "glint reads the source and writes the destination", image.size),
    ]


def choose(found: list[Verdict], asked: str = AUTO) -> Verdict:
    """The verdict to act on: auto takes the first possible one (stream at worst).

    An explicitly asked method is returned even when impossible: the caller refuses the copy
    with its reason rather than silently doing something else.
    """
    if asked == AUTO:
        return next(v for v in found if v.possible)
    for v in found:
        if v.method == asked:
            return v
    raise ValueError(f"unknown transfer method {asked!r} (one of {', '.join(CHOICES)})")


def _no(method: str, reason: str, image: SourceImage) -> Verdict:
    return Verdict(method, False, reason, image.size)


def _with_store(body: dict[str, Any], store: str | None) -> dict[str, Any]:
    if store:
        body["stores"] = [store]
    return body


def _copy_image(
    source: GlanceSide, image: SourceImage, dest: GlanceSide, store: str | None
) -> Verdict:
    m = COPY_IMAGE
    if source.endpoint != dest.endpoint:
        return _no(m, "copy-image works only within one Glance", image)
    if not store:
        return _no(m, "no destination store named", image)
    if m not in dest.methods:
        return _no(m, "the Glance does not enable copy-image", image)
    if store not in dest.store_ids():
        return _no(m, f"the Glance has no store {store!r}", image)
    if store in image.stores:
        return _no(m, f"the image is already in store {store!r}", image)
    if image.status != "active":
        return _no(m, f"the image is {image.status}, not active", image)
    if not dest.may_copy_image:
        return _no(m, "copy-image needs the admin role under Glance's default policy", image)
    body = {"method": {"name": m}, "stores": [store]}
    return Verdict(m, True, f"the Glance adds store {store!r} to the same image", 0, body)


def _glance_download(
    source: GlanceSide, image: SourceImage, dest: GlanceSide, store: str | None
) -> Verdict:
    m = GLANCE_DOWNLOAD
    if m not in dest.methods:
        return _no(m, "the destination does not enable glance-download", image)
    # The destination finds the source through its own token's catalog: the source's
    # endpoint must be listed there under a region (same Keystone; the same Glance works
    # too, and makes a new image, say for another project).
    region = next((r for r, u in dest.regions.items() if u == source.endpoint), None)
    if region is None:
        return _no(m, "the source is not a region of the destination's Keystone", image)
    if image.status != "active":
        return _no(m, f"the image is {image.status}, not active", image)
    if not image.readable_by(dest.project_id):
        return _no(m, "the destination project cannot read the source image", image)
    method = {
        "name": m,
        "glance_region": region,
        "glance_image_id": image.id,
        "glance_service_interface": dest.interface,
    }
    caveat = _filtering_caveat(source.endpoint)
    reason = f"the destination pulls a new image from region {region}"
    return Verdict(m, True, reason, 0, _with_store({"method": method}, store), caveat)


def _web_download(image: SourceImage, dest: GlanceSide, store: str | None) -> Verdict:
    m = WEB_DOWNLOAD
    if not image.web_url:
        return _no(m, "no URL is known where the image can be read without a token", image)
    if urlsplit(image.web_url).scheme not in ("http", "https"):
        return _no(m, "web-download needs an http or https URL", image)
    if m not in dest.methods:
        return _no(m, "the destination does not enable web-download", image)
    body = _with_store({"method": {"name": m, "uri": image.web_url}}, store)
    caveat = _filtering_caveat(image.web_url)
    return Verdict(m, True, "the destination pulls the image from its URL", 0, body, caveat)


def _filtering_caveat(url: str) -> str:
    """What Glance's default ``[import_filtering_opts]`` would refuse about *url*."""
    parts = urlsplit(normalize_url(url))
    host, port = parts.hostname or "", parts.port
    why = []
    if host.startswith("127.") or host in ("[::1]", "::1") or host.startswith("169.254."):
        why.append("a loopback or link-local host")
    if port not in _DEFAULT_ALLOWED_PORTS:
        why.append(f"port {port}")
    if not why:
        return ""
    return (
        f"Glance's default import filtering refuses {' and '.join(why)}; "
        "it works only where the destination allows it"
    )
