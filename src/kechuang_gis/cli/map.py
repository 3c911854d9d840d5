"""``kechuang-gis map KIND``: publish a folium web map (reading inputs and wiring only)."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from ..errors import DataWarning, InputError

KINDS = ("overview", "transport", "accessibility", "node-strength", "layer")

#: File names looked for when --input is a folder (first match wins).
DIR_FILES = {
    "origins": ("accessibility_hex.parquet", "accessibility.parquet", "hex.parquet", "origins.parquet",
                "accessibility_hex.geojson", "origins.geojson"),
    "isochrones": ("isochrones.parquet", "isochrones.geojson"),
    "raster": ("accessibility.tif", "surface.tif"),
    "nodes": ("node_strength.parquet", "node_strength.geojson", "node_strength.csv"),
    "flows": ("flows.parquet", "flows.geojson", "node_flows.parquet"),
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("map", help="publish a web map (HTML)",
                       description="Publish a folium web map. KIND: " + ", ".join(KINDS))
    p.add_argument("kind", choices=KINDS, metavar="KIND", help=" | ".join(KINDS))
    p.add_argument("path", nargs="?", help="input file for KIND=layer (same as --input)")
    p.add_argument("--out", required=True, help="output HTML file, e.g. maps/overview.html")
    p.add_argument("--basemap", default="osm", choices=("osm", "carto", "amap", "tianditu", "none"),
                   help="tiles under the map; amap shifts overlays to GCJ-02; tianditu needs "
                        "TIANDITU_KEY; none draws a vector background (default osm)")
    p.add_argument("--offline", action="store_true",
                   help="inline every script, stylesheet and icon (no CDN)")
    p.add_argument("--lang", default="zh", choices=("zh", "en"), help="label language (default zh)")
    p.add_argument("--input", help="input file or folder (network folder for transport; "
                                   "results folder or file for accessibility / node-strength)")
    p.add_argument("--measure", help="column to map (accessibility: default nearest_time_min; "
                                     "node-strength: default composite_index; layer: optional)")
    p.add_argument("--popup-cols", help="comma-separated columns shown in popups (layer)")
    p.add_argument("--isochrones", help="isochrone polygons (accessibility)")
    p.add_argument("--raster", help="GeoTIFF surface overlay (accessibility)")
    p.add_argument("--flows", help="flow lines with w_ij (node-strength)")
    p.add_argument("--scheme", default="NaturalBreaks",
                   help="classification scheme (NaturalBreaks, Quantiles, EqualInterval, ...)")
    p.add_argument("-k", "--classes", type=int, default=6, help="number of classes (default 6)")
    p.add_argument("--title", help="map title")
    p.set_defaults(handler=run)


def _find(folder: Path, key: str) -> Path | None:
    for name in DIR_FILES[key]:
        if (folder / name).exists():
            return folder / name
    return None


def _read(path: str | Path | None):
    if path is None:
        return None
    from ..publish.webmap import read_layer

    return read_layer(path)


def _need(value, what: str, kind: str):
    if value is None:
        raise InputError(f"map {kind} needs {what}")
    return value


def build(args: argparse.Namespace):
    """The WebMap for the parsed arguments."""
    from ..publish import webmap as W

    common = {"lang": args.lang, "basemap": args.basemap, "offline": args.offline, "title": args.title}
    bg = W.Background.load()
    kind = args.kind
    src = args.input or args.path
    folder = Path(src) if src and Path(src).is_dir() else None
    if kind == "overview":
        from ..layers import gazetteer, seeds

        structures = None
        try:
            from ..layers import structures as st

            structures = st.build_structures()
        except (InputError, OSError) as exc:
            warnings.warn(f"innovation structures not drawn: {exc}", DataWarning, stacklevel=2)
        return W.overview(gazetteer.load_gazetteer(), structures, background=bg,
                          digests=seeds.load_digests(), **common)
    if kind == "transport":
        from ..network.model import Network

        net = Network.load(_need(src, "--input NETWORK_DIR (a saved network folder)", kind))
        return W.transport(net.edges, net.nodes, background=bg, **common)
    if kind == "accessibility":
        src = _need(src, "--input (an origins file with measures, or a results folder)", kind)
        origins = _read(_find(folder, "origins") if folder else src)
        _need(origins, f"an origins file in {src} ({', '.join(DIR_FILES['origins'])})", kind)
        iso = _read(args.isochrones or (_find(folder, "isochrones") if folder else None))
        raster = args.raster or (_find(folder, "raster") if folder else None)
        return W.accessibility(origins, args.measure or "nearest_time_min", isochrones=iso,
                               raster=raster, scheme=args.scheme, k=args.classes, background=bg, **common)
    if kind == "node-strength":
        src = _need(src, "--input (the node strength table, or a results folder)", kind)
        nodes = _read(_find(folder, "nodes") if folder else src)
        _need(nodes, f"a node strength table in {src} ({', '.join(DIR_FILES['nodes'])})", kind)
        flows = _read(args.flows or (_find(folder, "flows") if folder else None))
        return W.node_strength(nodes, flows, index_col=args.measure or "composite_index",
                               background=bg, **common)
    src = _need(src, "an input file (PATH or --input)", kind)
    data = _read(src)
    cols = [c.strip() for c in args.popup_cols.split(",") if c.strip()] if args.popup_cols else None
    return W.layer(data, name=Path(src).stem, popup_cols=cols, measure=args.measure,
                   scheme=args.scheme, k=args.classes, background=bg, **common)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise InputError(f"--out {out}: a web map is an .html file")
    wm = build(args)
    size = wm.save(out)
    feats = sum(n for _, n in wm.layers)
    print(f"wrote {out} ({size / 1024:.1f} KiB, {len(wm.layers)} layers, {feats} features, "
          f"basemap {args.basemap}{', offline' if args.offline else ''})")
    return 0
