"""`export` (static report images) and `screenshot` (a web map through headless Chromium).

  kechuang-gis export overview --out maps/overview.png --dpi 300 --size A4
  kechuang-gis export accessibility --input outputs/access --measure nearest_time_min --out maps/access.pdf
  kechuang-gis export node-strength --input outputs/node_strength --out maps/nodes.svg --lang en
  kechuang-gis export layer --input sites.csv --measure jobs --out maps/sites.png
  kechuang-gis screenshot maps/overview.html --out overview.png --width 1600 --height 1000

The loaders here only read files into GeoDataFrames; drawing is in publish.static.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..errors import InputError

log = logging.getLogger(__name__)

#: File names written by the analysis commands, looked for in an --input folder.
ACCESS_FILES = {"origins": ("origins.parquet", "origins.gpkg", "origins.geojson"),
                "isochrones": ("isochrones.parquet", "isochrones.gpkg", "isochrones.geojson"),
                "destinations": ("destinations.parquet", "destinations.gpkg", "destinations.geojson")}
NODE_FILES = {"nodes": ("node_strength.parquet", "node_strength.gpkg", "node_strength.csv"),
              "flows": ("flows.parquet", "flows.gpkg", "flows.geojson")}
#: Default measure per kind when --measure is not given.
DEFAULT_MEASURE = {"accessibility": "nearest_time_min", "scenario-delta": "nearest_time_min_delta"}


def register(sub: argparse._SubParsersAction) -> None:
    from ..publish.static import DEFAULT_DPI, DEFAULT_SIZE, KINDS

    p = sub.add_parser("export", help="static map image for reports (PNG, SVG or PDF)",
                       description="Render a report-quality static map. The format follows "
                                   "the --out suffix (.png, .svg, .pdf).")
    p.add_argument("kind", choices=KINDS, help="map kind")
    p.add_argument("--out", required=True, help="output file: NAME.png, NAME.svg or NAME.pdf")
    p.add_argument("--dpi", type=float, default=DEFAULT_DPI, help=f"resolution (default {DEFAULT_DPI})")
    p.add_argument("--size", default=DEFAULT_SIZE,
                   help=f"page: A1-A5 (landscape; add -portrait) or WxH in mm (default {DEFAULT_SIZE})")
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="label language (default zh)")
    p.add_argument("--input", metavar="DIR_or_FILE",
                   help="data to draw: an accessibility/node-strength output folder, a network "
                        "folder (transport), a layers.gpkg (overview) or any vector/CSV file (layer)")
    p.add_argument("--measure", metavar="COL",
                   help="column to classify (accessibility: default nearest_time_min; "
                        "scenario-delta: the change column; layer: optional)")
    p.add_argument("--scheme", default="NaturalBreaks", help="classification scheme (mapclassify name)")
    p.add_argument("--k", type=int, default=5, help="number of classes (default 5)")
    p.add_argument("--label-col", metavar="COL", help="layer: column whose values label the features")
    p.add_argument("--title", help="map title (default per kind)")
    p.add_argument("--datum", default="wgs84", choices=("wgs84", "gcj02", "bd09"),
                   help="layer: datum of a CSV's lon/lat (default wgs84)")
    p.set_defaults(handler=_export)

    s = sub.add_parser("screenshot", help="PNG of a web map rendered in headless Chromium",
                       description="Render an HTML map in headless Debian Chromium and save "
                                   "the viewport as PNG (needs chromium and chromium-driver).")
    s.add_argument("html", help="the web map (HTML file)")
    s.add_argument("--out", required=True, help="output PNG")
    s.add_argument("--width", type=int, default=1600, help="viewport width in CSS pixels (default 1600)")
    s.add_argument("--height", type=int, default=1000, help="viewport height in CSS pixels (default 1000)")
    s.add_argument("--scale", type=float, default=1.0, help="device pixel ratio (2 doubles the pixels)")
    s.add_argument("--wait", type=float, default=20.0, help="longest wait for tiles, seconds (default 20)")
    s.add_argument("--offline", action="store_true",
                   help="block every network request (maps made with --offline/--basemap none)")
    s.set_defaults(handler=_screenshot)


# --- handlers ---------------------------------------------------------------------------

def _export(args) -> int:
    from ..publish import static

    out = Path(args.out)
    if out.suffix.lower() not in static.FORMATS:
        raise InputError(f"--out {out}: use a .png, .svg or .pdf file name")
    static.parse_size(args.size)  # fail on a bad size before loading anything
    bg = load_background()
    common = {"out": out, "lang": args.lang, "size": args.size, "dpi": args.dpi, "title": args.title}
    kind = args.kind
    if kind == "overview":
        places, structures = load_overview(args.input)
        path = static.render_overview(bg, places, structures, **common)
    elif kind == "transport":
        edges, nodes = load_transport(args.input)
        path = static.render_transport(bg, edges, nodes, **common)
    elif kind == "accessibility":
        data = load_accessibility(_need_input(args, kind))
        measure = args.measure or DEFAULT_MEASURE[kind]
        path = static.render_accessibility(bg, data["origins"], measure, data.get("isochrones"),
                                           destinations=data.get("destinations"),
                                           scheme=args.scheme, k=args.k, **common)
    elif kind == "scenario-delta":
        data = load_accessibility(_need_input(args, kind))
        measure = args.measure or _delta_column(data["origins"])
        path = static.render_scenario_delta(bg, data["origins"], measure, **common)
    elif kind == "node-strength":
        nodes, flows = load_node_strength(_need_input(args, kind))
        path = static.render_node_strength(bg, nodes, flows, **common)
    else:
        data = load_any(_need_input(args, kind), datum=args.datum)
        title = args.title or Path(args.input).stem
        path = static.render_layer(bg, data, column=args.measure, label_col=args.label_col,
                                   scheme=args.scheme, k=args.k,
                                   **{**common, "title": title})
    print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KiB)")
    return 0


def _screenshot(args) -> int:
    from ..publish.browser import screenshot

    path = screenshot(args.html, args.out, args.width, args.height, args.wait, scale=args.scale,
                      block_network=args.offline)
    print(f"wrote {path}")
    return 0


def _need_input(args, kind: str) -> Path:
    if not args.input:
        raise InputError(f"export {kind} needs --input (a results folder or file)")
    path = Path(args.input)
    if not path.exists():
        raise InputError(f"--input {path}: no such file or folder")
    return path


# --- loaders: files -> GeoDataFrames ----------------------------------------------------

def load_background():
    """The reference layers: admin units, lakes, rivers, land outline."""
    from ..publish.background import Background

    return Background.load()


def _structures():
    from ..layers.structures import build_structures

    return build_structures()


def _optional(what: str, loader):
    try:
        return loader()
    except (ImportError, InputError) as exc:
        log.info("no %s layer: %s", what, exc)
        return None


def _read(path: Path) -> gpd.GeoDataFrame:
    from ..io import read_vector

    return read_vector(path)


def load_overview(path: str | None):
    """Places and structures from a layers.gpkg, or from the layer modules."""
    if path:
        gpkg = Path(path)
        gpkg = gpkg / "layers.gpkg" if gpkg.is_dir() else gpkg
        if not gpkg.exists():
            raise InputError(f"--input {path}: no layers.gpkg (write it with `kechuang-gis layers build`)")
        from ..io import read_vector

        places = read_vector(gpkg, layer="gazetteer")
        try:
            structures = read_vector(gpkg, layer="structures")
        except InputError:
            structures = None
        return places, structures
    from ..layers import gazetteer

    places = gazetteer.load_gazetteer(located_only=True)
    structures = _optional("structures", _structures)
    return places, structures


def load_transport(path: str | None):
    """(edges, nodes) of a saved network folder, or of the embedded strategic network."""
    from ..network.model import Network

    if path:
        net = Network.load(path)
    else:
        from ..network.embedded import build_embedded

        net = build_embedded(statuses="all")
    return net.edges, net.nodes


def load_accessibility(path: Path) -> dict[str, gpd.GeoDataFrame]:
    """origins (required), isochrones and destinations (when present) of a results folder."""
    if path.is_file():
        return {"origins": load_any(path)}
    out = {}
    for key, names in ACCESS_FILES.items():
        hit = next((path / n for n in names if (path / n).exists()), None)
        if hit is not None:
            out[key] = _read(hit)
    if "origins" not in out:
        raise InputError(f"{path}: no origins file ({', '.join(ACCESS_FILES['origins'])}); "
                         "run `kechuang-gis accessibility --out DIR` first")
    return out


def load_node_strength(path: Path):
    """(nodes, flows) of a node-strength results folder, or a nodes file alone."""
    if path.is_file():
        return load_any(path), None
    nodes_file = next((path / n for n in NODE_FILES["nodes"] if (path / n).exists()), None)
    if nodes_file is None:
        raise InputError(f"{path}: no node_strength.parquet; run `kechuang-gis node-strength --out DIR` first")
    nodes = load_any(nodes_file)
    flows_file = next((path / n for n in NODE_FILES["flows"] if (path / n).exists()), None)
    return nodes, (_read(flows_file) if flows_file else None)


def load_any(path: Path, datum: str = "wgs84") -> gpd.GeoDataFrame:
    """Any vector file; a CSV with lon/lat columns becomes points (read_points checks it)."""
    from ..io import read_points

    path = Path(path)
    if path.suffix.lower() == ".csv":
        return read_points(path, datum=datum, allow_missing_id=True)
    gdf = _read(path)
    if datum != "wgs84":
        from ..crs import to_wgs84_datum

        gdf = to_wgs84_datum(gdf, datum)
    return gdf


def _delta_column(origins: pd.DataFrame) -> str:
    cols = [c for c in origins.columns if str(c).startswith(("delta_", "d_")) or str(c).endswith("_delta")]
    if not cols:
        raise InputError("no change column (delta_*, *_delta) in the origins; name one with --measure")
    return cols[0]

