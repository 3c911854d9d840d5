"""`kechuang-gis run`: the main job on the embedded default data."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run layers -> network -> accessibility -> node strength -> scenario -> maps")
    p.add_argument("--out", default="outputs", help="folder for data products (default: outputs)")
    p.add_argument("--maps", default="maps", help="folder for web maps and images (default: maps)")
    p.add_argument("--origins", default="hex:7", help="origins for accessibility (default: hex:7)")
    p.add_argument("--basemap", default="none", choices=("osm", "carto", "amap", "tianditu", "none"),
                   help="basemap of the web maps (default: none = vector background, works offline)")
    p.add_argument("--online-assets", action="store_true",
                   help="load Leaflet from CDNs instead of inlining it (smaller files, needs internet)")
    p.add_argument("--lang", default="zh", choices=("zh", "en"))
    p.add_argument("--no-scenario", action="store_true", help="skip the scenario step")
    p.add_argument("--no-publish", action="store_true", help="skip maps and images")
    p.add_argument("--workers", type=int, default=None, help="Dask worker processes for the analysis")
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    from ..pipeline import RunConfig, run

    cfg = RunConfig(out_dir=Path(args.out), maps_dir=Path(args.maps), origins=args.origins,
                    basemap=args.basemap, offline=not args.online_assets, lang=args.lang,
                    scenario=not args.no_scenario, publish=not args.no_publish, workers=args.workers)
    products = run(cfg, progress=print)
    total = sum(products.get("timings_s", {}).values())
    print(f"done in {total:.0f} s; outputs in {args.out}/" + (f", maps in {args.maps}/" if cfg.publish else ""))
    return 0
