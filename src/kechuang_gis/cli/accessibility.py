"""`kechuang-gis accessibility`: accessibility measures from origins to destinations."""

from __future__ import annotations

import argparse
import sys

from ..errors import InputError

EPILOG = """\
examples:
  kechuang-gis accessibility --network outputs/network --destinations parks --origins hex:8 \\
      --metrics nearest,cumulative:30,45,60,gravity --out outputs/access
  kechuang-gis accessibility --network net/ --destinations sites.csv --mass-col jobs \\
      --origins grid:1000 --metrics 2sfca,od --population pop.tif --catchment 30 --out out/
  kechuang-gis accessibility ... --workers 4            # local Dask cluster, 4 processes
  kechuang-gis accessibility ... --dask-scheduler tcp://10.0.0.5:8786   # existing cluster
"""


def register(sub) -> None:
    p = sub.add_parser("accessibility", help="travel-time accessibility measures (nearest, cumulative, gravity, 2SFCA, OD, isochrones)",
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--network", required=True, help="network folder (nodes.parquet, edges.parquet, meta.json)")
    p.add_argument("--destinations", required=True,
                   help="parks | hubs | gazetteer | a file (CSV id,lon,lat[,mass], GeoJSON, GPKG, GeoParquet)")
    p.add_argument("--origins", required=True,
                   help="hex:RES | grid:METERS | counties | gazetteer | a point file")
    p.add_argument("--metrics", required=True,
                   help="comma list of nearest, cumulative[:30,45,60], gravity, 2sfca, od, isochrones")
    p.add_argument("--out", required=True, help="output folder (written atomically)")
    p.add_argument("--mass-col", help="destination column with the mass (supply); default 1 each")
    p.add_argument("--decay", choices=("exp", "power", "gaussian"), default="exp", help="gravity decay (default exp)")
    p.add_argument("--beta", type=float, help="decay parameter (per minute for exp/gaussian); defaults per decay")
    p.add_argument("--catchment", type=float, default=30.0, help="2SFCA catchment in minutes (default 30)")
    p.add_argument("--population", help="population count raster (any CRS) for 2SFCA demand and weighted summaries")
    p.add_argument("--limit", type=float, help="travel beyond this many minutes counts as unreachable")
    p.add_argument("--isochrones", default="15,30,45,60,90", help="isochrone minutes (default 15,30,45,60,90)")
    p.add_argument("--modes", help="comma list of network modes to use (road,rail); default all")
    p.add_argument("--datum", default="wgs84", choices=("wgs84", "gcj02", "bd09"),
                   help="datum of coordinates in origin/destination files (default wgs84)")
    scale = p.add_mutually_exclusive_group()
    scale.add_argument("--workers", type=int, help="run on a local Dask cluster with N worker processes")
    scale.add_argument("--dask-scheduler", help="run on an existing Dask cluster (scheduler address)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..analysis.accessibility import accessibility

    if args.limit is not None and not args.limit > 0:
        raise InputError(f"--limit must be a positive number of minutes, got {args.limit:g}")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()] if args.modes else None
    result = accessibility(
        args.network, args.origins, args.destinations, args.metrics,
        mass_col=args.mass_col, decay=args.decay, beta=args.beta, catchment_min=args.catchment,
        population=args.population, limit_min=args.limit, isochrone_minutes=args.isochrones,
        modes=modes, datum=args.datum, workers=args.workers, scheduler=args.dask_scheduler,
        progress=sys.stderr.isatty(),
    )
    out = result.write(args.out)
    c = result.counts
    print(f"{c['origins']} origins x {c['destinations']} destinations -> {out}")
    for key in ("unsnapped_origins", "unsnapped_destinations", "unreachable_origins", "od_unreachable_pairs"):
        if c.get(key):
            print(f"  {key.replace('_', ' ')}: {c[key]}")
    return 0
