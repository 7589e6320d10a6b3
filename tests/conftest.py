"""The test bed: real sandbox clouds, started once per test session by glint's own code.

Everything runs in an isolated ``GLINT_HOME`` on free loopback ports, so a developer's own
sandbox and configuration are never touched. The server venv is shared (built once).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from glint_tui.core.clouds import open_session
from glint_tui.core.clouds.base import CloudSession
from glint_tui.core.model import ProjectRef
from glint_tui.core.paths import SANDBOX_PROFILE, paths_for
from glint_tui.sandbox.cloud import Cloud
from glint_tui.sandbox.manager import Sandbox
from glint_tui.sandbox.shapes import Shape, shape_ports
from tests.helpers import SilentListener, free_port, free_port_base

# Fixtures that start real servers (clouds, object stores, emulators). A new one goes here.
CLOUD_FIXTURES = frozenset({"sandbox", "sandbox_shapes", "swift", "moto_ec2", "moto_strict"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses a fixture of ``CLOUD_FIXTURES`` (directly or through another
    fixture) is a sandbox test, marked or not: ``pytest -m "not sandbox"`` never starts one."""
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if CLOUD_FIXTURES & names:
            item.add_marker(pytest.mark.sandbox)
        if "moto_ec2" in names or "moto_strict" in names:
            item.add_marker(pytest.mark.ec2)


class TestBed:
    """A running, seeded sandbox plus shortcuts the tests use."""

    def __init__(self, sandbox: Sandbox, home: Path):
        self.sandbox = sandbox
        self.home = home
        self.paths = sandbox.paths

    def cloud(self, name: str) -> Cloud:
        return self.sandbox.cloud(name)

    @property
    def clouds(self) -> list[Cloud]:
        return self.sandbox.clouds

    def session(self, ref: str | ProjectRef) -> CloudSession:
        """A session as the member user of *ref* ("c1:alpha" → alice, "c1:beta" → bob)."""
        ref = ProjectRef.parse(ref) if isinstance(ref, str) else ref
        cloud = self.cloud(ref.repository)
        for cred, secret in self.sandbox.member_credentials(cloud):
            if cred.project == ref.project:
                return open_session(self.sandbox.repository(cloud), cred, secret)
        raise KeyError(ref)

    def admin_session(self, cloud_name: str) -> CloudSession:
        cloud = self.cloud(cloud_name)
        cred, secret = self.sandbox.admin_credential(cloud)
        return open_session(self.sandbox.repository(cloud), cred, secret)

    def env(self) -> dict[str, str]:
        """Environment for running the `glint` binary against this bed."""
        env = dict(os.environ)
        env.update({"GLINT_HOME": str(self.home), "GLINT_PROFILE": SANDBOX_PROFILE})
        return env

    def ensure_running(self) -> None:
        """Restart any service a test stopped (tests that stop Glance call this in finally)."""
        for cloud in self.clouds:
            for service in cloud.services:
                if not cloud.alive(service):
                    cloud.start(service)
                    cloud.wait_ready(service)


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestBed]:
    home = tmp_path_factory.mktemp("glint-home")
    saved = {k: os.environ.get(k) for k in ("GLINT_HOME", "GLINT_PROFILE")}
    os.environ["GLINT_HOME"] = str(home)
    os.environ["GLINT_PROFILE"] = SANDBOX_PROFILE
    sb = Sandbox(paths_for(SANDBOX_PROFILE), port_base=free_port_base(3))
    try:
        sb.up(3, progress=lambda line: print(line, file=sys.stderr))
        yield TestBed(sb, home)
    finally:
        sb.down()
        shutil.rmtree(sb.root, ignore_errors=True)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture(scope="session")
def sandbox_shapes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestBed]:
    """A second, small sandbox for cloud-side copies, started only for tests that ask.

    c1 has two regions (RegionOne, RegionTwo: a Glance each) and two file stores per Glance;
    c2 is a stock cloud. No sample images. It has its own GLINT_HOME (``bed.home``, and
    ``bed.env()`` for the `glint` binary) and leaves the process environment alone, so it
    can run in the same session as the default bed.
    """
    home = tmp_path_factory.mktemp("glint-home-shapes")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GLINT_HOME", str(home))
        paths = paths_for(SANDBOX_PROFILE)
    shape = Shape(regions=2, stores=2)
    sb = Sandbox(paths, port_base=free_port_base(2, shape_ports, shape))
    try:
        sb.up(2, seed=False, shape=shape, progress=lambda line: print(line, file=sys.stderr))
        yield TestBed(sb, home)
    finally:
        sb.down()
        shutil.rmtree(sb.root, ignore_errors=True)


@pytest.fixture(scope="session")
def moto_ec2(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """An EC2 emulator (moto in server mode) on 127.0.0.1, started only when a test in the
    session asks for it; it checks no key (any key is moto's default account). Two AMIs of
    another account are in every account's view (moto keeps accounts apart, so a share
    between two of its accounts is never seen: its AMI list is how another owner's AMIs
    get there), one of them public."""
    from glint_tui.sandbox.ec2 import MotoServer
    from tests.ec2_helpers import Ec2Bed, foreign_amis

    root = tmp_path_factory.mktemp("moto")
    server = MotoServer(root, free_port(), amis_file=foreign_amis(root / "amis.json"))
    server.start()
    try:
        yield Ec2Bed(server)
    finally:
        server.stop()


STRICT_BOOTSTRAP = 4  # requests moto serves before it checks keys: user, key, policy, key


@pytest.fixture(scope="session")
def moto_strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A second moto that checks keys and policies after its first requests, which make
    the IAM user ``glint`` (may do everything), its key, and the user ``nobody`` (may
    do nothing) with its key. Yields (bed, (glint key, secret), (nobody key, secret))."""
    import json

    from glint_tui.sandbox.ec2 import MotoServer
    from tests.ec2_helpers import Ec2Bed

    server = MotoServer(
        tmp_path_factory.mktemp("moto-strict"), free_port(), strict_after=STRICT_BOOTSTRAP
    )
    server.start()
    try:
        bed = Ec2Bed(server)
        iam = bed.client("iam")
        allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*",
                                                           "Resource": "*"}]}  # fmt: skip
        iam.create_user(UserName="glint")
        iam.put_user_policy(UserName="glint", PolicyName="all", PolicyDocument=json.dumps(allow))
        key = iam.create_access_key(UserName="glint")["AccessKey"]
        iam.create_user(UserName="nobody")
        # moto now checks every request: the next ones must be signed by a key it knows
        admin = bed.client("iam", key=key["AccessKeyId"], secret=key["SecretAccessKey"])
        weak = admin.create_access_key(UserName="nobody")["AccessKey"]
        yield (
            bed,
            (key["AccessKeyId"], key["SecretAccessKey"]),
            (weak["AccessKeyId"], weak["SecretAccessKey"]),
        )
    finally:
        server.stop()


@pytest.fixture(scope="session")
def swift(sandbox: TestBed):
    """A real Swift (Swift + S3 APIs) beside c1, started once, only for tests that ask."""
    server = sandbox.sandbox.start_swift(lambda line: print(line, file=sys.stderr))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_keys(sandbox: TestBed, swift) -> tuple[str, str]:
    """EC2-style keys of c1's admin, which the sandbox Swift's s3api accepts."""
    from glint_tui.sandbox.identity import ec2_credentials

    return ec2_credentials(sandbox.cloud("c1"))


@pytest.fixture
def silent_keystone() -> Iterator[SilentListener]:
    """A "Keystone" that accepts connections and never answers (``SilentListener``)."""
    listener = SilentListener()
    try:
        yield listener
    finally:
        listener.close()


@pytest.fixture
def admin(sandbox: TestBed) -> Iterator[CloudSession]:
    """The sandbox admin's session on c1 (project admin)."""
    session = sandbox.admin_session("c1")
    try:
        yield session
    finally:
        session.close()
