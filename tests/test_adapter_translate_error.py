"""``translate_error`` on keystoneauth / openstacksdk / requests exceptions built here (no
cloud): each provider failure becomes the glint error, exit code and retry flag an
operator relies on, with a message that says what glint was doing and where.

``test_adapter_errors.py`` proves the same mapping on failures real Keystone and Glance
produce; these cover the kinds a test bed cannot provoke on demand (TLS, DNS, a 413, an
HTML error page from a proxy, a checksum error inside the SDK).
"""

from __future__ import annotations

import pytest
import requests
from keystoneauth1 import exceptions as ks_exc
from openstack import exceptions as os_exc

from glint_tui.core import errors
from glint_tui.core.clouds.openstack import OpenStackSession, translate_error
from glint_tui.core.model import Credential, Repository

KEYSTONE = "http://keystone.example:5000"
GLANCE = "http://glance.example:9292"


def service(url: str | None) -> str:
    if url and url.startswith(KEYSTONE):
        return f"Keystone at {url}"
    return f"the image service at {url}" if url else "the image service"


def translate(exc: BaseException, **kw) -> errors.CloudError:
    kw.setdefault("waited", (10.0, 60.0))
    return translate_error(exc, where="c1:alpha", what="list images", service=service, **kw)


def http(status: int, details: str = "") -> os_exc.HttpException:
    return os_exc.HttpException(message="boom", details=details, http_status=status)


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        (400, errors.BadRequest, "the cloud refused to list images"),
        (401, errors.AuthenticationFailed, "refused the session's token"),
        (403, errors.PermissionDenied, "not allowed to list images"),
        (404, errors.ImageNotFound, "cannot list images"),
        (409, errors.Conflict, "cannot list images"),
        (413, errors.QuotaExceeded, "over quota or too large"),
        (410, errors.ServerError, "the image changed while trying to list images"),
        (500, errors.ServerError, "server error 500 while trying to list images"),
        (503, errors.ServerError, "server error 503"),
        (418, errors.BadRequest, "HTTP 418 while trying to list images"),
    ],
)
def test_http_statuses_map_to_the_error_an_operator_can_act_on(status, kind, words):
    error = translate(http(status))
    assert type(error) is kind
    assert words in str(error)
    assert error.status == status
    assert error.transient == (status >= 500 or status == 410)  # only these are retried


def test_glance_detail_is_one_readable_line_without_its_status_prefix_or_markup():
    detail = "404 Not Found: No image found with ID &lt;x&gt;<br /><br />\n\n"
    error = translate(http(404, detail))
    assert str(error).endswith("cannot list images: No image found with ID <x>")


def test_a_connection_refused_is_unreachable_and_names_the_service():
    exc = ks_exc.ConnectFailure(
        f"Unable to establish connection to {KEYSTONE}/v3: Connection refused"
    )
    error = translate(exc)
    assert type(error) is errors.Unreachable and error.transient
    assert f"cannot connect to Keystone at {KEYSTONE}" in str(error)


def test_a_name_that_does_not_resolve_is_unreachable():
    exc = requests.exceptions.ConnectionError(
        f"HTTPConnectionPool: Max retries exceeded with url: {GLANCE}/v2/images "
        "(Caused by NameResolutionError: Failed to resolve)"
    )
    assert type(translate(exc)) is errors.Unreachable


def test_a_connection_dropped_mid_request_is_a_server_error_to_retry():
    exc = requests.exceptions.ChunkedEncodingError(
        "Connection broken: IncompleteRead(10 bytes read)"
    )
    error = translate(exc)
    assert type(error) is errors.ServerError and error.transient
    assert "dropped while trying to list images" in str(error)


def test_a_connect_timeout_says_which_deadline_passed():
    inner = requests.exceptions.ConnectTimeout(f"{GLANCE}: connect timed out")
    try:
        raise ks_exc.ConnectTimeout(f"Request to {GLANCE} timed out") from inner
    except ks_exc.ConnectTimeout as exc:
        error = translate(exc)
    assert type(error) is errors.Unreachable
    assert f"the image service at {GLANCE} did not accept a connection within 10 s" in str(error)


def test_a_read_timeout_says_the_service_did_not_answer_in_time():
    error = translate(requests.exceptions.ReadTimeout(f"{GLANCE}: Read timed out."))
    assert type(error) is errors.Unreachable
    assert "did not answer within 60 s while trying to list images" in str(error)


def test_a_stream_cut_by_its_no_progress_deadline_is_a_timeout_not_a_drop():
    exc = requests.exceptions.ConnectionError("Read timed out. (read timeout=120)")
    assert "did not answer within 60 s" in str(translate(exc))


def test_a_tls_failure_suggests_the_ca_bundle():
    exc = ks_exc.SSLError(f"SSL exception connecting to {KEYSTONE}: certificate verify failed")
    error = translate(exc)
    assert type(error) is errors.Unreachable
    assert "TLS handshake with Keystone" in str(error) and "CA bundle" in str(error)


@pytest.mark.parametrize(
    "exc",
    [
        ks_exc.EndpointNotFound("no image endpoint"),
        os_exc.EndpointNotFound("no image endpoint"),
        os_exc.ServiceDisabledException("image disabled"),
    ],
)
def test_a_catalog_without_an_image_service_says_which_endpoint_it_sought(exc):
    error = translate(exc, endpoint="public image endpoint in region R9")
    assert type(error) is errors.NoImageEndpoint
    assert str(error).endswith("the catalog has no public image endpoint in region R9")


def test_no_usable_api_version_points_at_glance_being_down():
    error = translate(os_exc.NotSupported("no version"))
    assert type(error) is errors.Unreachable and "is Glance down?" in str(error)


def test_no_keystone_at_the_url_is_unreachable():
    error = translate(
        ks_exc.DiscoveryFailure(f"Could not find versioned identity endpoints at {KEYSTONE}")
    )
    assert type(error) is errors.Unreachable
    assert f"no Keystone v3 API found at Keystone at {KEYSTONE}" in str(error)


def test_a_checksum_error_inside_the_sdk_is_a_data_mismatch():
    error = translate(os_exc.InvalidResponse("checksum mismatch: abc != def"))
    assert type(error) is errors.DataMismatch and not error.transient


def test_an_auth_plugin_problem_is_a_login_failure():
    error = translate(ks_exc.MissingAuthPlugin("no plugin"))
    assert type(error) is errors.AuthenticationFailed


def test_anything_else_is_a_server_error_naming_its_kind():
    error = translate(os_exc.SDKException("something odd"))
    assert type(error) is errors.ServerError
    assert str(error).endswith("failed to list images (SDKException)")


def test_a_secret_inside_a_provider_error_never_reaches_the_message():
    secret = "hunter2-very-secret"
    session = OpenStackSession(  # lazy: nothing is sent
        Repository("c1", f"{KEYSTONE}/v3"), Credential("c1", "alpha", "alice"), secret
    )
    with pytest.raises(errors.Unreachable) as caught, session._calls("list images"):
        raise requests.exceptions.ConnectionError(
            f"http://alice:{secret}@glance.example:9292 Connection refused"
        )
    assert secret not in str(caught.value) and "***" in str(caught.value)
    session.close()
