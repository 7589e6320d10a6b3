"""A repository in an S3 bucket (``s3://BUCKET[/PREFIX]``) through boto3 (the ``s3`` extra).

An object that fits in one part is one PutObject of at most one part held in memory; a
larger one is a multipart upload whose parts are read from the stream one at a time
(memory: one part, 16 MiB or more for very large images to stay under 10 000 parts) and
completed only when the stream ended normally — otherwise the upload is aborted, and
``clean_partial`` aborts any a killed run left. The create-if-absent write of the remote
lock is a conditional PutObject (``If-None-Match: *``).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator
from typing import Any

from glint_backup.errors import BackupConfigError
from glint_backup.storage.base import NotFound, Pieces, StorageError

MIN_PART = 16 << 20
MAX_PARTS = 9_000  # S3 allows 10 000: keep room for a size hint that was low


def part_size(size_hint: int | None, floor: int = MIN_PART) -> int:
    """Parts of *floor* bytes, larger when the object would need more than MAX_PARTS."""
    if not size_hint:
        return floor
    return max(floor, math.ceil(size_hint / MAX_PARTS / (1 << 20)) << 20)


def make_client(endpoint: str | None, region: str, access: tuple[str, str] | None,
                profile: str | None, timeouts: tuple[float, float]):  # fmt: skip
    """A boto3 S3 client; *access* None means boto3's own chain (environment, profile)."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise BackupConfigError(
            "s3:// repositories need boto3: pip install boto3 "
            "(or, in glint's checkout: pip install '.[s3]')"
        ) from None
    session = boto3.session.Session(profile_name=profile) if profile else boto3.session.Session()
    keys: dict[str, str] = {}
    if access:
        keys = {"aws_access_key_id": access[0], "aws_secret_access_key": access[1]}
    config = Config(
        connect_timeout=timeouts[0], read_timeout=timeouts[1],
        retries={"max_attempts": 3, "mode": "standard"},
        s3={"addressing_style": "path"},
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )  # fmt: skip
    return session.client("s3", endpoint_url=endpoint, region_name=region, config=config, **keys)


class S3Backend:
    remote = True

    def __init__(self, client: Any, bucket: str, prefix: str = "", min_part: int = 0):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.min_part = min_part or MIN_PART
        self.url = f"s3://{bucket}" + (f"/{self.prefix}" if self.prefix else "")

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _do(self, what: str, method: str, missing_ok: bool = False, **kw: Any):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kw)
        except ClientError as e:
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if missing_ok and status == 404:
                return None
            if status in (409, 412):
                raise _Precondition() from None
            code = e.response.get("Error", {}).get("Code", "?")
            message = f"{self.url}: cannot {what}: {code} (HTTP {status})"
            raise StorageError(message, status) from None
        except BotoCoreError as e:
            raise StorageError(f"{self.url}: cannot {what}: {e}") from None

    def create_bucket(self) -> None:
        with contextlib.suppress(_Precondition):  # it exists already
            self._do("create the bucket", "create_bucket")

    def bucket_exists(self) -> bool:
        return self._do("read the bucket", "head_bucket", missing_ok=True) is not None

    # -- reading --------------------------------------------------------------------------
    def list(self, prefix: str) -> Iterator[tuple[str, int]]:
        cut, token = len(self._key("")), None
        while True:
            kw: dict[str, Any] = {"Prefix": self._key(prefix)}
            if token:
                kw["ContinuationToken"] = token
            page = self._do("list objects", "list_objects_v2", missing_ok=True, **kw)
            if page is None:  # no bucket yet: nothing in it
                return
            for row in page.get("Contents", []):
                yield row["Key"][cut:], int(row["Size"])
            if not page.get("IsTruncated"):
                return
            token = page["NextContinuationToken"]

    def size(self, key: str) -> int | None:
        head = self._do("read an object", "head_object", missing_ok=True, Key=self._key(key))
        return None if head is None else int(head["ContentLength"])

    def read(self, key: str, chunk: int = 1 << 20) -> Iterator[bytes]:
        got = self._do("read an object", "get_object", missing_ok=True, Key=self._key(key))
        if got is None:
            raise NotFound(f"{self.url}/{key} does not exist")
        return _stream(got["Body"], chunk, self.url)

    def read_bytes(self, key: str) -> bytes | None:
        got = self._do("read an object", "get_object", missing_ok=True, Key=self._key(key))
        return None if got is None else got["Body"].read()

    # -- writing --------------------------------------------------------------------------
    def write(self, key: str, chunks: Iterable[bytes], size_hint: int | None = None) -> int:
        size = part_size(size_hint, self.min_part)
        pieces = Pieces(chunks, size)
        first = b"".join(pieces.piece())
        if pieces.done:  # one part: a plain PutObject
            self._do("store an object", "put_object", Key=self._key(key), Body=first)
            return len(first)
        upload = self._do("start an upload", "create_multipart_upload", Key=self._key(key))
        uid, parts, total = upload["UploadId"], [], 0
        try:
            body = first
            while body:
                done = self._do("store a part", "upload_part", Key=self._key(key), UploadId=uid,
                                PartNumber=len(parts) + 1, Body=body)  # fmt: skip
                parts.append({"PartNumber": len(parts) + 1, "ETag": done["ETag"]})
                total += len(body)
                body = b"" if pieces.done else b"".join(pieces.piece())
            self._do("finish an upload", "complete_multipart_upload", Key=self._key(key),
                     UploadId=uid, MultipartUpload={"Parts": parts})  # fmt: skip
            return total
        except BaseException:
            with contextlib.suppress(StorageError, _Precondition):  # else clean_partial
                self._do("abort an upload", "abort_multipart_upload", Key=self._key(key),
                         UploadId=uid)  # fmt: skip
            raise

    def write_bytes(self, key: str, data: bytes, create_only: bool = False) -> bool:
        kw: dict[str, Any] = {"IfNoneMatch": "*"} if create_only else {}
        try:
            self._do("store an object", "put_object", Key=self._key(key), Body=data, **kw)
        except _Precondition:
            return False
        return True

    def delete(self, key: str) -> None:
        self._do("remove an object", "delete_object", missing_ok=True, Key=self._key(key))

    def rename(self, src: str, dst: str) -> None:
        try:
            self.client.copy({"Bucket": self.bucket, "Key": self._key(src)}, self.bucket,
                             self._key(dst))  # fmt: skip
        except Exception as e:  # boto3's managed copy raises several kinds
            raise StorageError(f"{self.url}: cannot move {src}: {type(e).__name__}") from None
        self.delete(src)

    def clean_partial(self) -> int:
        """Abort the multipart uploads an interrupted run left under the prefix."""
        page = self._do("list uploads", "list_multipart_uploads", Prefix=self._key(""))
        removed = 0
        for up in (page or {}).get("Uploads", []):
            try:
                self._do("abort an upload", "abort_multipart_upload", Key=up["Key"],
                         UploadId=up["UploadId"])  # fmt: skip
                removed += 1
            except _Precondition:
                continue
        return removed

    def ensure_space(self, size: int, reserve: int) -> None:
        pass

    def close(self) -> None:
        self.client.close()


class _Precondition(Exception):
    """A conditional write found the key present (HTTP 412/409)."""


def _stream(body, chunk: int, url: str) -> Iterator[bytes]:
    from botocore.exceptions import BotoCoreError

    try:
        yield from body.iter_chunks(chunk)
    except BotoCoreError as e:
        raise StorageError(f"{url}: reading an object failed: {e}") from None
    finally:
        body.close()
