"""Glance's interoperable-import answers as glint records: the discovery JSON, and an
image plus its tasks as one ``ImportState`` (docs/design.md, "Cloud-side copies")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from openstack import exceptions as os_exc

from glint_tui.core.clouds.base import ImportState


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
