"""`kechuang-gis geocode INPUT.csv --out OUT.gpkg`: place names and addresses on the map."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("geocode", help="geocode a CSV of names/addresses/coordinates (offline first)")
    p.add_argument("input", help="CSV file (UTF-8)")
    p.add_argument("--out", required=True, help="output .gpkg, .geojson, .parquet or .csv")
    p.add_argument("--name-col", default="name")
    p.add_argument("--address-col", default=None)
    p.add_argument("--lon-col", default="lon")
    p.add_argument("--lat-col", default="lat")
    p.add_argument("--datum", default="wgs84", help="datum of lon/lat columns: wgs84, gcj02, bd09")
    p.add_argument("--online", choices=("nominatim", "amap"), default=None,
                   help="also ask an online provider for rows nothing offline matched (needs network; AMap needs AMAP_KEY)")
    p.add_argument("--fuzzy-cutoff", type=float, default=0.8)
    p.add_argument("--keep-unmatched", action="store_true",
                   help="write unmatched rows (match_type=unmatched) instead of failing")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from ..io import atomic_path, write_csv
    from ..layers.geocode import geocode_file

    gdf = geocode_file(args.input, name_col=args.name_col, address_col=args.address_col,
                       lon_col=args.lon_col, lat_col=args.lat_col, datum=args.datum, online=args.online,
                       fuzzy_cutoff=args.fuzzy_cutoff, keep_unmatched=args.keep_unmatched)
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix == ".csv":
        df = gdf.drop(columns="geometry")
        df["lon"] = gdf.geometry.x.round(6)
        df["lat"] = gdf.geometry.y.round(6)
        write_csv(df, out)
    else:
        with atomic_path(out) as tmp:
            if suffix == ".parquet":
                gdf.to_parquet(tmp, index=False)
            else:
                driver = {".gpkg": "GPKG", ".geojson": "GeoJSON"}.get(suffix)
                if driver is None:
                    from ..errors import InputError

                    raise InputError(f"{out}: unsupported output format; use .gpkg, .geojson, .parquet or .csv")
                tmp.unlink()
                gdf.to_file(tmp, driver=driver, layer="geocoded" if driver == "GPKG" else None)
    counts = gdf["match_type"].value_counts().to_dict()
    print(f"wrote {out}: {len(gdf)} rows; " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return 0
