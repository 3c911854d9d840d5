"""``kechuang-gis map KIND``: publish a folium web map (reading inputs and wiring only)."""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

from ..errors import DataWarning, InputError

KINDS = ("overview", "transport", "accessibility", "node-strength", "scenario", "layer")

#: The files a results folder given as --input holds, as the commands write them (first
#: match wins). The raster of accessibility is ``<measure>.tif``, one per measure.
DIR_FILES = {
    # `kechuang-gis network build --out DIR` (read by Network.load)
    "network": ("nodes.parquet", "edges.parquet", "meta.json"),
    # `kechuang-gis accessibility --out DIR`
    "origins": ("origins.parquet",),
    "isochrones": ("isochrones.parquet",),
    # `kechuang-gis node-strength --out DIR` (node_strength.csv is the same table, no geometry)
    "nodes": ("node_strength.parquet",),
    "flows": ("flows.parquet",),
    # `kechuang-gis scenario run --out DIR` (one folder per scenario)
    "delta": ("delta.parquet",),
    "changed": ("changed.parquet",),
    "node_ranks": ("node_strength_delta.csv",),
    "scenario_meta": ("meta.json",),
}
#: Measure mapped by default: accessibility and scenario maps.
DEFAULT_MEASURE = "nearest_time_min"


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
    p.add_argument("--input", help="input file or folder: network folder (transport); results folder "
                                   "or file (accessibility, node-strength); scenario folder (scenario)")
    p.add_argument("--measure", help="column to map (accessibility and scenario: default nearest_time_min; "
                                     "node-strength: default composite_index; layer: optional)")
    p.add_argument("--popup-cols", help="comma-separated columns shown in popups (layer)")
    p.add_argument("--isochrones", help="isochrone polygons (accessibility; drawn as one outline per "
                                        "threshold, the union over all destinations)")
    p.add_argument("--raster", help="GeoTIFF surface overlay (accessibility; default <measure>.tif of "
                                    "the results folder)")
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
        measure = args.measure or DEFAULT_MEASURE
        origins = _read(_find(folder, "origins") if folder else src)
        _need(origins, f"an origins file in {src} ({', '.join(DIR_FILES['origins'])})", kind)
        iso = _read(args.isochrones or (_find(folder, "isochrones") if folder else None))
        if iso is not None and len(iso):
            from ..publish.report import dissolve_isochrones

            iso = dissolve_isochrones(iso)  # a regional map: one outline per threshold
        raster = args.raster
        if raster is None and folder is not None and (folder / f"{measure}.tif").exists():
            raster = folder / f"{measure}.tif"
        return W.accessibility(origins, measure, isochrones=iso,
                               raster=raster, scheme=args.scheme, k=args.classes, background=bg, **common)
    if kind == "node-strength":
        src = _need(src, "--input (the node strength table, or a results folder)", kind)
        nodes = _read(_find(folder, "nodes") if folder else src)
        _need(nodes, f"a node strength table in {src} ({', '.join(DIR_FILES['nodes'])})", kind)
        flows = _read(args.flows or (_find(folder, "flows") if folder else None))
        return W.node_strength(nodes, flows, index_col=args.measure or "composite_index",
                               background=bg, **common)
    if kind == "scenario":
        return _scenario(args, folder, src, bg, common)
    src = _need(src, "an input file (PATH or --input)", kind)
    data = _read(src)
    cols = [c.strip() for c in args.popup_cols.split(",") if c.strip()] if args.popup_cols else None
    return W.layer(data, name=Path(src).stem, popup_cols=cols, measure=args.measure,
                   scheme=args.scheme, k=args.classes, background=bg, **common)


def _scenario(args: argparse.Namespace, folder: Path | None, src, bg, common: dict):
    """The scenario map of a `scenario run` output folder."""
    import pandas as pd

    from ..publish import webmap as W

    if folder is None:
        raise InputError(f"map scenario needs --input SCENARIO_DIR (a `kechuang-gis scenario run` output "
                         f"folder with {', '.join(DIR_FILES['delta'])}); got {src!r}")
    delta_path = _find(folder, "delta")
    if delta_path is None:
        raise InputError(f"{folder}: not a finished scenario folder (no {DIR_FILES['delta'][0]}); "
                         "run `kechuang-gis scenario run FILE --out DIR` first")
    delta = _read(delta_path)
    measure = args.measure or DEFAULT_MEASURE
    if f"{measure}_delta" not in delta.columns and not args.measure:
        have = [c[: -len("_delta")] for c in delta.columns if str(c).endswith("_delta")]
        if have:
            measure = have[0]
    changed = _find(folder, "changed")
    ranks = _find(folder, "node_ranks")
    subtitle = ""
    meta = _find(folder, "scenario_meta")
    if meta is not None:
        try:
            subtitle = str(json.loads(meta.read_text(encoding="utf-8")).get("scenario", {}).get("name") or "")
        except (ValueError, AttributeError) as exc:
            warnings.warn(f"{meta}: unreadable ({exc}); the map has no scenario name", DataWarning, stacklevel=2)
    return W.scenario(delta, measure, changed=_read(changed) if changed else None,
                      node_ranks=pd.read_csv(ranks) if ranks else None, background=bg,
                      subtitle=subtitle, k=args.classes if args.classes % 2 else args.classes + 1, **common)


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
