"""A cloud's identity comes from what the cloud says (its Keystone catalog), not from
glint's repository name or the spelling of its auth URL."""

from __future__ import annotations

import copy

import pytest

from glint_tui.core.cloudid import (
    identity_from_catalog,
    normalize_url,
    same_keystone,
)
from glint_tui.core.clouds import open_session
from glint_tui.core.model import Repository


@pytest.mark.parametrize(
    "a, b",
    [
        ("http://127.0.0.1:5000/v3", "http://localhost:5000/v3/"),
        ("http://127.0.0.1:5000", "HTTP://LOCALHOST:5000/"),
        ("https://k.example.org/identity/v3", "https://K.example.org:443/identity/"),
        ("http://glance:9292/v2.1", "http://glance:9292"),
        ("http://[::1]:9292", "http://127.0.0.1:9292/v2/"),
    ],
)
def test_urls_that_differ_only_in_form_are_one_endpoint(a, b):
    assert normalize_url(a) == normalize_url(b)


@pytest.mark.parametrize(
    "a, b",
    [
        ("http://127.0.0.1:5000/v3", "http://127.0.0.1:5001/v3"),
        ("http://k.example.org/v3", "https://k.example.org/v3"),
        ("http://k.example.org/identity", "http://k.example.org/other"),
        ("http://10.0.0.1:9292", "http://10.0.0.2:9292"),
    ],
)
def test_different_endpoints_stay_different(a, b):
    assert normalize_url(a) != normalize_url(b)


def test_same_keystone_before_login_compares_url_and_region():
    c1 = Repository("c1", "http://127.0.0.1:5000/v3", region="RegionOne")
    twin = Repository("c1twin", "http://localhost:5000/v3/")
    other_region = Repository("c1r2", "http://127.0.0.1:5000", region="RegionTwo")
    elsewhere = Repository("c2", "http://127.0.0.1:5010/v3")
    assert same_keystone(twin, [c1, other_region, elsewhere]) == [c1, other_region]
    assert same_keystone(other_region, [c1, twin, elsewhere]) == [twin]


@pytest.mark.sandbox
def test_the_identity_comes_from_the_catalog_whatever_the_auth_url_says(sandbox):
    c1, c2 = sandbox.cloud("c1"), sandbox.cloud("c2")
    cred, secret = sandbox.sandbox.member_credentials(c1)[0]
    port = c1.keystone_url.rsplit(":", 1)[1]
    plain = sandbox.sandbox.repository(c1)
    twin = Repository("c1twin", f"http://localhost:{port}/v3/")
    identities = {}
    for repo in (plain, twin):
        with open_session(repo, cred, secret) as s:
            identities[repo.name] = s.cloud_identity()
    other_cred, other_secret = sandbox.sandbox.member_credentials(c2)[0]
    with open_session(sandbox.sandbox.repository(c2), other_cred, other_secret) as s:
        identities["c2"] = s.cloud_identity()
        catalog = s._session.auth.get_access(s._session).service_catalog.catalog
    assert identities["c1"] == identities["c1twin"]
    assert identities["c1"].endpoint == normalize_url(c1.glance_url)
    assert identities["c1"].region == "RegionOne"
    assert not identities["c1"].same_cloud(identities["c2"])

    # Keystone's catalog as it really comes, with a second region added to it: one
    # Keystone, two image services in two regions, two clouds
    two_regions = copy.deepcopy(catalog)
    [image] = [s for s in two_regions if s["type"] == "image"]
    for e in list(image["endpoints"]):
        image["endpoints"].append(
            {**e, "region_id": "RegionTwo", "region": "RegionTwo", "url": "http://10.9.9.9:9292"}
        )
    one = identity_from_catalog(two_regions, c2.glance_url)
    two = identity_from_catalog(two_regions, "http://10.9.9.9:9292/v2/")
    assert one.region == "RegionOne" and two.region == "RegionTwo"
    assert not one.same_cloud(two)
