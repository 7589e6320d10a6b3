"""Reading the checksum files mirrors publish next to their images.

Two line formats, in any mix:

* GNU (``sha512sum``): ``<hex>  <file>`` or ``<hex> *<file>`` (binary mode); the
  algorithm is told by the digest's length (64 sha256, 96 sha384, 128 sha512);
* BSD (``sha512sum --tag``, Fedora/Alma ``CHECKSUM``): ``SHA512 (<file>) = <hex>``.

A PGP clear-signed file (``-----BEGIN PGP SIGNED MESSAGE-----``) is read for its lines;
the signature is not checked (glint trusts the mirror's TLS and the digest, as documented).
Comments (``#``), blank lines and lines in no known form are skipped; md5/sha1 lines are
ignored (too weak to vouch for a download). When a file is listed under two algorithms the
strongest wins.
"""

from __future__ import annotations

import re

from glint_tui.core.catalog.entries import ALGORITHMS, Checksum

_GNU = re.compile(r"^(?P<hex>[0-9A-Fa-f]+) [ *](?P<file>.+)$")
_BSD = re.compile(r"^(?P<algo>SHA256|SHA384|SHA512) ?\((?P<file>.+)\) ?= ?(?P<hex>[0-9A-Fa-f]+)$")
_BY_LENGTH = {length: algo for algo, length in ALGORITHMS.items()}
_STRENGTH = {"sha256": 1, "sha384": 2, "sha512": 3}


def _clean_name(name: str) -> str:
    name = name.strip()
    return name[2:] if name.startswith("./") else name


def parse_checksums(text: str) -> dict[str, Checksum]:
    """File name -> its strongest checksum, from a checksum file's text."""
    out: dict[str, Checksum] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("-----BEGIN PGP SIGNATURE"):
            break
        if line.startswith("- "):  # a dash-escaped line of a clear-signed message
            line = line[2:]
        if not line or line.startswith("#"):
            continue
        bsd = _BSD.match(line)
        gnu = None if bsd else _GNU.match(line)
        if bsd:
            name, checksum = bsd["file"], Checksum(bsd["algo"].lower(), bsd["hex"].lower())
        elif gnu and len(gnu["hex"]) in _BY_LENGTH:
            name, checksum = gnu["file"], Checksum(_BY_LENGTH[len(gnu["hex"])], gnu["hex"].lower())
        else:
            continue
        if len(checksum.hex) != ALGORITHMS[checksum.algo]:
            continue
        name = _clean_name(name)
        known = out.get(name)
        if known is None or _STRENGTH[checksum.algo] > _STRENGTH[known.algo]:
            out[name] = checksum
    return out
