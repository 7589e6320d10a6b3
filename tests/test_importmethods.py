"""Discovery of cloud-side transfer methods, over JSON shaped like Glance 33's answers.

The same answers, fetched live from the shaped sandbox, are fed to these functions in
tests/test_sandbox_shapes.py (``test_discovery_over_real_answers_…``); here each rule gets
its own case, including answers no sandbox gives (an old Glance, a custom policy).
"""

from __future__ import annotations

import pytest

from glint_tui.core import importmethods as im

KEYSTONE_A = "http://keystone.a:5000"
R1, R2 = "https://glance.r1.example", "https://glance.r2.example"
OTHER = "https://glance.other.example"
ALPHA, BETA = "alpha-project-id", "beta-project-id"
ALL = {
    "import-methods": {"value": ["glance-direct", "web-download", "copy-image", "glance-download"]}
}
STOCK = {"import-methods": {"value": ["glance-direct", "web-download", "copy-image"]}}
TWO_STORES = {
    "stores": [
        {"id": "local", "description": "fast", "default": "true"},
        {"id": "second", "description": "slow"},
    ]
}


def catalog(*regions: tuple[str, str]) -> list[dict]:
    """A v3 catalog with an image endpoint (all three interfaces) per (region, url)."""
    endpoints = [
        {"interface": i, "region_id": region, "region": region, "url": url + "/"}
        for region, url in regions
        for i in ("public", "internal", "admin")
    ]
    return [
        {"type": "identity", "endpoints": [{"interface": "public", "url": KEYSTONE_A}]},
        {"type": "image", "name": "glance", "endpoints": endpoints},
    ]


BOTH = catalog(("RegionOne", R1), ("RegionTwo", R2))


def side(url: str, project: str = ALPHA, **kw) -> im.GlanceSide:
    args = {"info_import": ALL, "info_stores": TWO_STORES, "catalog": BOTH, "roles": ["member"]}
    args.update(kw)
    return im.GlanceSide.from_json(url, project, **args)


def source_image(**kw) -> im.SourceImage:
    image = {
        "id": "5f1b0a52-1c1e-4c3e-9a55-3a0c2a4c6f10",
        "size": 1 << 30,
        "status": "active",
        "owner": ALPHA,
        "visibility": "private",
        "stores": "local",
    }
    image.update(kw)
    return im.SourceImage.from_json(image)


def by_method(found: list[im.Verdict]) -> dict[str, im.Verdict]:
    return {v.method: v for v in found}


def test_discovery_reads_methods_stores_and_regions_as_glance_and_keystone_write_them() -> None:
    assert im.import_methods(ALL) == {
        "glance-direct",
        "web-download",
        "copy-image",
        "glance-download",
    }
    assert im.import_methods(None) == frozenset()  # /v2/info/import unreadable: none
    stores = im.stores(TWO_STORES)
    assert [(s.id, s.default) for s in stores] == [("local", True), ("second", False)]
    assert im.stores(None) == ()  # 404 "Multi backend is not supported at this site"
    assert im.image_regions(BOTH) == {
        "RegionOne": "https://glance.r1.example:443",
        "RegionTwo": "https://glance.r2.example:443",
    }
    assert im.image_stores({"stores": "local,second"}) == {"local", "second"}
    assert im.image_stores({}) == frozenset()


def test_a_side_knows_its_own_region_from_the_catalog_whatever_the_spelling() -> None:
    assert side(R2 + "/v2/").region == "RegionTwo"
    assert side(OTHER).region is None


def test_between_two_regions_of_one_keystone_auto_picks_glance_download_and_moves_no_bytes() -> (
    None
):
    verdict = im.choose(im.verdicts(side(R1), source_image(), side(R2)))
    assert verdict.method == "glance-download" and verdict.possible
    assert verdict.host_bytes == 0
    assert verdict.body == {
        "method": {
            "name": "glance-download",
            "glance_region": "RegionOne",
            "glance_image_id": "5f1b0a52-1c1e-4c3e-9a55-3a0c2a4c6f10",
            "glance_service_interface": "public",
        }
    }
    assert verdict.caveat == ""  # https on 443 passes Glance's default filtering


def test_a_destination_without_glance_download_or_outside_the_keystone_gets_a_stream() -> None:
    found = by_method(im.verdicts(side(R1), source_image(), side(R2, info_import=STOCK)))
    assert not found["glance-download"].possible
    assert "does not enable glance-download" in found["glance-download"].reason
    other = side(OTHER, catalog=catalog(("RegionOne", OTHER)))
    chosen = im.choose(im.verdicts(side(R1), source_image(), other))
    assert chosen.method == "stream" and chosen.host_bytes == 1 << 30


def test_glance_download_needs_the_destination_project_to_read_the_source() -> None:
    dest = side(R2, project=BETA)
    private = by_method(im.verdicts(side(R1), source_image(), dest))["glance-download"]
    assert not private.possible and "cannot read" in private.reason
    for image in (
        source_image(visibility="public"),
        source_image(visibility="community"),
        im.SourceImage.from_json(
            {"id": "x", "size": 1, "status": "active", "owner": ALPHA, "visibility": "shared"},
            members=[BETA],
        ),
    ):
        assert by_method(im.verdicts(side(R1), image, dest))["glance-download"].possible


def test_only_an_active_source_is_pulled() -> None:
    found = by_method(im.verdicts(side(R1), source_image(status="queued"), side(R2)))
    assert not found["glance-download"].possible and "queued" in found["glance-download"].reason
    assert im.choose(list(found.values())).method == "stream"


def test_a_loopback_or_non_web_port_source_carries_the_filtering_caveat() -> None:
    on_9292 = catalog(("RegionOne", "https://g1.example:9292"), ("RegionTwo", R2))
    one = side("https://g1.example:9292", catalog=on_9292)
    verdict = im.choose(im.verdicts(one, source_image(), side(R2, catalog=on_9292)))
    assert verdict.method == "glance-download"
    assert "port 9292" in verdict.caveat  # Glance's usual port is not in allowed_ports
    lo1, lo2 = "http://127.0.0.1:25011", "http://localhost:25016"
    cat = catalog(("RegionOne", lo1), ("RegionTwo", lo2))
    verdict = im.choose(im.verdicts(side(lo1, catalog=cat), source_image(), side(lo2, catalog=cat)))
    assert verdict.method == "glance-download"
    assert "loopback" in verdict.caveat and "port 25011" in verdict.caveat


def test_a_second_store_is_copy_image_for_an_admin_and_never_for_a_member() -> None:
    image = source_image()
    admin = side(R1, roles=["admin", "member"])
    verdict = im.choose(im.verdicts(admin, image, admin, "second"))
    assert verdict.method == "copy-image" and verdict.host_bytes == 0
    assert verdict.body == {"method": {"name": "copy-image"}, "stores": ["second"]}
    member = side(R1)
    found = by_method(im.verdicts(member, image, member, "second"))
    assert not found["copy-image"].possible and "admin" in found["copy-image"].reason
    # a member still avoids the host: its Glance pulls a new image from its own region
    chosen = im.choose(list(found.values()))
    assert chosen.method == "glance-download" and chosen.body["stores"] == ["second"]


@pytest.mark.parametrize(
    ("store", "image_stores", "methods", "why"),
    [
        (None, "local", ALL, "no destination store"),
        ("third", "local", ALL, "no store 'third'"),
        ("second", "local,second", ALL, "already in store 'second'"),
        ("second", "local", {"import-methods": {"value": ["glance-direct"]}}, "not enable"),
    ],
)
def test_copy_image_is_refused_with_a_reason(store, image_stores, methods, why) -> None:
    admin = side(R1, roles=["admin"], info_import=methods)
    found = by_method(im.verdicts(admin, source_image(stores=image_stores), admin, store))
    assert not found["copy-image"].possible and why in found["copy-image"].reason


def test_copy_image_works_only_within_one_glance() -> None:
    admin = side(R1, roles=["admin"])
    dest = side(R2, roles=["admin"])
    found = by_method(im.verdicts(admin, source_image(), dest, "second"))
    assert not found["copy-image"].possible and "one Glance" in found["copy-image"].reason


def test_web_download_needs_a_url_the_destination_may_fetch() -> None:
    dest = side(OTHER, catalog=catalog(("RegionOne", OTHER)))
    none = by_method(im.verdicts(side(R1), source_image(), dest))["web-download"]
    assert not none.possible and "no URL" in none.reason
    image = im.SourceImage.from_json(
        {"id": "x", "size": 5, "status": "active", "owner": ALPHA},
        web_url="https://images.example.org/debian-12.qcow2",
    )
    verdict = im.choose(im.verdicts(side(R1), image, dest))
    assert verdict.method == "web-download" and verdict.host_bytes == 0
    assert verdict.body == {
        "method": {"name": "web-download", "uri": "https://images.example.org/debian-12.qcow2"}
    }
    ftp = im.SourceImage.from_json({"id": "x", "size": 5}, web_url="ftp://example.org/x")
    assert not by_method(im.verdicts(side(R1), ftp, dest))["web-download"].possible
    stock = side(OTHER, info_import={"import-methods": {"value": ["glance-direct"]}})
    assert not by_method(im.verdicts(side(R1), image, stock))["web-download"].possible


def test_an_asked_method_is_returned_even_when_impossible_so_the_copy_can_be_refused() -> None:
    found = im.verdicts(side(R1), source_image(), side(R2))
    asked = im.choose(found, "copy-image")
    assert asked.method == "copy-image" and not asked.possible and asked.reason
    assert im.choose(found, "stream").method == "stream"
    with pytest.raises(ValueError, match="unknown transfer method 'rsync'"):
        im.choose(found, "rsync")


def test_stream_is_always_possible_and_last() -> None:
    found = im.verdicts(side(R1), source_image(), side(R2))
    assert [v.method for v in found] == list(im.PREFERENCE)
    assert found[-1].possible and found[-1].host_bytes == 1 << 30
