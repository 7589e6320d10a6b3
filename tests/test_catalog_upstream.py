"""Upstream resolution: checksum files in the formats mirrors publish, version order, and
resolving entries against a real loopback mirror (tests/mirror.py)."""

from __future__ import annotations

import hashlib

import pytest

from glint_tui.core.catalog.checksums import parse_checksums
from glint_tui.core.catalog.entries import Checksum
from glint_tui.core.catalog.upstream import resolve, resolve_all
from glint_tui.core.catalog.versions import newest_first
from glint_tui.core.catalog.web import get_text
from tests.catalog_helpers import catalog, entry_yaml
from tests.mirror import Mirror


@pytest.fixture
def mirror():
    with Mirror() as m:
        yield m


def h(text: str, algo: str = "sha512") -> str:
    return hashlib.new(algo, text.encode()).hexdigest()


def test_versions_sort_the_way_operators_read_them():
    assert newest_first(["20261101", "20261120", "20250101"]) == [
        "20261120",
        "20261101",
        "20250101",
    ]
    assert newest_first(["12.9", "12.10", "12.1"]) == ["12.10", "12.9", "12.1"]
    assert newest_first(["1.0rc1", "1.0", "1.0rc2", "1.0beta", "0.9"]) == [
        "1.0", "1.0rc2", "1.0rc1", "1.0beta", "0.9",
    ]  # fmt: skip
    assert newest_first(["9.4", "9.10", "10.0", "9.4.1"]) == ["10.0", "9.10", "9.4.1", "9.4"]
    assert newest_first(["20261120-1", "20261120-2", "20261120"]) == [
        "20261120-2", "20261120-1", "20261120",
    ]  # fmt: skip
    assert newest_first(["a", "1", "b2", "B10"])  # any mix compares, never raises


def test_checksum_files_in_gnu_bsd_and_clear_signed_forms_are_read():
    text = "\n".join(
        [
            "-----BEGIN PGP SIGNED MESSAGE-----",
            "Hash: SHA256",
            "",
            "# Debian style",
            f"{h('a')}  debian-12-genericcloud-amd64-20261120.qcow2",
            f"{h('b')} *debian-12-genericcloud-amd64-20261101.qcow2",
            f"SHA256 (Alma-9-GenericCloud-9.5-20241120.x86_64.qcow2) = {h('c', 'sha256')}",
            f"SHA512 (Alma-9-GenericCloud-9.5-20241120.x86_64.qcow2) = {h('c')}",
            f"{h('d', 'md5')}  weak.img",
            f"{h('e', 'sha256')}  ./sub/dir.img",
            "not a checksum line at all",
            "-----BEGIN PGP SIGNATURE-----",
            f"{h('f')}  after-the-signature.img",
        ]
    )
    sums = parse_checksums(text)
    assert sums["debian-12-genericcloud-amd64-20261120.qcow2"] == Checksum("sha512", h("a"))
    assert sums["debian-12-genericcloud-amd64-20261101.qcow2"] == Checksum("sha512", h("b"))
    # listed twice: the strongest algorithm wins
    assert sums["Alma-9-GenericCloud-9.5-20241120.x86_64.qcow2"] == Checksum("sha512", h("c"))
    assert sums["sub/dir.img"] == Checksum("sha256", h("e", "sha256"))
    assert "weak.img" not in sums and "after-the-signature.img" not in sums


def sums_file(*versions: str) -> str:
    lines = [f"{h(v)}  debian-12-genericcloud-amd64-{v}.qcow2" for v in versions]
    lines.append(f"{h('raw')}  debian-12-genericcloud-amd64-20261120.raw")  # not the pattern
    lines.append(f"{h('json')}  debian-12-genericcloud-amd64-20261120.json")
    return "\n".join(lines) + "\n"


def entry(mirror: Mirror, **kw):
    source = {
        "checksums_url": mirror.url("debian-12/SHA512SUMS"),
        "pattern": r"debian-12-genericcloud-amd64-(?P<version>\d{8})\.qcow2",
    }
    return catalog(entry_yaml(source=source, **kw)).entries[0]


def test_versions_come_from_the_checksum_file_newest_first_with_urls_beside_it(mirror):
    mirror.files["debian-12/SHA512SUMS"] = sums_file("20261101", "20261120", "20261001").encode()
    found = resolve(entry(mirror), get_text)
    assert found.ok and [v.version for v in found.versions] == ["20261120", "20261101", "20261001"]
    newest = found.versions[0]
    assert newest.url == mirror.url("debian-12/debian-12-genericcloud-amd64-20261120.qcow2")
    assert newest.checksum == Checksum("sha512", h("20261120"))


def test_an_unreadable_or_unmatched_checksum_file_is_an_error_for_that_entry_only(mirror):
    e = entry(mirror)
    gone = resolve(e, get_text)
    assert not gone.ok and "HTTP 404" in gone.error and not gone.versions
    mirror.files["debian-12/SHA512SUMS"] = b"nothing here\n"
    assert "no file listed there matches the pattern" in resolve(e, get_text).error
    mirror.files["debian-12/SHA512SUMS"] = b"\xff\xfe garbage"
    assert "not UTF-8" in resolve(e, get_text).error


def test_a_pattern_that_matches_two_files_for_one_version_is_refused(mirror):
    mirror.files["SUMS"] = (f"{h('1')}  img-1.qcow2\n{h('2')}  img-1.qcow2.bak\n").encode()
    source = {"checksums_url": mirror.url("SUMS"), "pattern": r"img-(?P<version>\d+)\.qcow2.*"}
    found = resolve(catalog(entry_yaml(source=source)).entries[0], get_text)
    assert "several files for version 1: img-1.qcow2, img-1.qcow2.bak" in found.error


def test_explicit_versions_and_a_single_file_need_no_network():
    listed = [
        {"version": "1.2", "url": "https://m.test/1.2.img", "checksum": f"sha512:{h('1.2')}"},
        {"version": "1.10", "url": "https://m.test/1.10.img", "checksum": f"sha512:{h('1.10')}"},
    ]

    def no_network(url):
        raise AssertionError(url)

    found = resolve(catalog(entry_yaml(source=None, versions=listed)).entries[0], no_network)
    assert [v.version for v in found.versions] == ["1.10", "1.2"]
    checksum = f"sha256:{h('x', 'sha256')}"
    single = {"url": "https://m.test/x.img", "checksum": checksum, "version": "7"}
    found = resolve(catalog(entry_yaml(source=single)).entries[0], no_network)
    assert [(v.version, v.checksum.algo) for v in found.versions] == [("7", "sha256")]


def test_entries_sharing_a_checksum_file_read_it_once(mirror):
    mirror.files["debian-12/SHA512SUMS"] = sums_file("20261120").encode()
    source = {
        "checksums_url": mirror.url("debian-12/SHA512SUMS"),
        "pattern": r"debian-12-genericcloud-amd64-(?P<version>\d{8})\.qcow2",
    }
    items = [entry_yaml(name=name, source=source).split("\n", 1)[1] for name in "abc"]
    cat = catalog("images:\n" + "".join(items))
    found = resolve_all(cat.entries, get_text)
    assert {n: r.versions[0].version for n, r in found.items()} == dict.fromkeys("abc", "20261120")
    assert len(mirror.requests) == 1


def test_a_file_name_without_a_version_is_one_version_named_by_its_checksum(mirror):
    """Debian's and Ubuntu's latest/ directories: one file whose name never changes."""
    mirror.files["latest/SHA512SUMS"] = (
        f"{h('today')}  debian-12-genericcloud-amd64.qcow2\n"
        f"{h('other')}  debian-12-nocloud-amd64.qcow2\n"
    ).encode()
    source = {
        "checksums_url": mirror.url("latest/SHA512SUMS"),
        "pattern": r"debian-12-genericcloud-amd64\.qcow2",
    }
    (found,) = resolve(catalog(entry_yaml(source=source)).entries[0], get_text).versions
    assert found.version == h("today")[:12] and found.checksum.hex == h("today")
    loose = {**source, "pattern": r"debian-12-.*\.qcow2"}
    failed = resolve(catalog(entry_yaml(source=loose)).entries[0], get_text)
    assert "matches several files" in failed.error and "(?P<version>" in failed.error
