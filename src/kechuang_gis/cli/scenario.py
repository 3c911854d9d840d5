"""`kechuang-gis scenario`: run what-if scenarios against the base network and compare them."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import InputError

EPILOG = """\
examples:
  kechuang-gis scenario run scenarios/tongsujiayong.toml --out outputs/scenario_tsjy
  kechuang-gis scenario run scenarios/*.toml --out outputs/scenarios --workers 2
  kechuang-gis scenario run my.toml --out out/ --origins grid:2000 --destinations parks \\
      --metrics nearest,cumulative:30,60,gravity --population pop.tif
  kechuang-gis scenario compare outputs/scenarios/tongsujiayong outputs/scenarios/husujia_intercity \\
      --out outputs/compare.md

One file writes into OUT; several write into OUT/<file name without .toml>/.
Every file is checked and applied before anything is measured: a bad file stops the run.
"""


def register(sub) -> None:
    from ..analysis.scenario import DEFAULT_DESTINATIONS, DEFAULT_METRICS, DEFAULT_ORIGINS

    p = sub.add_parser("scenario", help="what-if scenarios: network and node changes against the base",
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    s = p.add_subparsers(dest="scenario_command", metavar="{run,compare}")
    r = s.add_parser("run", help="run scenario files: deltas per origin, node ranks, summary",
                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("files", nargs="+", metavar="FILE", help="scenario TOML file(s)")
    r.add_argument("--out", required=True, metavar="DIR", help="output folder (written atomically)")
    r.add_argument("--origins", default=DEFAULT_ORIGINS,
                   help=f"hex:RES | grid:METERS | counties | gazetteer | a point file (default {DEFAULT_ORIGINS})")
    r.add_argument("--destinations", default=DEFAULT_DESTINATIONS,
                   help=f"parks | hubs | gazetteer | a file (default {DEFAULT_DESTINATIONS})")
    r.add_argument("--metrics", default=DEFAULT_METRICS,
                   help=f"comma list of nearest, cumulative[:30,45,60], gravity, 2sfca (default {DEFAULT_METRICS})")
    r.add_argument("--mass-col", help="destination column with the mass (default 1 each)")
    r.add_argument("--population", help="population count raster for population-weighted summaries")
    r.add_argument("--no-node-strength", action="store_true", help="skip node strength (ranks before/after)")
    scale = r.add_mutually_exclusive_group()
    scale.add_argument("--workers", type=int, help="measure base and scenarios in parallel on a local "
                                                   "Dask cluster of N processes")
    scale.add_argument("--dask-scheduler", help="use an existing Dask cluster (scheduler address)")
    r.set_defaults(handler=run)
    c = s.add_parser("compare", help="compare two finished scenario folders")
    c.add_argument("dirs", nargs=2, metavar="DIR", help="two folders written by `scenario run`")
    c.add_argument("--out", metavar="FILE",
                   help="write the comparison: .md (by county, plain language), .csv (by county) or "
                        ".parquet (per origin, GeoParquet); default: print the summary")
    c.set_defaults(handler=compare)


def run(args: argparse.Namespace) -> int:
    from ..analysis.scenario import RunOptions, run_scenarios

    if args.workers is not None and args.workers < 1:
        raise InputError(f"--workers must be at least 1, got {args.workers}")
    files = [Path(f) for f in args.files]
    stems = [f.stem for f in files]
    dup = sorted({s for s in stems if stems.count(s) > 1})
    if dup:
        raise InputError(f"several scenario files share the name {', '.join(dup)}: their outputs would collide")
    out = Path(args.out)
    outs = [out] if len(files) == 1 else [out / s for s in stems]
    metrics = args.metrics
    bad = {"od", "isochrones"} & {m.split(":")[0].strip() for m in metrics.split(",")}
    if bad:
        raise InputError(f"--metrics: {', '.join(sorted(bad))} have no per-origin value to compare; "
                         "use nearest, cumulative, gravity or 2sfca")
    opts = RunOptions(origins=args.origins, destinations=args.destinations, metrics=metrics,
                      mass_col=args.mass_col, population=args.population,
                      node_strength=not args.no_node_strength)
    results = run_scenarios(files, outs, opts=opts, workers=args.workers, scheduler=args.dask_scheduler)
    for res in results:
        print(f"{res.applied.scenario.name} -> {res.out_dir}")
        for c in res.meta["measures"]:
            d = res.delta[f"{c}_delta"]
            print(f"  {c}_delta: mean {d.mean():+.3f}, min {d.min():+.3f}, max {d.max():+.3f}")
        if res.node_delta is not None:
            moved = res.node_delta[res.node_delta["rank_change"].fillna(0) != 0]
            print(f"  node ranks changed: {len(moved)} of {len(res.node_delta)}")
    return 0


def compare(args: argparse.Namespace) -> int:
    from ..analysis.scenario import compare as compare_dirs
    from ..analysis.scenario import compare_markdown
    from ..io import write_csv, write_geoparquet, write_text

    per_origin, table = compare_dirs(*args.dirs)
    text = compare_markdown(per_origin, table)
    if args.out is None:
        print(text)
        return 0
    out = Path(args.out)
    suffix = out.suffix.lower()
    if suffix == ".md":
        write_text(text, out)
    elif suffix == ".csv":
        write_csv(table, out)
    elif suffix in (".parquet", ".geoparquet"):
        write_geoparquet(per_origin, out)
    else:
        raise InputError(f"--out {out}: use a .md, .csv or .parquet file")
    print(f"wrote {out}")
    return 0
