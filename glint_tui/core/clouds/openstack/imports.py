"""Glance's interoperable import: the discovery JSON, an image plus its tasks as one
``ImportState``, and the session's calls that start and follow an import
(docs/design.md, "Cloud-side copies")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from openstack import exceptions as os_exc

from glint_tui.core.clouds.base import ImportInfo, ImportState
from glint_tui.core.importmethods import image_regions


def info_json(response: requests.Response, *, required: bool) -> dict[str, Any] | None:
    """The JSON of a ``/v2/info/*`` answer; None for a 404 when it is optional (Glance
    answers 404 to ``/v2/info/stores`` without multi-store)."""
    if not required and response.status_code == 404:
        return None
    os_exc.raise_from_response(response)
    body = response.json()
    return body if isinstance(body, dict) else None


def _stores(value: Any) -> tuple[str, ...]:
    return tuple(s for s in str(value or "").split(",") if s)


def import_state(image: Mapping[str, Any], tasks: list[Mapping[str, Any]]) -> ImportState:
    """The image's status and import properties, with its newest task."""
    newest = max(tasks, key=lambda t: str(t.get("created_at") or ""), default=None)
    return ImportState(
        status=str(image.get("status") or ""),
        importing=_stores(image.get("os_glance_importing_to_stores")),
        failed=_stores(image.get("os_glance_failed_import")),
        stores=_stores(image.get("stores")),
        locked=bool(image.get("os_glance_import_task")),
        task_status=str(newest.get("status")) if newest else None,
        task_message=str((newest or {}).get("message") or ""),
        task_updated=str(newest.get("updated_at")) if newest else None,
    )


class CloudSideImports:
    """``OpenStackSession``'s calls for cloud-side copies (a mixin: the session gives it
    ``conn``, ``_calls``, ``_session``, ``_catalog_image_url``, ``project_id`` and
    ``repository``)."""

    conn: Any
    _session: Any
    repository: Any
    project_id: Any
    _calls: Any
    _catalog_image_url: Any

    def _access(self) -> Any:
        self.conn  # noqa: B018 - logs in
        with self._calls("read the service catalog"):
            return self._session.auth.get_access(self._session)

    def image_regions(self) -> dict[str, str]:
        """Region -> image endpoint for this repository's interface, from the token."""
        catalog = self._access().service_catalog.catalog or []
        return image_regions(catalog, self.repository.interface)

    def import_info(self) -> ImportInfo:
        """``/v2/info/import``, ``/v2/info/stores`` (404 without multi-store), the token's
        catalog and roles, as one ``ImportInfo``."""
        conn = self.conn
        with self._calls("read the import methods"):
            methods = info_json(conn.image.get("/info/import"), required=True)
        with self._calls("read the stores"):
            stores = info_json(conn.image.get("/info/stores"), required=False)
        access = self._access()
        return ImportInfo.from_json(
            self._catalog_image_url(),
            self.project_id,
            info_import=methods,
            info_stores=stores,
            catalog=access.service_catalog.catalog or [],
            roles=access.role_names or [],
            interface=self.repository.interface,
        )

    def start_import(self, image_id: str, body: Mapping[str, Any]) -> None:
        conn = self.conn
        name = (body.get("method") or {}).get("name", "import")
        with self._calls(f"start the {name} import of image {image_id}"):
            response = conn.image.post(f"/images/{image_id}/import", json=dict(body))
            os_exc.raise_from_response(response)

    def import_state(self, image_id: str) -> ImportState:
        conn = self.conn
        with self._calls(f"read the import state of image {image_id}"):
            image = conn.image.get(f"/images/{image_id}")
            os_exc.raise_from_response(image)
            tasks = conn.image.get(f"/images/{image_id}/tasks")
            os_exc.raise_from_response(tasks)
        return import_state(image.json(), tasks.json().get("tasks") or [])
