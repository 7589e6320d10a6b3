"""The catalog file: what loads, and every way a bad file is one line per problem (exit 2)
naming the file, the entry and the key — never a traceback, never a half-read catalog."""

from __future__ import annotations

import random
import textwrap
from pathlib import Path

import pytest

from glint_tui.core.catalog.columns import ColumnPattern, expand, parse_column
from glint_tui.core.catalog.entries import Checksum, ChecksumsSource, FileSource
from glint_tui.core.catalog.loader import load_catalog
from glint_tui.core.catalog.yamlsafe import MAX_BYTES
from glint_tui.core.errors import ConfigError
from glint_tui.core.model import ProjectRef

ISSUE_EXAMPLE = r"""
images:
  - name: debian-12                    # the name operators use; each version is its own image
    disk_format: qcow2
    source:                            # one of: url + checksum, or checksums_url + pattern
      checksums_url: http://mirror.example/debian-12/SHA512SUMS
      pattern: 'debian-12-genericcloud-amd64-(?P<version>\d{8})\.qcow2'
    versions: latest                   # or a list of explicit {version, url, checksum: "sha512:…"}
    keep: 2                            # versions kept per column; older ones are retired
    retire: hide                       # hide (os_hidden) | deactivate | delete; deleted after …
    delete_after_days: 30
    to: ["c1:alpha", "c2:*", "c3:alpha"]   # columns; * = every project glint has credentials for
    visibility: shared                 # private | shared | community | public
    share_with: [beta]                 # member projects (by name), accepted where glint has …
    convert_to: {c3: raw}              # per repository: the disk format that cloud wants
    min_disk: 2
    properties: {os_distro: debian, os_version: "12", hw_disk_bus: scsi}
"""


def write(tmp_path: Path, text: str | bytes, name: str = "catalog.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        text = textwrap.dedent(text).encode()
    path.write_bytes(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_catalog(path)
    assert info.value.exit_code == 2
    return str(info.value).splitlines()


def test_the_issue_example_loads_with_every_key(tmp_path):
    (entry,) = load_catalog(write(tmp_path, ISSUE_EXAMPLE)).entries
    assert (entry.name, entry.disk_format, entry.keep, entry.retire) == (
        "debian-12",
        "qcow2",
        2,
        "hide",
    )
    assert isinstance(entry.source, ChecksumsSource) and entry.latest
    assert entry.source.pattern.fullmatch("debian-12-genericcloud-amd64-20261120.qcow2")
    assert [str(c) for c in entry.to] == ["c1:alpha", "c2:*", "c3:alpha"]
    assert entry.delete_after_days == 30 and entry.visibility == "shared"
    assert entry.share_with == ("beta",) and entry.convert_to == {"c3": "raw"}
    assert entry.format_for("c3") == "raw" and entry.format_for("c1") == "qcow2"
    assert entry.min_disk == 2
    assert entry.properties == {"os_distro": "debian", "os_version": "12", "hw_disk_bus": "scsi"}


def test_a_bad_catalog_names_file_entry_and_key(tmp_path):
    path = write(
        tmp_path,
        """\
        images:
          - name: good
            disk_format: raw
            source: {url: "https://m.test/a.img", checksum: "sha512:%s", version: "1"}
            to: ["c1:alpha"]
          - name: broken
            disk_format: qcow3
            to: [c1]
            keep: two
            retire: shred
            versions:
              - {version: 12.10, url: "ftp://m.test/x", checksum: "md5:abc"}
            propertys: {os_distro: debian}
            share_with: [beta]
            visibility: private
        """
        % ("a" * 128),
    )
    lines = problems(path)
    assert all(line.startswith(f"{path}: images[1] (broken): ") for line in lines), lines
    by_key = {line.split(": ")[2]: line for line in lines}
    assert (
        "must be one of ami, ari" in by_key["disk_format"] and "(line 7)" in by_key["disk_format"]
    )
    assert "REPO:PROJECT" in by_key["to[0]"] and "(line 8)" in by_key["to[0]"]
    assert "whole number" in by_key["keep"] and "(line 9)" in by_key["keep"]
    assert "hide, deactivate, delete" in by_key["retire"]
    assert 'quote it, e.g. "12.10"' in by_key["versions[0].version"]
    assert "(line 12)" in by_key["versions[0].version"]
    assert "did you mean properties?" in by_key["propertys"]
    # the good entry is not mentioned, the cross-key rules wait for the values to be right
    assert not any("images[0]" in line for line in lines)


def test_rules_between_keys_are_reported_on_the_key_to_change(tmp_path):
    path = write(
        tmp_path,
        """\
        images:
          - name: vo-image
            disk_format: iso
            versions: [{version: "1", url: "https://m.test/a.iso", checksum: "sha256:%s"}]
            source: {url: "https://m.test/b.iso", checksum: "sha256:%s", version: "2"}
            retire: delete
            delete_after_days: 3
            share_with: [beta]
            visibility: private
            convert_to: {c3: raw}
            to: ["*"]
        """.replace("%s", "b" * 64),
    )
    keys = {line.split(": ")[2] for line in problems(path)}
    assert keys == {"source", "delete_after_days", "share_with", "convert_to"}


def test_yaml_syntax_errors_are_one_line_with_line_and_column(tmp_path):
    path = write(tmp_path, "images:\n  - name: x\n    disk_format: [raw\n    to: y\n")
    (line,) = problems(path)
    assert line.startswith(f"{path}: not valid YAML: ") and "(line 4, column" in line


def test_a_file_that_is_not_utf8_is_refused_with_the_offset(tmp_path):
    (line,) = problems(write(tmp_path, b"images:\n  - name: caf\xe9\n"))
    assert "not UTF-8 text (byte 0xe9 at offset 21)" in line


def test_an_alias_bomb_is_refused_without_being_expanded(tmp_path):
    rows = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, 10):
        rows.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    rows.append("images: *a9")  # 9**10 = 3.5e9 strings if expanded
    (line,) = problems(write(tmp_path, "\n".join(rows) + "\n"))  # expanded: hours and GiBs
    assert "expands to more than 100000 values through its aliases" in line


def test_anchors_and_merge_keys_still_work(tmp_path):
    def doc(top: str) -> Path:
        source = (
            f'{{url: "https://m.test/alma.qcow2", checksum: "sha256:{"d" * 64}", version: "9.5"}}'
        )
        text = f"""\
        {top}: &base {{disk_format: qcow2, keep: 3, to: ["c1:*"]}}
        images:
          - <<: *base
            name: alma-9
            source: {source}
            keep: 1
        """
        return write(tmp_path, text)

    with pytest.raises(ConfigError) as info:  # `base` is not a top-level key …
        load_catalog(doc("base"))
    assert "base: unknown key" in str(info.value)
    (entry,) = load_catalog(doc("defaults")).entries  # … an anchor in defaults: merged
    assert (entry.disk_format, entry.keep) == ("qcow2", 1)  # and overridden
    assert entry.source == FileSource(
        "https://m.test/alma.qcow2", Checksum("sha256", "d" * 64), "9.5"
    )


def test_a_key_written_twice_is_refused_naming_both_lines(tmp_path):
    (line,) = problems(write(tmp_path, "images:\n  - name: a\n    keep: 1\n    keep: 3\n"))
    assert "key 'keep' appears twice (lines 3 and 4)" in line


@pytest.mark.parametrize(
    "text, message",
    [
        ("images: !!python/object/apply:os.system ['true']\n", "not valid YAML"),
        ("a: &x [*x]\nimages: *x\n", "an alias refers to itself (line 1)"),
        ("images: " + "[" * 40 + "]" * 40 + "\n", "nested more than 32 levels"),
        ("images: " + "[" * 5000 + "]" * 5000 + "\n", "nested"),
        ("- just\n- a list\n", "must be a mapping with an images: list"),
        ("images: []\n", "images: must be a non-empty list"),
        ("", "must be a mapping"),
    ],
)
def test_hostile_or_empty_yaml_is_one_line(tmp_path, text, message):
    lines = problems(write(tmp_path, text))
    assert len(lines) == 1 and message in lines[0]


def test_a_file_too_large_for_a_catalog_is_refused_before_it_is_parsed(tmp_path):
    (line,) = problems(write(tmp_path, b"#" * (MAX_BYTES + 1)))
    assert "larger than 1 MiB: not a catalog" in line


def test_missing_files_and_directories_are_one_line(tmp_path):
    assert problems(tmp_path / "nope.yaml") == [f"{tmp_path / 'nope.yaml'}: no such file"]
    assert "is a directory" in problems(tmp_path)[0]


def test_yaml_booleans_dates_and_numbers_where_text_is_wanted_get_a_hint(tmp_path):
    path = write(
        tmp_path,
        """\
        images:
          - name: x
            disk_format: raw
            versions: [{version: 2026-11-20, url: "https://m.test/x", checksum: "sha512:%s"}]
            to: ["c1:a"]
            share_with: [no]
            properties: {hw_qemu_guest_agent: yes, os_version: 12, ratio: 1.5}
        """
        % ("e" * 128),
    )
    text = "\n".join(problems(path))
    assert "versions[0].version: must be a string (YAML read a date: quote it)" in text
    assert "share_with[0]: must be a project name (YAML reads yes/no" in text
    assert "properties.hw_qemu_guest_agent: must be a string (YAML reads yes/no" in text
    assert "properties.ratio: must be a string (YAML read a number" in text
    assert "os_version" not in text  # a whole number reads back the same: accepted


def test_defaults_apply_to_every_entry_and_properties_merge(tmp_path):
    path = write(
        tmp_path,
        """\
        defaults:
          to: ["c1:*"]
          architecture: x86_64
          properties: {hw_disk_bus: scsi, os_distro: linux}
        images:
          - name: a
            disk_format: raw
            source: {url: "https://m.test/a", checksum: "sha256:%s", version: "1"}
            properties: {os_distro: debian}
          - name: b
            disk_format: qcow2
            source: {checksums_url: "https://m.test/SUMS", pattern: 'b-(?P<version>\\d+)'}
            to: ["c2:x"]
            tags: [vo, vo, cern]
        """
        % ("f" * 64),
    )
    a, b = load_catalog(path).entries
    assert a.properties == {"hw_disk_bus": "scsi", "os_distro": "debian", "architecture": "x86_64"}
    assert [str(c) for c in a.to] == ["c1:*"] and [str(c) for c in b.to] == ["c2:x"]
    assert b.tags == ("vo", "cern") and b.container_format == "bare" and b.visibility == "shared"


def test_glint_and_glance_owned_properties_cannot_be_set(tmp_path):
    path = write(
        tmp_path,
        """\
        images:
          - name: x
            disk_format: raw
            source: {url: "https://m.test/x", checksum: "sha256:%s", version: "1"}
            to: ["c1:a"]
            properties: {glint_catalog_version: "9", os_hash_value: "0", os_glance_x: "1"}
        """
        % ("0" * 64),
    )
    text = "\n".join(problems(path))
    assert "glint_catalog_version: glint_* properties are glint's own" in text
    assert "os_hash_value is not a property Glance lets you set" in text
    assert "os_glance_x is not a property" in text


def test_two_entries_with_one_name_are_refused(tmp_path):
    source = f'{{url: "https://m.test/x", checksum: "sha256:{"0" * 64}", version: "1"}}'
    one = f'{{name: x, disk_format: raw, to: ["c1:a"], source: {source}}}'
    (line,) = problems(write(tmp_path, f"images:\n  - {one}\n  - {one}\n"))
    assert "images[1] (x): name: 'x' is already the name of an earlier entry (line 2)" in line


def test_no_mangled_catalog_raises_anything_but_a_config_error(tmp_path):
    """Random edits of a valid file: each either loads or is a ConfigError (exit 2)."""
    rng = random.Random(12)
    base = ISSUE_EXAMPLE.encode()
    outcomes = set()
    for i in range(300):
        data = bytearray(base)
        for _ in range(rng.randint(1, 6)):
            pos = rng.randrange(len(data))
            op = rng.random()
            if op < 0.4:
                data[pos] = rng.choice(b":-[]{}&*!|>'\"#\n \t\x00\xff")
            elif op < 0.7:
                del data[pos]
            else:
                data[pos:pos] = bytes([rng.randrange(256)])
        path = write(tmp_path, bytes(data), f"m{i}.yaml")
        try:
            load_catalog(path)
            outcomes.add("loaded")
        except ConfigError as e:
            assert str(e).startswith(str(path)), str(e)
            outcomes.add("refused")
    assert outcomes == {"loaded", "refused"}


def test_columns_read_repo_region_project_and_wildcards():
    assert parse_column("c1:alpha") == ColumnPattern("c1", "alpha")
    assert parse_column("c1/RegionTwo:alpha") == ColumnPattern("c1", "alpha", "RegionTwo")
    assert parse_column("c2:*") == ColumnPattern("c2", None) and str(parse_column("*")) == "*"
    for bad in ("c1", ":a", "c1/:a", "c 1:a", "c1:a\x1b", 7):
        with pytest.raises(ValueError):
            parse_column(bad)
    refs = [ProjectRef("c1", "alpha"), ProjectRef("c1", "beta"), ProjectRef("c2", "alpha")]
    chosen, unmatched = expand([parse_column("c1:*"), parse_column("c9:x")], refs)
    assert chosen == refs[:2] and [str(p) for p in unmatched] == ["c9:x"]


def test_a_region_pattern_matches_only_columns_of_that_region():
    class Regional:  # the shape ProjectRef takes once it carries a region
        def __init__(self, repository, project, region):
            self.repository, self.project, self.region = repository, project, region

    two = Regional("c1", "alpha", "RegionTwo")
    assert parse_column("c1/RegionTwo:alpha").matches(two)
    assert not parse_column("c1/RegionOne:alpha").matches(two)
    assert parse_column("c1:alpha").matches(two)  # no region: every region of c1


def test_the_example_catalog_in_config_is_valid():
    example = Path(__file__).resolve().parent.parent / "config" / "glint-catalog.yaml"
    catalog = load_catalog(example)
    debian, alma = catalog.entries
    assert (debian.name, debian.keep, debian.retire, debian.convert_to) == (
        "debian-12",
        2,
        "hide",
        {"c3": "raw"},
    )
    assert (alma.name, alma.keep, alma.retire) == ("almalinux-9", 1, "deactivate")
