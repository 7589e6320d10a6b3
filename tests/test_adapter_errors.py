"""Every way a login or a Glance call fails, against real Keystone + Glance.

Each failure must surface as one precise glint error with a human message that names the
user/project/endpoint and never contains the secret. Test plumbing that has to talk to
Keystone directly (issuing/revoking tokens, making application credentials) uses plain
HTTP, independent of the adapter under test.
"""

from __future__ import annotations

import io
import socket
import uuid
from collections.abc import Iterator
from dataclasses import replace

import pytest
import requests

from glint_tui.core import errors
from glint_tui.core.clouds import open_session
from glint_tui.core.clouds.base import ImageSpec
from glint_tui.core.errors import ConfigError
from glint_tui.core.model import Credential, Repository
from glint_tui.core.timeouts import Timeouts
from tests.helpers import DroppingProxy, frozen, random_bytes, unique, upload_image, wait_for

pytestmark = pytest.mark.sandbox
MiB = 1 << 20


def _repo(sandbox, name: str = "c1") -> Repository:
    return sandbox.sandbox.repository(sandbox.cloud(name))


def _secret() -> str:
    """A distinctive secret, so finding it in a message cannot be a coincidence."""
    return f"S3cret-{uuid.uuid4().hex}"


def _fails(session, exc_type: type[errors.CloudError], secret: str) -> errors.CloudError:
    with pytest.raises(exc_type) as info:
        session.check()
    message = str(info.value)
    assert secret not in message and secret not in repr(info.value)
    assert "Traceback" not in message and "Exception" not in message
    return info.value


def _keystone_token(sandbox, user: str, password: str, project: str) -> str:
    url = _repo(sandbox).auth_url.rstrip("/") + "/auth/tokens"
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {"name": user, "domain": {"name": "Default"}, "password": password}
                },
            },
            "scope": {"project": {"name": project, "domain": {"name": "Default"}}},
        }
    }
    r = requests.post(url, json=body, timeout=30)
    r.raise_for_status()
    return r.headers["X-Subject-Token"]


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port nobody listens on (bound, never listening, so nobody else takes it)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def test_wrong_password(sandbox) -> None:
    secret = _secret()
    session = open_session(_repo(sandbox), Credential("c1", "alpha", "alice"), secret)
    err = _fails(session, errors.AuthenticationFailed, secret)
    assert "wrong user name or password for alice" in str(err)
    assert str(err).startswith("c1:alpha: ")
    assert not err.transient


def test_unknown_user(sandbox) -> None:
    secret = _secret()
    session = open_session(_repo(sandbox), Credential("c1", "alpha", "nobody"), secret)
    assert "nobody" in str(_fails(session, errors.AuthenticationFailed, secret))


def test_unknown_project(sandbox) -> None:
    session = open_session(_repo(sandbox), Credential("c1", "no-such", "alice"), "alice-pass")
    err = _fails(session, errors.ProjectNotFound, "alice-pass")
    assert "no-such" in str(err) and "alice" in str(err)


def test_project_without_a_role(sandbox) -> None:
    session = open_session(_repo(sandbox), Credential("c1", "beta", "alice"), "alice-pass")
    assert "beta" in str(_fails(session, errors.ProjectNotFound, "alice-pass"))


def test_closed_keystone_port_is_unreachable(sandbox, closed_port: int) -> None:
    repo = replace(_repo(sandbox), auth_url=f"http://127.0.0.1:{closed_port}/v3")
    session = open_session(repo, Credential("c1", "alpha", "alice"), "alice-pass")
    err = _fails(session, errors.Unreachable, "alice-pass")
    assert f"Keystone at http://127.0.0.1:{closed_port}" in str(err)
    assert err.transient


def test_a_connection_keystone_drops_before_answering_is_tried_once_more(sandbox) -> None:
    """The first connection is closed after the request, before any answer: the login
    still works (a read or a login is tried once more; nothing is done twice)."""
    proxy = DroppingProxy(sandbox.cloud("c1").keystone_port, drops=1)
    try:
        repo = replace(_repo(sandbox), auth_url=proxy.url)
        with open_session(repo, Credential("c1", "alpha", "alice"), "alice-pass") as session:
            session.check()
            assert session.project_id
        assert proxy.accepted >= 2
    finally:
        proxy.close()


def test_a_keystone_that_keeps_dropping_connections_fails_after_one_more_try(sandbox) -> None:
    proxy = DroppingProxy(sandbox.cloud("c1").keystone_port, drops=1000)
    try:
        repo = replace(_repo(sandbox), auth_url=proxy.url)
        session = open_session(repo, Credential("c1", "alpha", "alice"), "alice-pass")
        err = _fails(session, errors.ServerError, "alice-pass")
        assert "dropped" in str(err) and err.transient
        assert proxy.accepted == 2, "one request, tried exactly once more"
    finally:
        proxy.close()


def test_unresolvable_host_is_unreachable(sandbox) -> None:
    repo = replace(_repo(sandbox), auth_url="http://no-such-host.invalid:5000/v3")
    session = open_session(repo, Credential("c1", "alpha", "alice"), "alice-pass")
    _fails(session, errors.Unreachable, "alice-pass")


def test_wrong_region_has_no_image_endpoint(sandbox) -> None:
    repo = replace(_repo(sandbox), region="Atlantis")
    session = open_session(repo, Credential("c1", "alpha", "alice"), "alice-pass")
    err = _fails(session, errors.NoImageEndpoint, "alice-pass")
    assert "Atlantis" in str(err)


def test_garbage_token(sandbox) -> None:
    secret = _secret()
    cred = Credential("c1", "alpha", "alice", auth_type="token")
    err = _fails(open_session(_repo(sandbox), cred, secret), errors.AuthenticationFailed, secret)
    assert "token" in str(err)


def test_revoked_token(sandbox) -> None:
    token = _keystone_token(sandbox, "alice", "alice-pass", "alpha")
    cred = Credential("c1", "alpha", "alice", auth_type="token")
    with open_session(_repo(sandbox), cred, token) as working:
        working.check()  # a valid token works as a credential
    url = _repo(sandbox).auth_url.rstrip("/") + "/auth/tokens"
    r = requests.delete(url, headers={"X-Auth-Token": token, "X-Subject-Token": token}, timeout=30)
    assert r.status_code == 204
    _fails(open_session(_repo(sandbox), cred, token), errors.AuthenticationFailed, token)


def test_application_credential(sandbox) -> None:
    token = _keystone_token(sandbox, "alice", "alice-pass", "alpha")
    base = _repo(sandbox).auth_url.rstrip("/")
    user_id = requests.get(
        base + "/auth/tokens", headers={"X-Auth-Token": token, "X-Subject-Token": token}, timeout=30
    ).json()["token"]["user"]["id"]
    secret = _secret()
    r = requests.post(
        f"{base}/users/{user_id}/application_credentials",
        json={"application_credential": {"name": unique("glint"), "secret": secret}},
        headers={"X-Auth-Token": token},
        timeout=30,
    )
    r.raise_for_status()
    app_id = r.json()["application_credential"]["id"]
    cred = Credential("c1", "alpha", app_id, auth_type="application_credential")

    with open_session(_repo(sandbox), cred, secret) as session:
        session.check()
        assert [p.name for p in session.list_projects()] == ["alpha"]

    wrong = _secret()
    err = _fails(open_session(_repo(sandbox), cred, wrong), errors.AuthenticationFailed, wrong)
    assert app_id in str(err) and secret not in str(err)


def test_http_errors_map_to_glint_errors(sandbox) -> None:
    with sandbox.session("c1:alpha") as alice:
        with pytest.raises(errors.ImageNotFound) as missing:
            alice.get_image(str(uuid.uuid4()))
        assert missing.value.status == 404
        rec = upload_image(alice, unique("http"), b"z" * 4096)
        try:
            with pytest.raises(errors.PermissionDenied):  # only admin may publish
                alice.update_image(rec.id, visibility="public")
            with pytest.raises(errors.Conflict):  # a second upload into an active image
                alice.upload(rec.id, io.BytesIO(b"z" * 10), 10)
            with pytest.raises(errors.BadRequest):
                alice.create_image(ImageSpec(name=unique("bad"), disk_format="no-such-format"))
        finally:
            alice.delete_image(rec.id)


# -- services going away (cloud c3; always restarted) -----------------------------------
@pytest.fixture
def c3(sandbox) -> Iterator:
    cloud = sandbox.cloud("c3")
    try:
        yield cloud
    finally:
        sandbox.ensure_running()


def test_glance_stopped(sandbox, c3) -> None:
    alice = sandbox.session("c3:alpha")
    alice.check()
    c3.stop(("glance",))

    # an open session: the connection is refused
    with pytest.raises(errors.Unreachable) as existing:
        list(alice.list_images())
    assert existing.value.transient
    # a new session: version discovery fails; the message says Glance is not answering
    fresh = sandbox.session("c3:alpha")
    with pytest.raises(errors.Unreachable, match="Glance down"):
        fresh.check()

    c3.start("glance")
    c3.wait_ready("glance")
    assert isinstance(list(alice.list_images()), list)  # the same session recovers
    fresh.check()
    alice.close()
    fresh.close()


def test_keystone_stopped(sandbox, c3) -> None:
    c3.stop(("keystone",))
    session = sandbox.session("c3:alpha")
    err = _fails(session, errors.Unreachable, "alice-pass")
    assert "Keystone" in str(err)


def test_connection_dropped_mid_download(sandbox, c3) -> None:
    alice = sandbox.session("c3:alpha")
    rec = upload_image(alice, unique("drop"), random_bytes(64 * MiB))
    try:
        download = alice.download(rec.id, chunk_size=64 * 1024)
        chunks = iter(download)
        next(chunks)
        c3.stop(("glance",))  # the response in flight dies with the server
        with pytest.raises(errors.ServerError, match="dropped while trying to download") as info:
            for _ in chunks:
                pass
        download.close()
        assert info.value.transient
    finally:
        sandbox.ensure_running()
        alice.delete_image(rec.id)
        alice.close()


def test_wrong_auth_url_says_it_is_not_keystone(sandbox) -> None:
    repo = replace(_repo(sandbox), auth_url=sandbox.cloud("c1").glance_url)
    err = _fails(
        open_session(repo, Credential("c1", "alpha", "alice"), "alice-pass"),
        errors.Unreachable,
        "alice-pass",
    )
    assert "no Keystone v3 API" in str(err)


def test_missing_ca_bundle_is_a_config_error(sandbox, tmp_path) -> None:
    repo = replace(_repo(sandbox), ca_bundle=str(tmp_path / "missing.pem"))
    with pytest.raises(ConfigError, match="missing.pem"):
        open_session(repo, Credential("c1", "alpha", "alice"), "alice-pass")


def test_unknown_application_credential(sandbox) -> None:
    secret = _secret()
    cred = Credential("c1", "alpha", uuid.uuid4().hex, auth_type="application_credential")
    err = _fails(open_session(_repo(sandbox), cred, secret), errors.AuthenticationFailed, secret)
    assert cred.username in str(err)


def test_a_hung_glance_times_out_instead_of_hanging(sandbox, c3) -> None:
    """SIGSTOP freezes the real Glance: connections are accepted, nothing answers."""
    with sandbox.session("c3:alpha") as alice:
        alice.check()
        alice.timeouts = Timeouts(connect=5.0, api=3.0)
        with (
            frozen(c3),
            pytest.raises(errors.Unreachable, match="did not answer within 3 s") as info,
        ):
            list(alice.list_images())
        assert info.value.transient
        assert isinstance(list(alice.list_images()), list)


def test_a_stream_that_stops_moving_fails_at_its_no_progress_deadline(sandbox, c3) -> None:
    """A download or upload has no overall time limit (it may take an hour) but fails once
    nothing moved for ``Timeouts.stream`` seconds: here Glance freezes mid-stream."""
    with sandbox.session("c3:alpha") as alice:
        alice.timeouts = Timeouts(stream=3.0)
        data = random_bytes(64 * MiB)  # more than the loopback socket buffers hold
        src = upload_image(alice, unique("stream-stall"), data)
        target = alice.create_image(ImageSpec(name=unique("stream-stall-up"), disk_format="raw"))
        with alice.download(src.id) as download:
            chunks = iter(download)
            assert next(chunks)  # bytes are moving
            with frozen(c3):
                with pytest.raises(errors.Unreachable, match="did not answer within 3 s") as info:
                    for _ in chunks:
                        pass
                assert "download image" in str(info.value) and info.value.transient
                with pytest.raises(errors.Unreachable, match="within 3 s while trying to upload"):
                    alice.upload(target.id, io.BytesIO(data), len(data))
        for image in (src, target):
            wait_for(lambda i=image: _deleted(alice, i.id), 60, f"delete of {image.id}")


def _deleted(session, image_id: str) -> bool:
    """A Glance just thawed may still be busy with the request its client gave up on and
    answer 500 for a moment: a cleanup that tries again rather than leave the image."""
    try:
        session.delete_image(image_id)
    except errors.ServerError:
        return False
    return True
