"""`kechuang-gis layers build|compare-osm`: the geocoded layers of the region."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("layers", help="build the region's layers (admin, water, gazetteer, structures)")
    lsub = p.add_subparsers(dest="layers_command", metavar="ACTION", required=True)
    b = lsub.add_parser("build", help="write DIR/layers.gpkg with one table per layer")
    b.add_argument("--out", required=True, help="output folder")
    b.set_defaults(handler=_build)
    c = lsub.add_parser("compare-osm", help="compare the admin boundaries with OpenStreetMap's "
                        "(exit 1 if a unit looks datum-shifted)")
    src = c.add_mutually_exclusive_group(required=True)
    src.add_argument("--osm", metavar="FILE", help="OSM extract (.osm.pbf, .osm, .osm.bz2) with the "
                     "boundary relations of the region")
    src.add_argument("--overpass", action="store_true", help="download them from Overpass (needs the "
                     "internet once; cached)")
    c.add_argument("--level", choices=["county", "city", "both"], default="both",
                   help="which of our units to compare (default both)")
    c.add_argument("--out", metavar="CSV", help="write the table to this CSV file")
    c.set_defaults(handler=_compare_osm)


def _build(args: argparse.Namespace) -> int:
    from ..layers.build import load_layers, write_layers

    layers = load_layers()
    path = write_layers(layers, args.out)
    for name, gdf in layers.items():
        print(f"{name:14s} {len(gdf):5d} features")
    print(f"wrote {path}")
    return 0


def _compare_osm(args: argparse.Namespace) -> int:
    import pandas as pd

    from ..io import write_csv
    from ..layers.admin import admin_city, admin_county, study_area
    from ..layers.osm_boundaries import (
        compare_boundaries,
        download_osm_boundaries,
        read_osm_boundaries,
    )

    osm = download_osm_boundaries(study_area().buffer(0.05)) if args.overpass else read_osm_boundaries(args.osm)
    ours = {"county": [admin_county()], "city": [admin_city()], "both": [admin_city(), admin_county()]}[args.level]
    units = pd.concat(ours, ignore_index=True).drop_duplicates("adcode")
    table = compare_boundaries(units, osm)
    with pd.option_context("display.width", 160, "display.max_rows", None):
        print(table[["adcode", "name", "status", "iou", "area_diff_pct", "offset_median_m",
                     "offset_p95_m", "shift_m"]].round(2).to_string(index=False))
    counts = table["status"].value_counts()
    print("; ".join(f"{k}: {v}" for k, v in counts.items()))
    if args.out:
        print(f"wrote {write_csv(table, args.out, index=False)}")
    return 1 if counts.get("shifted", 0) else 0
