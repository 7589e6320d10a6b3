"""``OpenStackSession``: the ``CloudSession`` of one (repository, project) of an OpenStack
cloud, through openstacksdk's image proxy (Glance v2) on a keystoneauth session.

Each public method runs its provider calls inside ``_calls(...)``, the one place where
failures are translated (``translate.translate_error``), a login failure is diagnosed
(Keystone answers 401 for a wrong password *and* for a wrong project), and the secret is
masked from any message as a last guard.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from openstack import connection
from openstack import exceptions as os_exc

from glint_tui.core import errors
from glint_tui.core.cloudid import CloudIdentity, identity_from_catalog
from glint_tui.core.clouds.base import (
    ImageSpec,
    Member,
    ProjectInfo,
    Reader,
)
from glint_tui.core.clouds.openstack import compute
from glint_tui.core.clouds.openstack.auth import (
    TOKEN_PATH,
    build_connection,
    build_keystone_session,
    diagnose_login,
    tls_verify,
)
from glint_tui.core.clouds.openstack.imports import CloudSideImports
from glint_tui.core.clouds.openstack.records import (
    PUBLIC_ISH,
    create_body,
    image_record,
    patch_ops,
    stored_hashes,
)
from glint_tui.core.clouds.openstack.streams import OpenStackDownload, ShortSource, SizedBody
from glint_tui.core.clouds.openstack.translate import PROVIDER_ERRORS, status_of, translate_error
from glint_tui.core.errors import CloudError, GlintError
from glint_tui.core.model import Credential, ImageRecord, ProjectRef, Repository
from glint_tui.core.timeouts import Timeouts

# The last-resort mask only replaces secrets this long: masking "x" would mangle messages.
MIN_MASKED_SECRET = 6


class OpenStackSession(CloudSideImports):
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
        column: ProjectRef | None = None,
    ):
        self.repository = repository
        self.credential = credential
        self.column = column or credential.ref  # REPO[/REGION]:PROJECT, for messages
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
        return str(self.column)

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
                error = diagnose_login(
                    exc, self.repository, self.credential, self._secret,
                    timeouts=self.timeouts, service=self._service,
                )  # fmt: skip
                raise self._clean(error) from exc
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
        if status_of(exc) is None:
            return False
        return not self._logged_in or "/auth/tokens" in str(getattr(exc, "url", "") or "")

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
            requests.get(url, timeout=self.timeouts.for_api, verify=tls_verify(self.repository))
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
        attrs = create_body(spec, self.where)
        conn = self.conn
        with self._calls(f"create image {spec.name!r}"):
            response = conn.image.post("/images", json=attrs)
            os_exc.raise_from_response(response)
            raw = response.json()
        return image_record(raw)

    def upload(self, image_id: str, reader: Reader, size: int, *, store: str | None = None) -> None:
        """Stream *size* bytes into a queued image, with the size sent; never buffered.
        *store* names one store of a multi-store Glance (``X-Image-Meta-Store``).

        Glance can leave the image ``queued`` without an HTTP error when it refuses the data
        (e.g. bytes that do not match ``disk_format``), so the status is checked after.
        """
        body = SizedBody(reader, size, self.upload_chunk_size)
        headers = {
            "Content-Type": "application/octet-stream",
            "X-OpenStack-Image-Size": str(size),
        }
        if store:
            headers["X-Image-Meta-Store"] = store
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
            if isinstance(body.error, ShortSource):
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
        with an Image object sends the whole image back and drops the properties it did
        not load, so glint writes its own patch.)
        """
        ops = patch_ops(attrs, self.where)
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

    def stored_hashes(self, image: ImageRecord) -> dict[str, str]:
        """Glance computes md5 and ``os_hash_algo`` of what it stored and reports both in
        the image record: no request needed."""
        return stored_hashes(image)

    def delete_image(self, image_id: str) -> None:
        conn = self.conn
        with self._calls(f"delete image {image_id}"):
            conn.image.delete_image(image_id, ignore_missing=False)

    def deactivate_image(self, image_id: str) -> None:
        """``POST /v2/images/{id}/actions/deactivate`` (Glance's policy decides who may)."""
        self._action(image_id, "deactivate")

    def reactivate_image(self, image_id: str) -> None:
        self._action(image_id, "reactivate")

    def _action(self, image_id: str, action: str) -> None:
        conn = self.conn
        with self._calls(f"{action} image {image_id}"):
            response = conn.image.post(f"/images/{image_id}/actions/{action}")
            os_exc.raise_from_response(response)

    def image_in_use(self, image_id: str) -> bool | None:
        """Nova's server list filtered by image, when the catalog has a compute endpoint
        (``compute.in_use``: None whenever the answer would not be the whole truth)."""
        record = self.get_image(image_id)
        try:
            admin = self._is_admin()
        except GlintError:
            return None
        return compute.in_use(
            self._session, self.repository, image_id, admin=admin, visibility=record.visibility
        )

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
