"""A boto3 session per credential kind, clients with glint's timeouts, the login check.

Credential kinds (``Credential.auth_type``), following boto3's own conventions:

* ``access_key``: ``username`` is the access key id, the secret comes from glint's keyring;
* ``profile``: ``username`` names a profile of ``~/.aws/config`` / ``~/.aws/credentials``
  (``AWS_CONFIG_FILE`` / ``AWS_SHARED_CREDENTIALS_FILE`` move them), glint stores nothing;
* ``environment``: boto3's default search (``AWS_ACCESS_KEY_ID`` …, the default profile,
  an instance role), glint stores nothing.

Every client talks to ``Repository.endpoint_url`` when set (an EC2-compatible cloud or an
emulator: one URL for EC2, EBS and STS), else to AWS's regional endpoints. Timeouts are
glint's (``core.timeouts``): logins under ``auth``, API calls under ``api``, block
transfers under ``stream``; botocore's "standard" retry mode retries throttles and 5xx a
few times before glint sees an error.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from glint_tui.core.model import Credential, Repository
from glint_tui.core.timeouts import Timeouts

API_ATTEMPTS = 4  # botocore "standard" mode: first try + 3 retries of throttles and 5xx
BLOCK_ATTEMPTS = 1  # block puts/gets are retried by glint itself, one block at a time


def boto_session(repository: Repository, credential: Credential, secret: str) -> boto3.Session:
    """The boto3 session for *credential* in the session's region (nothing sent yet)."""
    region = repository.region
    if credential.auth_type == "access_key":
        return boto3.session.Session(
            aws_access_key_id=credential.username,
            aws_secret_access_key=secret,
            region_name=region,
        )
    if credential.auth_type == "profile":
        return boto3.session.Session(profile_name=credential.username, region_name=region)
    return boto3.session.Session(region_name=region)


def _verify(repository: Repository) -> bool | str:
    if repository.insecure:
        return False
    return repository.ca_bundle or True


class Clients:
    """The session's boto3 clients, made on first use (thread-safe: block workers share
    the EBS clients; boto3 clients are safe to share between threads)."""

    def __init__(
        self,
        repository: Repository,
        credential: Credential,
        secret: str,
        timeouts: Timeouts,
        pool: int = 16,
    ) -> None:
        self.repository = repository
        self.credential = credential
        self._secret = secret
        self.timeouts = timeouts
        self.pool = pool
        self._lock = threading.Lock()
        self._session: boto3.Session | None = None
        self._clients: dict[str, Any] = {}

    def __repr__(self) -> str:  # never the secret
        return f"Clients({self.repository.name}/{self.repository.region})"

    @property
    def endpoint(self) -> str:
        """Where the calls go, for messages."""
        if self.repository.endpoint_url:
            return self.repository.endpoint_url
        return f"AWS region {self.repository.region}"

    def _config(self, read: float, attempts: int) -> Config:
        return Config(
            connect_timeout=self.timeouts.connect,
            read_timeout=read,
            retries={"max_attempts": attempts, "mode": "standard"},
            max_pool_connections=self.pool,
            user_agent_extra="glint",
        )

    def _client(
        self, key: str, service: str, read: float, attempts: int, region: str | None = None
    ) -> Any:
        with self._lock:
            if key not in self._clients:
                if self._session is None:
                    self._session = boto_session(self.repository, self.credential, self._secret)
                self._clients[key] = self._session.client(
                    service,
                    region_name=region or self.repository.region,
                    endpoint_url=self.repository.endpoint_url or None,
                    verify=_verify(self.repository),
                    config=self._config(read, attempts),
                )
            return self._clients[key]

    @property
    def ec2(self) -> Any:
        return self._client("ec2", "ec2", self.timeouts.api, API_ATTEMPTS)

    @property
    def sts(self) -> Any:
        return self._client("sts", "sts", self.timeouts.auth, API_ATTEMPTS)

    @property
    def ebs(self) -> Any:
        """EBS direct APIs for snapshot metadata calls (start, complete, list)."""
        return self._client("ebs", "ebs", self.timeouts.api, API_ATTEMPTS)

    @property
    def blocks(self) -> Any:
        """EBS direct APIs for block data: the stream timeout, glint's own retries."""
        return self._client("blocks", "ebs", self.timeouts.stream, BLOCK_ATTEMPTS)

    def ec2_in(self, region: str) -> Any:
        """An EC2 client of another region of the same account (CopyImage's source)."""
        if region == self.repository.region:
            return self.ec2
        return self._client(f"ec2:{region}", "ec2", self.timeouts.api, API_ATTEMPTS, region)

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                close = getattr(client, "close", None)
                if close is not None:
                    close()
            self._clients.clear()
            self._session = None
