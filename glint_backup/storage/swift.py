"""A repository in a Swift container (``swift://CONTAINER[/PREFIX]``), through openstacksdk.

Requests go through the object-store endpoint of a logged-in glint session (the backup's
own Keystone login, or a clouds.yaml entry), so TLS, region and timeouts are the adapter's.
Objects up to one segment are one chunked PUT: Swift commits an object only when its body
ends, so an aborted stream leaves nothing. Larger ones are static large objects: segments
under ``PREFIX/segments/KEY/UPLOAD/`` then the manifest, which names its upload in
``X-Object-Meta-Glint-Upload``; ``clean_partial`` removes segments no manifest owns.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

from glint_backup.storage.base import NotFound, Pieces, StorageError
from glint_tui.core.clouds.openstack import PROVIDER_ERRORS

SEGMENT_BYTES = 1 << 30  # Swift's default limit for one object is 5 GiB
UPLOAD_HEADER = "X-Object-Meta-Glint-Upload"
LISTING_LIMIT = 10_000


class SwiftBackend:
    remote = True

    def __init__(self, session: Any, container: str, prefix: str = "", segment_bytes: int = 0):
        self._session = session  # an OpenStackSession; its conn.object_store is the adapter
        self.container = container
        self.prefix = prefix.strip("/")
        self.segment_bytes = segment_bytes or SEGMENT_BYTES
        self.url = f"swift://{container}" + (f"/{self.prefix}" if self.prefix else "")

    # -- plumbing -------------------------------------------------------------------------
    @property
    def _api(self):
        return self._session.conn.object_store

    def _stream(self, direction: str) -> tuple[float, float] | None:
        """The session's no-progress deadline for a byte stream (urllib3 sends a body under
        the connect timeout, so an upload must not get the short API pair)."""
        timeouts = getattr(self._session, "timeouts", None)
        return getattr(timeouts, f"for_{direction}", None)

    def _name(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _path(self, name: str) -> str:
        return f"/{quote(self.container)}/{quote(name)}"

    def _call(self, what: str, method: str, path: str, ok: tuple[int, ...], **kw: Any):
        try:
            response = getattr(self._api, method)(path, raise_exc=False, **kw)
        except PROVIDER_ERRORS as e:
            raise StorageError(f"{self.url}: cannot {what}: {type(e).__name__}: {e}") from None
        if response.status_code not in ok:
            detail = response.text[:200].strip() if not kw.get("stream") else ""
            raise StorageError(
                f"{self.url}: cannot {what}: HTTP {response.status_code} {detail}".rstrip()
            )
        return response

    def create_container(self) -> None:
        self._call("create the container", "put", f"/{quote(self.container)}", (201, 202))

    def container_exists(self) -> bool:
        r = self._call("read the container", "head", f"/{quote(self.container)}", (204, 404))
        return r.status_code == 204

    # -- reading --------------------------------------------------------------------------
    def list(self, prefix: str) -> Iterator[tuple[str, int]]:
        full, marker, cut = self._name(prefix), "", len(self._name(""))
        while True:
            params = {"format": "json", "prefix": full, "limit": LISTING_LIMIT}
            if marker:
                params["marker"] = marker
            r = self._call("list objects", "get", f"/{quote(self.container)}", (200, 204, 404),
                           params=params)  # fmt: skip
            rows = r.json() if r.status_code == 200 else []
            for row in rows:
                yield row["name"][cut:], int(row["bytes"])
            if len(rows) < LISTING_LIMIT:
                return
            marker = rows[-1]["name"]

    def _head(self, name: str, manifest: bool = False):
        params = {"multipart-manifest": "get"} if manifest else None
        return self._call("read an object", "head", self._path(name), (200, 404), params=params)

    def size(self, key: str) -> int | None:
        r = self._head(self._name(key))
        return int(r.headers.get("Content-Length", 0)) if r.status_code == 200 else None

    def read(self, key: str, chunk: int = 1 << 20) -> Iterator[bytes]:
        r = self._call("read an object", "get", self._path(self._name(key)), (200, 404),
                       stream=True, timeout=self._stream("download"))  # fmt: skip
        if r.status_code == 404:
            r.close()
            raise NotFound(f"{self.url}/{key} does not exist")
        return _stream(r, chunk, self.url)

    def read_bytes(self, key: str) -> bytes | None:
        r = self._call("read an object", "get", self._path(self._name(key)), (200, 404))
        return r.content if r.status_code == 200 else None

    # -- writing --------------------------------------------------------------------------
    def write(self, key: str, chunks: Iterable[bytes], size_hint: int | None = None) -> int:
        name = self._name(key)
        if size_hint is not None and size_hint < self.segment_bytes * 0.99:
            counted = _Counted(chunks)
            self._call("store an object", "put", self._path(name), (201,), data=iter(counted),
                       timeout=self._stream("upload"))  # fmt: skip
            return counted.bytes
        return self._write_large(key, chunks)

    def _write_large(self, key: str, chunks: Iterable[bytes]) -> int:
        name, upload = self._name(key), uuid.uuid4().hex
        pieces, segments, total = Pieces(chunks, self.segment_bytes), [], 0
        try:
            while not pieces.done:
                counted = _Counted(pieces.piece())
                seg = self._name(f"segments/{key}/{upload}/{len(segments):08d}")
                self._call("store a segment", "put", self._path(seg), (201,), data=iter(counted),
                           timeout=self._stream("upload"))  # fmt: skip
                if counted.bytes == 0:  # the source ended exactly at a segment boundary
                    self._call("remove a segment", "delete", self._path(seg), (204, 404))
                    break
                segments.append({"path": f"/{self.container}/{seg}", "size_bytes": counted.bytes})
                total += counted.bytes
            if not segments:  # an empty object
                self._call("store an object", "put", self._path(name), (201,), data=b"")
                return 0
            self._call(
                "store a large object's manifest", "put", self._path(name), (201,),
                params={"multipart-manifest": "put"}, data=json.dumps(segments),
                headers={UPLOAD_HEADER: upload},
            )  # fmt: skip
            return total
        except BaseException:
            with contextlib.suppress(StorageError):
                for seg in segments:
                    self._call("remove a segment", "delete", quote(seg["path"]), (204, 404))
            raise

    def write_bytes(self, key: str, data: bytes, create_only: bool = False) -> bool:
        headers = {"If-None-Match": "*"} if create_only else {}
        r = self._call("store an object", "put", self._path(self._name(key)), (201, 412),
                       data=data, headers=headers)  # fmt: skip
        return r.status_code == 201

    def delete(self, key: str) -> None:
        name = self._name(key)
        head = self._head(name, manifest=True)
        params = {"multipart-manifest": "delete"} if _is_slo(head) else None
        self._call("remove an object", "delete", self._path(name), (200, 204, 404), params=params)

    def rename(self, src: str, dst: str) -> None:
        """Server-side copy (a large object's manifest only: the segments stay), then delete."""
        self._call(
            "move an object", "put", self._path(self._name(dst)), (201,), data=b"",
            params={"multipart-manifest": "get"},
            headers={"X-Copy-From": self._path(self._name(src))},
        )  # fmt: skip
        self._call("move an object", "delete", self._path(self._name(src)), (204, 404))

    def clean_partial(self) -> int:
        """Delete segments of uploads that never got (or lost) their manifest."""
        owners: dict[str, dict[str, list[str]]] = {}
        for key, _size in self.list("segments/"):
            parts = key.split("/")
            if len(parts) >= 4:  # segments/<object key…>/<upload>/<n>
                owners.setdefault("/".join(parts[1:-2]), {}).setdefault(parts[-2], []).append(key)
        removed = 0
        for obj, uploads in owners.items():
            head = self._head(self._name(obj), manifest=True)
            live = head.headers.get(UPLOAD_HEADER) if head.status_code == 200 else None
            for upload, keys in uploads.items():
                if upload == live:
                    continue
                for key in keys:
                    self._call("remove a segment", "delete", self._path(self._name(key)),
                               (204, 404))  # fmt: skip
                    removed += 1
        return removed

    def ensure_space(self, size: int, reserve: int) -> None:
        pass  # quotas answer 413 on the write itself

    def close(self) -> None:
        self._session.close()


def _is_slo(head) -> bool:
    return head.status_code == 200 and head.headers.get("X-Static-Large-Object") == "True"


class _Counted:
    """Counts the bytes that pass through (what a PUT stored)."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = chunks
        self.bytes = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.bytes += len(chunk)
            yield chunk


def _stream(response, chunk: int, url: str) -> Iterator[bytes]:
    try:
        yield from response.iter_content(chunk)
    except PROVIDER_ERRORS as e:
        raise StorageError(f"{url}: reading an object failed: {type(e).__name__}") from None
    finally:
        response.close()
