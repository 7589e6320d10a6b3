"""The cloud session protocol is complete and both implementations keep it: every member
of ``CloudSession`` exists on ``OpenStackSession`` and on the FAKE ``FakeSession`` with
parameters the protocol's callers may pass, and each member says what it does."""

from __future__ import annotations

import inspect

import pytest

from glint_tui.core.clouds.base import CloudSession
from glint_tui.core.clouds.ec2.session import Ec2Session
from glint_tui.core.clouds.openstack import OpenStackSession
from glint_tui.core.model import Credential, Repository
from tests.fakecloud import FakeCloud, FakeSession

IMPLEMENTATIONS = [OpenStackSession, Ec2Session, FakeSession]


def protocol_members() -> dict[str, object]:
    members = {}
    for name, value in vars(CloudSession).items():
        if name.startswith("_") and name not in ("__enter__", "__exit__"):
            continue
        if callable(value) or isinstance(value, property):
            members[name] = value
    return members


def test_the_protocol_covers_what_the_engine_inventory_and_backup_call():
    assert set(protocol_members()) >= {
        "project_id", "check", "is_admin", "cloud_identity", "list_projects", "list_images",
        "get_image", "download", "create_image", "upload", "stored_hashes", "update_image",
        "delete_image", "list_members", "add_member", "update_member_status", "close",
        "__enter__", "__exit__",
    }  # fmt: skip
    assert set(CloudSession.__annotations__) >= {"repository", "credential", "page_size"}


def test_every_protocol_member_says_what_it_does():
    undocumented = [
        name
        for name, member in protocol_members().items()
        if name != "__exit__" and not inspect.getdoc(member)
    ]
    assert undocumented == []


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS, ids=lambda c: c.__name__)
def test_an_implementation_accepts_every_call_the_protocol_allows(implementation):
    for name, member in protocol_members().items():
        assert hasattr(implementation, name), f"{implementation.__name__} lacks {name}"
        if isinstance(member, property):
            assert isinstance(getattr(implementation, name), property), name
            continue
        wanted = inspect.signature(member).parameters
        have = inspect.signature(getattr(implementation, name)).parameters
        for param in wanted.values():
            if param.kind is param.VAR_POSITIONAL:
                continue
            if param.kind is param.VAR_KEYWORD:
                assert any(p.kind is p.VAR_KEYWORD for p in have.values()), name
                continue
            assert param.name in have, f"{implementation.__name__}.{name} lacks {param.name}"
            if param.default is not param.empty:
                assert have[param.name].default == param.default, f"{name}({param.name}=)"
        extra = [
            p
            for n, p in have.items()
            if n not in wanted and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        ]
        assert all(p.default is not p.empty for p in extra), (
            f"{name} needs more than the protocol gives"
        )


def test_both_sessions_are_context_managers_that_close():
    fake = FakeSession(FakeCloud("f1"), "alpha")
    assert isinstance(fake, CloudSession)  # (on a real session this check logs in)
    real = OpenStackSession(  # lazy: nothing is sent
        Repository("c1", "http://127.0.0.1:9/v3"), Credential("c1", "alpha", "alice"), "secret"
    )
    for session in (fake, real):
        with session as entered:
            assert entered is session
    assert fake.closed
