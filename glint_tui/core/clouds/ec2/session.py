"""``Ec2Session``: one region of one EC2 account as a ``CloudSession``.

The column is ``REPO/REGION:ACCOUNT``; the "project" is the account, learnt from the
login (STS GetCallerIdentity; DescribeRegions where the cloud has no STS, the account then
comes from the credential). Images are AMIs: the account's own ones (any state) and those
it may launch through a launch permission of another account (locked cells). Public AMIs
of other accounts are not listed: AWS has hundreds of thousands.

Uploads have two steps in the protocol, and an AMI exists only at the end: so
``create_image`` starts nothing in the cloud and returns a *pending id*,
``upload-<transfer id>``; ``upload`` writes the snapshot, reads it back, registers the
AMI (``core.clouds.ec2.uploads``). Everything glint makes carries its transfer id as a tag,
so ``get_image`` / ``delete_image`` of a pending id find the snapshot and AMI by that tag
even in another process (``glint reconcile`` after a crash).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

from glint_tui.core import errors
from glint_tui.core.cloudid import CloudIdentity, normalize_url
from glint_tui.core.clouds.base import (
    ImageSpec,
    ImportInfo,
    ImportState,
    Member,
    ProjectInfo,
    Reader,
)
from glint_tui.core.clouds.ec2 import records
from glint_tui.core.clouds.ec2.clients import Clients
from glint_tui.core.clouds.ec2.copies import copy_image
from glint_tui.core.clouds.ec2.translate import (
    NO_SUCH_SERVICE,
    NOT_AN_AWS_ANSWER,
    code_of,
    translate,
)
from glint_tui.core.clouds.ec2.uploads import FORMATS, PENDING_PREFIX, Uploads
from glint_tui.core.errors import GlintError
from glint_tui.core.model import Credential, ImageRecord, ProjectRef, Repository
from glint_tui.core.timeouts import Timeouts


class Ec2Session:
    """A lazy session: nothing is sent before the first call (see the module docstring)."""

    page_size: int | None = None
    disk_formats = FORMATS  # the matrix's plan refuses other formats here, before any copy

    def __init__(
        self, repository: Repository, credential: Credential, secret: str, *, timeouts: Timeouts
    ) -> None:
        self.repository = repository
        self.credential = credential
        self.timeouts = timeouts
        self.region = repository.region or (repository.regions[0] if repository.regions else "")
        self.clients = Clients(repository, credential, secret, timeouts)
        self._account: str | None = None
        self.uploads = Uploads(self)

    def __repr__(self) -> str:  # never the secret
        return f"Ec2Session({self.where})"

    @property
    def where(self) -> str:
        """The column, for messages: ``REPO/REGION:ACCOUNT``."""
        account = self._account or self.credential.project or "?"
        return str(ProjectRef(self.repository.name, account, self.region))

    @contextlib.contextmanager
    def calls(self, what: str) -> Iterator[None]:
        """The one place botocore errors become glint errors."""
        try:
            yield
        except GlintError:
            raise
        except Exception as e:
            raise translate(e, self.where, what, self.clients.endpoint) from None

    # -- login -----------------------------------------------------------------------------
    def _login(self) -> str:
        if self._account is not None:
            return self._account
        try:
            with self.calls("call sts:GetCallerIdentity"):
                account = str(self.clients.sts.get_caller_identity()["Account"])
        except (errors.Unreachable, errors.BadRequest, errors.ImageNotFound) as e:
            if not self._no_sts(e):
                raise
            account = self._login_without_sts()
        expected = self.credential.project
        if expected and expected != account:
            raise errors.ProjectNotFound(
                f"these keys belong to account {account}, not {expected}", self.where
            )
        self._account = account
        return account

    def _no_sts(self, error: GlintError) -> bool:
        """An EC2-compatible cloud without STS (its endpoint answers EC2 only)."""
        if isinstance(error, errors.Unreachable):
            return bool(self.repository.endpoint_url)  # AWS always has STS
        said = str(error)
        return any(code in said for code in (*NO_SUCH_SERVICE, NOT_AN_AWS_ANSWER)) or (
            getattr(error, "status", None) in (404, 501)
        )

    def _login_without_sts(self) -> str:
        with self.calls("call ec2:DescribeRegions"):
            self.clients.ec2.describe_regions()
        if not self.credential.project:
            raise errors.ProjectNotFound(
                "this cloud has no STS to say which account the keys belong to; add the "
                f"credential as {self.repository.name}:ACCOUNT",
                self.where,
            )
        return self.credential.project

    @property
    def project_id(self) -> str:
        return self._login()

    def check(self) -> None:
        """Log in, then list one page of the account's AMIs in this region: a key that
        works, may list images, and a region that answers."""
        self._login()
        with self.calls(f"list AMIs in region {self.region} (ec2:DescribeImages)"):
            self.clients.ec2.describe_images(Owners=["self"], MaxResults=5)

    def is_admin(self) -> bool:
        return False  # an account sees its own images: nothing to narrow

    def cloud_identity(self) -> CloudIdentity:
        """(account, region, endpoint): two repositories of one account and region are
        one cloud; two regions are two (an AMI lives in one region)."""
        account = self._login()
        url = self.repository.endpoint_url
        endpoint = normalize_url(url) if url else "aws"
        key = f"ec2:{account}:{self.region}@{endpoint}"
        return CloudIdentity(key, frozenset({key}), self.region)

    def list_projects(self) -> list[ProjectInfo]:
        account = self._login()
        return [ProjectInfo(account, account)]

    # -- images ----------------------------------------------------------------------------
    def describe(self, what: str, **params: Any) -> Iterator[dict[str, Any]]:
        """DescribeImages, every page."""
        with self.calls(what):
            pages = self.clients.ec2.get_paginator("describe_images").paginate(**params)
            for page in pages:
                yield from page.get("Images") or []

    def list_images(
        self, *, all_projects: bool = False, name: str | None = None
    ) -> Iterator[ImageRecord]:
        account = self._login()
        filters = [{"Name": "name", "Values": [records_name(name)]}] if name else []
        seen: set[str] = set()
        made: set[str] = set()
        for params in ({"Owners": ["self"]}, {"ExecutableUsers": ["self"]}):
            for image in self.describe("list AMIs (ec2:DescribeImages)", Filters=filters, **params):
                if image["ImageId"] in seen:
                    continue
                seen.add(image["ImageId"])
                record = self.record(image, account)
                if name is not None and record.name != name:
                    continue
                if record.owner == account:
                    made.add(record.properties.get(records.TRANSFER_TAG, ""))
                yield record
        for record in self.uploads.half_made(exclude=made):
            if name is None or record.name == name:
                yield record

    def record(self, image: dict[str, Any], account: str | None = None) -> ImageRecord:
        """An AMI as a record; the Glance-side name glint gave it when the AMI's name is
        that name made EC2-safe."""
        rec = records.image_record(image, account or self._account)
        source = records.tag_dict(image.get("Tags")).get(records.SOURCE_NAME_TAG)
        if source and records_name(source) == rec.name and source != rec.name:
            from dataclasses import replace

            rec = replace(rec, name=source)
        return rec

    def ami(self, image_id: str) -> dict[str, Any]:
        """The DescribeImages entry of one AMI; ImageNotFound if there is none."""
        with self.calls(f"find AMI {image_id}"):
            found = self.clients.ec2.describe_images(ImageIds=[image_id]).get("Images") or []
        if not found:
            raise errors.ImageNotFound(f"no AMI {image_id} in region {self.region}", self.where)
        return found[0]

    def get_image(self, image_id: str) -> ImageRecord:
        if image_id.startswith(PENDING_PREFIX):
            return self.uploads.pending_record(image_id)
        self._login()
        return self.record(self.ami(image_id))

    def download(self, image_id: str, chunk_size: int = 1 << 20, *, verify: bool = True):
        return self.uploads.download(image_id, verify=verify)

    def create_image(self, spec: ImageSpec) -> ImageRecord:
        return self.uploads.create(spec)

    def upload(self, image_id: str, reader: Reader, size: int, *, store: str | None = None) -> None:
        if store is not None:
            raise errors.BadRequest(f"EC2 has no image stores to choose from (asked for {store!r})")
        self.uploads.upload(image_id, reader, size)

    def import_info(self) -> ImportInfo:
        """EC2 has none of Glance's import methods: every copy to it streams (its own
        server-side copy between regions is ``copy_image_from``)."""
        ident = self.cloud_identity()
        return ImportInfo(endpoint=ident.endpoint, region=self.region, project_id=self.project_id)

    def image_regions(self) -> dict[str, str]:
        """None from a catalog: an EC2 repository names its regions (one column each)."""
        return {}

    def start_import(self, image_id: str, body: Mapping[str, Any]) -> None:
        raise errors.BadRequest("EC2 takes no Glance image import (the copy streams instead)")

    def import_state(self, image_id: str) -> ImportState:
        raise errors.BadRequest("EC2 takes no Glance image import (the copy streams instead)")

    def stored_hashes(self, image: ImageRecord) -> dict[str, str]:
        """EC2 reports no hash of an AMI's bytes: read its root snapshot back and hash it
        (an upload of this session already did, before it registered the AMI)."""
        return self.uploads.stored_hashes(image)

    def copy_image_from(self, source_region: str, image_id: str, spec: ImageSpec) -> ImageRecord:
        """CopyImage (server-side) of *image_id* in *source_region* of this account."""
        return copy_image(self.uploads, source_region, image_id, spec)

    def update_image(self, image_id: str, **attrs: Any) -> ImageRecord:
        """Properties become tags (None removes one); ``visibility`` public/private is the
        launch permission for everyone; ``tags`` the Glance tags. Nothing else can change
        on an AMI."""
        account = self._login()
        image = self.ami(image_id)
        if image.get("OwnerId") != account:
            raise errors.PermissionDenied(f"{image_id} belongs to another account", self.where)
        properties = attrs.pop("properties", None) or {}
        core = {k: attrs.pop(k) for k in ("visibility", "tags") if k in attrs}
        properties.update(attrs)  # the protocol's other keyword arguments are properties
        put = {k: v for k, v in properties.items() if v is not None}
        drop = [k for k, v in properties.items() if v is None]
        if "tags" in core:
            put[records.IMAGE_TAGS_TAG] = _json_list(core["tags"])
        bad = [k for k, v in put.items() if not records.fits(k, v)]
        if bad:
            raise errors.BadRequest(f"{bad[0]!r} cannot be an AWS tag (too long)", self.where)
        with self.calls(f"tag AMI {image_id}"):
            if put:
                self.clients.ec2.create_tags(Resources=[image_id], Tags=records.tag_list(put))
            if drop:
                self.clients.ec2.delete_tags(Resources=[image_id], Tags=[{"Key": k} for k in drop])
            if core.get("visibility") in ("public", "private"):
                change = "Add" if core["visibility"] == "public" else "Remove"
                self.clients.ec2.modify_image_attribute(
                    ImageId=image_id, LaunchPermission={change: [{"Group": "all"}]}
                )
        return self.get_image(image_id)

    def delete_image(self, image_id: str) -> None:
        """Deregister the AMI and delete its snapshots (the account's own, only)."""
        if image_id.startswith(PENDING_PREFIX):
            self.uploads.discard(image_id)
            return
        account = self._login()
        image = self.ami(image_id)
        rec = self.record(image, account)
        if rec.owner != account:
            raise errors.PermissionDenied(
                f"{image_id} belongs to account {rec.owner}: not this account's to delete",
                self.where,
            )
        if rec.protected:
            raise errors.PermissionDenied(f"{image_id} has deregistration protection", self.where)
        self.uploads.deregister(image)

    # -- retirement (the catalog's): EC2 has no deactivation glint uses -------------------
    def deactivate_image(self, image_id: str) -> None:
        """Refused: glint does not disable AMIs (retire them by deleting instead)."""
        raise errors.BadRequest(
            f"cannot deactivate {image_id}: glint does not disable EC2 AMIs (use retire: delete)",
            self.where,
        )

    def reactivate_image(self, image_id: str) -> None:
        """Refused, like ``deactivate_image``."""
        raise errors.BadRequest(
            f"cannot reactivate {image_id}: glint does not disable EC2 AMIs", self.where
        )

    def image_in_use(self, image_id: str) -> bool | None:
        """An instance of this account and region runs from the AMI (DescribeInstances);
        None where others may launch it too (public, launch permissions) or a call failed."""
        try:
            with self.calls(f"list instances of {image_id} (ec2:DescribeInstances)"):
                pages = self.clients.ec2.get_paginator("describe_instances").paginate(
                    Filters=[{"Name": "image-id", "Values": [image_id]}]
                )
                for page in pages:
                    for group in page.get("Reservations") or []:
                        for instance in group.get("Instances") or []:
                            if (instance.get("State") or {}).get("Name") != "terminated":
                                return True
            if self.ami(image_id).get("Public") or self.list_members(image_id):
                return None  # another account may run it: this login cannot see that
        except GlintError:
            return None
        return False

    # -- members: launch permissions ---------------------------------------------------------
    def list_members(self, image_id: str) -> list[Member]:
        with self.calls(f"read the launch permissions of {image_id}"):
            answer = self.clients.ec2.describe_image_attribute(
                ImageId=image_id, Attribute="launchPermission"
            )
        return [
            Member(p["UserId"], "accepted")
            for p in answer.get("LaunchPermissions") or []
            if "UserId" in p
        ]

    def add_member(self, image_id: str, project_id: str) -> Member:
        """A launch permission for account *project_id* (EC2 has no "pending": it may
        launch the AMI at once)."""
        if any(m.member_id == project_id for m in self.list_members(image_id)):
            raise errors.Conflict(f"{project_id} may already launch {image_id}", self.where)
        with self.calls(f"share {image_id} with account {project_id}"):
            self.clients.ec2.modify_image_attribute(
                ImageId=image_id, LaunchPermission={"Add": [{"UserId": project_id}]}
            )
        return Member(project_id, "accepted")

    def update_member_status(self, image_id: str, member_id: str, status: str) -> Member:
        """EC2 shares need no answer: a shared AMI this account sees is "accepted"."""
        if not any(r.id == image_id for r in self.list_images()):
            raise errors.ImageNotFound(f"{image_id} is not shared with {member_id}", self.where)
        return Member(member_id, "accepted")

    def close(self) -> None:
        self.clients.close()

    def __enter__(self) -> Ec2Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def records_name(name: str) -> str:
    from glint_tui.core.clouds.ec2.register import ami_name

    return ami_name(name)


def _json_list(values: Any) -> str:
    import json

    return json.dumps([str(v) for v in values or []])


__all__ = ["Ec2Session", "code_of"]
