"""The EC2 emulator test bed: moto in server mode on loopback, and shortcuts to it.

There is no AWS here. moto proves glint's calls are well formed and that glint does the
right thing with moto's answers; it does not prove EC2 accepts them: it stores blocks
without checking their checksums, keeps little of RegisterImage's arguments, and copies
no blocks in CopyImage. Tests say which of those they lean on in their names.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3

from glint_tui.core.clouds import open_session
from glint_tui.core.clouds.ec2.session import Ec2Session
from glint_tui.core.model import Credential, Repository
from glint_tui.sandbox.ec2 import (
    DEFAULT_ACCOUNT,
    DUMMY_KEY_ID,
    DUMMY_SECRET,
    REGIONS,
    MotoServer,
)

OTHER_ACCOUNT = "210987654321"
SHARED_AMI = "ami-0000000000000a001"  # another account's, shared with ours by the test
PUBLIC_AMI = "ami-0000000000000a002"  # another account's, public


def foreign_amis(path: Path) -> Path:
    """moto's AMI list (``MOTO_AMIS_PATH``): two AMIs owned by ``OTHER_ACCOUNT``."""
    common = {
        "owner_id": OTHER_ACCOUNT,
        "state": "available",
        "virtualization_type": "hvm",
        "architecture": "x86_64",
        "root_device_type": "ebs",
        "root_device_name": "/dev/xvda",
        "image_type": "machine",
        "hypervisor": "xen",
    }
    amis = [
        {**common, "ami_id": SHARED_AMI, "name": "their-shared-image", "public": False},
        {**common, "ami_id": PUBLIC_AMI, "name": "their-public-image", "public": True},
    ]
    path.write_text(json.dumps(amis))
    return path


class Ec2Bed:
    """One moto server and the ``ec2`` repository glint sees it as."""

    def __init__(self, server: MotoServer) -> None:
        self.server = server

    @property
    def url(self) -> str:
        return self.server.url

    def repository(self, region: str | None = None, name: str = "ec2") -> Repository:
        return Repository(
            name,
            "",
            cloud_type="ec2",
            regions=REGIONS,
            endpoint_url=self.url,
            region=region,
        )

    def credential(self, account: str = "", key: str = DUMMY_KEY_ID) -> Credential:
        return Credential("ec2", account, key, auth_type="access_key")

    def session(
        self, region: str = REGIONS[0], key: str = DUMMY_KEY_ID, secret: str = DUMMY_SECRET
    ) -> Ec2Session:
        return open_session(self.repository(region), self.credential(key=key), secret)  # type: ignore[return-value]

    def client(self, service: str, region: str = REGIONS[0], **keys: str) -> Any:
        """A plain boto3 client (for setting the scene, never for glint's own calls)."""
        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id=keys.get("key", DUMMY_KEY_ID),
            aws_secret_access_key=keys.get("secret", DUMMY_SECRET),
            aws_session_token=keys.get("token"),
        )


def count_calls(client: Any, operation: str) -> list[dict[str, Any]]:
    """Every call of *operation* this botocore client makes, as its parameters (a
    botocore event hook: what glint sent, whatever the emulator keeps of it)."""
    seen: list[dict[str, Any]] = []
    service = client.meta.service_model.service_name

    def hook(params: dict[str, Any], **_: Any) -> None:
        seen.append({k: v for k, v in params.items() if k != "BlockData"})

    client.meta.events.register(f"provide-client-params.{service}.{operation}", hook)
    return seen


def before_call(client: Any, operation: str, handler: Callable[..., Any]) -> None:
    service = client.meta.service_model.service_name
    client.meta.events.register(f"before-call.{service}.{operation}", handler)


class NoStsCloud:
    """An EC2-compatible cloud without STS, in front of moto (which always has STS): every
    request is passed on to moto except STS's, answered 404 Not Found as by an endpoint
    that has no such service. A stand-in for a fault moto cannot be made to produce."""

    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").rstrip("/").split(":")
        self.sts_requests = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self._pass_on()

            def do_GET(self) -> None:
                self._pass_on()

            def do_PUT(self) -> None:
                self._pass_on()

            def _pass_on(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if "/sts/aws4_request" in self.headers.get("Authorization", ""):
                    outer.sts_requests += 1
                    self._answer(404, [("Content-Type", "text/plain")], b"Not Found")
                    return
                conn = http.client.HTTPConnection(host, int(port), timeout=60)
                try:
                    conn.request(self.command, self.path, body, dict(self.headers.items()))
                    got = conn.getresponse()
                    self._answer(got.status, got.getheaders(), got.read())
                finally:
                    conn.close()

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


__all__ = ["DEFAULT_ACCOUNT", "DUMMY_SECRET", "Ec2Bed", "NoStsCloud", "count_calls", "before_call"]
