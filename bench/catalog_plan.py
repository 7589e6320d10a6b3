"""Benchmark the catalog planner (the pure part) on a realistic inventory, no clouds.

3 clouds x one project each; every column holds --foreign images that are not the
catalog's plus, for each of --entries catalog entries, its two newest versions (the newest
under the plain name; c3 in raw, converted). Upstream lists three versions, the newest
already everywhere: a no-change plan. Side by side, alternating, --rounds times: (a)
``plan_catalog`` and (b) the baseline ``inventory.build_matrix`` of the same listings —
work every plan does anyway once the clouds answered. Prints each pair, the median ratio
(plan / matrix) and checks the plan is empty. The clouds' listing time is not in either.

    .venv/bin/python bench/catalog_plan.py [--entries 50] [--foreign 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from glint_tui.core.catalog.planner import plan_catalog  # noqa: E402
from glint_tui.core.inventory import Listing, build_matrix  # noqa: E402
from tests.catalog_helpers import (  # noqa: E402
    C2,
    C3,
    NOW,
    PID,
    A,
    catalog,
    entry_yaml,
    foreign,
    identity,
    image,
    upstream,
)

VERSIONS = ("20261001", "20261101", "20261120")


def world(entries: int, count: int):
    names = [f"image-{n:03d}" for n in range(entries)]
    items = [
        entry_yaml(name=n, to=["c1:alpha", "c2:alpha", "c3:alpha"], convert_to={"c3": "raw"}).split(
            "\n", 1
        )[1]
        for n in names
    ]
    cat = catalog("images:\n" + "".join(items))
    ups = {}
    for n in names:
        ups.update({n: replace(upstream(*VERSIONS)["debian-12"], entry=n)})
    listings = []
    for ref in (A, C2, C3):
        fmt = "raw" if ref == C3 else "qcow2"
        images = [foreign(f"{ref.repository}-f{i}", f"other-{i}", ref) for i in range(count)]
        for n in names:
            for v, plain in ((VERSIONS[2], True), (VERSIONS[1], False)):
                made = image(f"{ref.repository}-{n}-{v}", v, ref, disk_format=fmt)
                props = {**made.properties, "glint_catalog_entry": n}
                label = n if plain else f"{n} ({v})"
                images.append(replace(made, name=label, properties=props))
        listings.append(Listing(ref, PID[ref], images, None, cloud=identity(ref)))
    return cat, ups, listings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--foreign", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    cat, ups, listings = world(args.entries, args.foreign)
    matrix = build_matrix(listings)
    check = plan_catalog(cat, ups, matrix, now=NOW)
    assert check.empty and not check.refusals, check.describe()[:5]
    ratios = []
    for n in range(args.rounds):
        times = {}
        for side in ("plan", "matrix") if n % 2 == 0 else ("matrix", "plan"):
            start = time.perf_counter()
            if side == "plan":
                plan_catalog(cat, ups, matrix, now=NOW)
            else:
                build_matrix(listings)
            times[side] = time.perf_counter() - start
        ratios.append(times["plan"] / times["matrix"])
        print(
            f"round {n + 1}: plan {times['plan'] * 1000:.0f} ms, "
            f"matrix {times['matrix'] * 1000:.0f} ms, ratio {ratios[-1]:.2f}"
        )
    images = sum(len(lst.images) for lst in listings)
    ratio = statistics.median(ratios)
    print(f"{args.entries} entries, 3 clouds, {images} images: median ratio {ratio:.2f}")


if __name__ == "__main__":
    main()
