"""`kechuang-gis network`: build a transport network folder, or describe one."""

from __future__ import annotations

import argparse
import json
import sys

EPILOG = """\
examples:
  kechuang-gis network build --source embedded --out outputs/network
  kechuang-gis network build --source jiangsu-latest.osm.pbf --area study --roads regional --out net/
  kechuang-gis network build --source overpass --area study --modes road,rail --out net/   # cached
  kechuang-gis network build --source west.osm.bz2 --modes road --roads all --out net/
  kechuang-gis network info net/
"""


def register(sub) -> None:
    p = sub.add_parser("network", help="build transport networks (embedded, Overpass, .osm/.osm.pbf) and describe them",
                       description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    nsub = p.add_subparsers(dest="network_command", metavar="ACTION")
    b = nsub.add_parser("build", help="build a network folder (nodes.parquet, edges.parquet, meta.json)",
                        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--source", default="embedded",
                   help="embedded (default) | overpass | PATH.osm.pbf | PATH.osm | PATH.osm.xml | PATH.osm.bz2")
    b.add_argument("--area", help="all (whole file; default for files) | study (两区六市; default for "
                                  "overpass) | a polygon file (GeoJSON, GPKG, GeoParquet)")
    b.add_argument("--modes", default="road,rail", help="comma list of road, rail (default road,rail)")
    b.add_argument("--roads", default="regional", choices=("regional", "urban", "all"),
                   help="road level: regional = motorway..secondary + links; urban adds tertiary, "
                        "unclassified, residential; all adds living_street, service (default regional)")
    b.add_argument("--transfer-penalty", type=float, default=None, metavar="MIN",
                   help="minutes to board rail from the road network at a station (default from settings)")
    b.add_argument("--min-component", type=int, default=None, metavar="N",
                   help="drop connected components with fewer than N raw OSM nodes (default 10)")
    b.add_argument("--statuses", default=None,
                   help="embedded source: all (default) or a comma list of operating, under_construction, "
                        "planned; every edge keeps its status and analyses use operating ones by default")
    b.add_argument("--out", required=True, help="output folder (written atomically)")
    b.set_defaults(handler=run_build)
    i = nsub.add_parser("info", help="counts by mode and class, lengths, components, bounding box")
    i.add_argument("directory", help="network folder")
    i.add_argument("--json", action="store_true", help="print the summary as JSON")
    i.set_defaults(handler=run_info)
    p.set_defaults(handler=lambda args: (p.print_help(), 2)[1])


def run_build(args: argparse.Namespace) -> int:
    from ..network.build import build_network
    from ..network.simplify import MIN_COMPONENT_NODES
    from ..network.summary import render_summary, summarize
    from ..settings import TRANSFER_PENALTY_MIN

    net = build_network(
        args.source, area=args.area, modes=args.modes, roads=args.roads,
        transfer_penalty_min=TRANSFER_PENALTY_MIN if args.transfer_penalty is None else args.transfer_penalty,
        min_component=MIN_COMPONENT_NODES if args.min_component is None else args.min_component,
        progress=sys.stderr.isatty(), statuses=args.statuses,
    )
    net.save(args.out)
    report = net.meta.get("report") or {}
    if report.get("components_dropped"):
        print(f"dropped {report['components_dropped']:,} component(s) smaller than the threshold "
              f"({report.get('component_nodes_dropped', 0):,} raw nodes)", file=sys.stderr)
    print(f"wrote {args.out}")
    print(render_summary(summarize(net)))
    return 0


def run_info(args: argparse.Namespace) -> int:
    from ..network.model import Network
    from ..network.summary import render_summary, summarize

    s = summarize(Network.load(args.directory))
    print(json.dumps(s, ensure_ascii=False, indent=2) if args.json else render_summary(s))
    return 0
