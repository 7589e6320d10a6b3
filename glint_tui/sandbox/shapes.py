"""Sandbox shapes: a cloud with several regions, a Glance with several stores.

Cloud-side copies need clouds shaped like real deployments: ``glance-download`` moves an
image between the Glances of two regions behind one Keystone, ``copy-image`` between the
stores of one multi-store Glance. The shape applies to cloud ``c1`` only; ``c2`` … stay
stock Glances (Glance's default import methods and filtering), so a shaped sandbox also has
pairs that only a streamed copy can serve.

A shaped Glance also enables ``glance-download`` and ``web-download`` from loopback: Glance
refuses loopback hosts and every port but 80/443 for both methods by default
(``[import_filtering_opts]``), and both sandbox Glances live on 127.0.0.1 on other ports.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from glint_tui.core.errors import GlintError
from glint_tui.core.fsutil import atomic_write_json

if TYPE_CHECKING:
    from glint_tui.sandbox.cloud import Cloud

HOST = "127.0.0.1"  # the only address anything in the sandbox listens on
REGION_NAMES = ("RegionOne", "RegionTwo", "RegionThree", "RegionFour")
STORE_NAMES = ("local", "second", "third")
SHAPED_CLOUD = "c1"
# Every import method Glance 33 knows; a stock Glance leaves glance-download out.
IMPORT_METHODS = ("glance-direct", "web-download", "copy-image", "glance-download")
# Port offsets inside a cloud's block of ten (BASE+10N+k): 0 Keystone, 1 the first Glance,
# 2-5 Swift beside c1 (`--with-swift`); the Glances of further regions take 6, 7, 8.
REGION_PORT_OFFSET = 4
SHAPE_FILE = "shape.json"
# What glance-download copies from the source image itself: Glance 33's default prefixes.
GLANCE_DOWNLOAD_PREFIXES = ("hw_", "trait:", "os_distro", "os_secure_boot", "os_type")


class ShapeError(GlintError):
    exit_code = 2


@dataclass(frozen=True)
class Shape:
    """How many regions and file stores cloud c1 has (1 and 1: a stock cloud)."""

    regions: int = 1
    stores: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.regions <= len(REGION_NAMES):
            raise ShapeError(f"--regions must be 1 to {len(REGION_NAMES)}, not {self.regions}")
        if not 1 <= self.stores <= len(STORE_NAMES):
            raise ShapeError(f"--stores must be 1 to {len(STORE_NAMES)}, not {self.stores}")

    @property
    def plain(self) -> bool:
        return self.regions == 1 and self.stores == 1

    def applies_to(self, cloud_name: str) -> bool:
        return cloud_name == SHAPED_CLOUD and not self.plain


PLAIN = Shape()


def load_shape(root: Path) -> Shape | None:
    """The shape the sandbox under *root* was created with (None: not created yet)."""
    try:
        data = json.loads((root / SHAPE_FILE).read_text())
        return Shape(int(data["regions"]), int(data["stores"]))
    except (OSError, ValueError, KeyError, TypeError, ShapeError):
        return None


def settle_shape(root: Path, asked: Shape | None, exists: bool) -> Shape:
    """The shape to run: the saved one, or *asked* when the sandbox is new.

    A shape is chosen when the sandbox is created. Changing it later would leave catalog
    entries for Glances that no longer run, or images in stores that no longer exist, so a
    different shape on an existing sandbox is refused with the way out.
    """
    saved = load_shape(root)
    if saved is None:
        saved = PLAIN if exists else None
    if saved is not None and asked is not None and asked != saved:
        raise ShapeError(
            f"this sandbox was created with {saved.regions} region(s) and {saved.stores} "
            f"store(s); run `glint sandbox wipe` first to change its shape"
        )
    shape = asked or saved or PLAIN
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    atomic_write_json(root / SHAPE_FILE, {"regions": shape.regions, "stores": shape.stores})
    return shape


@dataclass(frozen=True)
class GlanceSite:
    """One Glance API of a cloud: its region, port, files and stores."""

    service: str  # process name: "glance" (first region), "glance2", …
    region: str
    port: int
    data: Path  # glance.db, the file stores, staging, tasks, cache, locks
    stores: tuple[str, ...]
    shaped: bool

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def store_dir(self, store: str) -> Path:
        """A file store's directory; the first store keeps the stock layout (``images/``)."""
        return self.data / ("images" if store == STORE_NAMES[0] else f"images-{store}")


def glance_sites(cloud: Cloud, shape: Shape) -> list[GlanceSite]:
    """The Glances of *cloud*: one per region of its shape (one for a stock cloud)."""
    shaped = shape.applies_to(cloud.name)
    regions = shape.regions if shaped else 1
    stores = STORE_NAMES[: shape.stores if shaped else 1]
    sites = [GlanceSite("glance", REGION_NAMES[0], cloud.glance_port, cloud.data, stores, shaped)]
    for r in range(2, regions + 1):
        port = _region_port(cloud.keystone_port, r)
        data = cloud.data / f"glance{r}"
        sites.append(GlanceSite(f"glance{r}", REGION_NAMES[r - 1], port, data, stores, shaped))
    return sites


def describe_glances(cloud: Cloud) -> str:
    """``Glance URL`` for a stock cloud; each Glance's region, and the stores, when shaped."""
    sites = cloud.glances
    if len(sites) == 1 and len(sites[0].stores) == 1:
        return f"Glance {sites[0].url}"
    line = "  ".join(f"Glance {g.url} ({g.region})" for g in sites)
    return f"{line}  stores {', '.join(sites[0].stores)}"


def shape_ports(port_base: int, shape: Shape) -> list[int]:
    """The ports the Glances of further regions take (none for a stock sandbox)."""
    if shape.plain:
        return []
    keystone_port = port_base + 10 * int(SHAPED_CLOUD[1:])
    return [_region_port(keystone_port, r) for r in range(2, shape.regions + 1)]


def _region_port(keystone_port: int, region_number: int) -> int:
    """Region 2's Glance on BASE+10N+6, region 3's on +7, region 4's on +8."""
    return keystone_port + REGION_PORT_OFFSET + region_number


def shape_glance_options(site: GlanceSite, conf: dict[str, dict[str, str]]) -> None:
    """Add a shaped Glance's stores, import methods and import filtering to *conf*."""
    conf["DEFAULT"]["enabled_backends"] = ", ".join(f"{s}:file" for s in site.stores)
    for store in site.stores:
        conf[store] = {
            "filesystem_store_datadir": f"{site.store_dir(store)}/",
            "store_description": f"sandbox file store {store!r}",
        }
    if not site.shaped:
        return
    # These are "bounded" list options: Glance rejects a value not written as [a, b].
    conf["DEFAULT"]["enabled_import_methods"] = _bounded(IMPORT_METHODS)
    # Both Glances and the tests' web servers are on 127.0.0.1, on ports other than 80/443:
    # an allowed host list naming loopback lifts the loopback block, and an empty allowed
    # port list lets every port through (the disallowed list, also empty, then applies).
    conf["import_filtering_opts"] = {
        "allowed_schemes": _bounded(["http"]),
        "allowed_hosts": _bounded([HOST]),
        "allowed_ports": _bounded([]),
    }
    # glance-download copies only source properties with these prefixes (Glance's default
    # list, written out so the notes and the sandbox agree); glint sets the rest itself.
    conf["glance_download_properties"] = {
        "extra_properties": _bounded(GLANCE_DOWNLOAD_PREFIXES),
    }


def _bounded(items: Sequence[str]) -> str:
    return "[" + ", ".join(items) + "]"


def render_ini(conf: dict[str, dict[str, str]]) -> str:
    """An oslo.config file from {section: {option: value}}, DEFAULT first."""
    lines: list[str] = []
    for section in sorted(conf, key=lambda s: s != "DEFAULT"):
        lines.append(f"[{section}]")
        lines.extend(f"{k} = {v}".rstrip() for k, v in conf[section].items())
    return "\n".join(lines) + "\n"


def add_shape_arguments(parser: argparse.ArgumentParser) -> None:
    """``--regions N`` and ``--stores N`` of ``glint sandbox up``."""
    parser.add_argument(
        "--regions",
        type=int,
        default=None,
        metavar="N",
        help="c1 gets N regions behind its Keystone, each with its own Glance "
        "(glance-download between them); fixed when the sandbox is created",
    )
    parser.add_argument(
        "--stores",
        type=int,
        default=None,
        metavar="N",
        help="c1's Glance(s) get N file stores (copy-image between them)",
    )


def shape_from_args(args: argparse.Namespace) -> Shape | None:
    """None when neither option is given: keep the shape the sandbox has."""
    if args.regions is None and args.stores is None:
        return None
    return Shape(args.regions or 1, args.stores or 1)
