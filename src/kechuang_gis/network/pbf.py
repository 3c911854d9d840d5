"""Streaming reader for OSM PBF files (pyosmium), built for provincial extracts.

Two passes over the file, both filtered in C++ so Python sees only what is kept:

1. ways with a ``highway`` or ``railway`` key (and station nodes): the tag rules of
   :func:`.osm.classify_ways` pick roads of the requested level and railway=rail; their
   node references are appended to one flat int64 array;
2. nodes, through an id filter holding only the referenced ids: their coordinates.

Everything after that is numpy over the flat arrays: one-way reversal, clipping to the
area, geodesic segment lengths, small-component removal, cutting into pieces and
merging (:mod:`.simplify`). No Python object is made per OSM node of the file, so memory
is bounded by the kept ways (about 40 bytes per kept way node), not by the file size.
"""

from __future__ import annotations

import logging
from array import array
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from tqdm import tqdm

from ..errors import InputError, NetworkError, warn_count
from ..io import existing_input
from ..settings import WGS84
from .osm import GEOD, MISSING_REFS, WAY_TAGS, attach_stations, classify_ways, is_station
from .simplify import (
    MIN_COMPONENT_NODES,
    group_codes,
    merge_pieces,
    pieces_from_ways,
    pieces_to_edges,
    release_memory,
    small_components,
    unique,
)

log = logging.getLogger(__name__)

#: Below this share of the area inside the data's extent the file is reported as not
#: covering the area (a DataWarning with the share).
MIN_AREA_COVERAGE = 0.9


def _osm_error(path: Path, exc: Exception) -> InputError:
    return InputError(f"{path}: cannot read as OSM PBF ({exc}); the file is corrupt or truncated: "
                      "download it again (e.g. from download.geofabrik.de)")


def _scan_ways(path: Path, roads: str, modes: tuple[str, ...], progress: bool):
    """Pass 1: kept ways (tags, flat node refs) and station nodes."""
    import osmium

    keep_keys = ("highway", "railway", "public_transport")
    way_ids = array("q")
    way_len = array("q")
    refs = array("q")
    tag_rows: list[tuple] = []
    stations: list[tuple[float, float, str | None]] = []
    fp = (osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
          .with_filter(osmium.filter.KeyFilter(*keep_keys)))
    # Cheap pre-filter in Python: the full tag rules run vectorised afterwards.
    from .osm import road_levels

    levels = set(road_levels(roads))
    want_road, want_rail = "road" in modes, "rail" in modes
    bar = tqdm(desc="read ways", unit=" ways", disable=not progress, mininterval=1.0)
    try:
        for obj in fp:
            if obj.is_way():
                t = obj.tags
                if not ((want_road and t.get("highway") in levels)
                        or (want_rail and t.get("railway") == "rail")):
                    continue
                nodes = [n.ref for n in obj.nodes]
                if len(nodes) < 2:
                    continue
                way_ids.append(obj.id)
                way_len.append(len(nodes))
                refs.extend(nodes)
                tag_rows.append(tuple(t.get(k) for k in WAY_TAGS))
                bar.update()
            elif want_rail:
                t = obj.tags
                if is_station({k: t.get(k) for k in ("railway", "public_transport", "station", "subway")}):
                    loc = obj.location
                    if loc.valid():
                        stations.append((loc.lon, loc.lat, t.get("name")))
    except RuntimeError as exc:
        raise _osm_error(path, exc) from exc
    finally:
        bar.close()
    tags = pd.DataFrame(tag_rows, columns=list(WAY_TAGS))
    st = pd.DataFrame(stations, columns=["lon", "lat", "name"])
    return (np.frombuffer(way_ids, np.int64), np.frombuffer(way_len, np.int64),
            np.frombuffer(refs, np.int64), tags, st)


def _scan_nodes(path: Path, wanted: np.ndarray, progress: bool):
    """Pass 2: coordinates of the wanted node ids.

    libosmium does the pass in C++: an id filter feeds only the wanted nodes into a
    sparse location index (16 bytes a node), which is then looked up per wanted id.
    Duplicate ids in the file show up as surplus index entries (counted, one kept).
    """
    import osmium

    index = osmium.index.create_map("sparse_mem_array")
    try:
        osmium.apply(osmium.io.Reader(str(path), osmium.osm.NODE),
                     osmium.filter.IdFilter(wanted.tolist()), osmium.NodeLocationsForWays(index))
    except RuntimeError as exc:
        raise _osm_error(path, exc) from exc
    get = index.get
    lon: list[float] = []
    lat: list[float] = []
    nan = float("nan")
    for nid in tqdm(wanted.tolist(), desc="node locations", unit=" nodes", disable=not progress,
                    mininterval=1.0):
        try:
            loc = get(nid)
        except KeyError:
            lon.append(nan)
            lat.append(nan)
            continue
        if loc.valid():
            lon.append(loc.lon)
            lat.append(loc.lat)
        else:
            lon.append(nan)
            lat.append(nan)
    lon_a, lat_a = np.array(lon), np.array(lat)
    entries = index.used_memory() // 16
    n_dup = max(int(entries) - int(np.isfinite(lon_a).sum()), 0)
    warn_count(f"duplicate node id(s) in {path.name} (one occurrence used)", n_dup)
    return wanted, lon_a, lat_a


def read_pbf(path: str | Path, **kwargs):
    """Build a simplified Network from an OSM PBF file; see :func:`read_pbf_frames`.

    Returns ``(network, report)``.
    """
    from .model import Network

    nodes, edges, report, source = read_pbf_frames(path, **kwargs)
    return Network(nodes, edges, {"source": source}), report


def read_pbf_frames(path: str | Path, *, area=None, roads: str = "regional",
                    modes: tuple[str, ...] = ("road", "rail"), min_component: int = MIN_COMPONENT_NODES,
                    source: str | None = None, progress: bool = False):
    """Build a simplified Network from an OSM PBF file.

    Parameters
    ----------
    path : the .osm.pbf file (any size; streamed).
    area : shapely (Multi)Polygon in WGS84 to clip to; None keeps the whole file.
    roads : road level (``settings.ROAD_LEVELS``); modes : ``road`` and/or ``rail``.
    min_component : weakly connected components with fewer raw OSM nodes are dropped.

    Returns ``(nodes, edges, report, source)``: the GeoDataFrames of the Network, and
    counts of ways, raw nodes, dropped components and problems found, for meta.json.
    """
    path = existing_input(path)
    modes = tuple(modes)
    source = source or f"osm:{path.name}"
    way_ids, way_len, refs, tags, stations = _scan_ways(path, roads, modes, progress)
    if len(way_ids) == 0:
        raise NetworkError(f"{path}: no {' or '.join(modes)} ways at road level {roads!r} in the file")
    attrs, bad = classify_ways(tags, roads, modes)
    keep_way = attrs["keep"].to_numpy()
    wanted = unique(refs)
    node_ids, node_lon, node_lat = _scan_nodes(path, wanted, progress)
    release_memory()

    # Flat arrays over way-node positions; drop ways the full rules reject.
    way_of = np.repeat(np.arange(len(way_ids)), way_len)
    ptr = np.concatenate([[0], np.cumsum(way_len)])
    pos_keep = keep_way[way_of]
    # One-way=-1 ways: reverse their node order, so travel is always along the order.
    rev = attrs["reverse"].to_numpy()[way_of]
    if rev.any():
        k = np.arange(len(refs))
        w = way_of
        refs = refs[np.where(rev, ptr[w] + ptr[w + 1] - 1 - k, k)]
    node = np.searchsorted(node_ids, refs)
    node = np.minimum(node, max(len(node_ids) - 1, 0))
    present = (node_ids[node] == refs) if len(node_ids) else np.zeros(len(refs), bool)
    lon = np.where(present, node_lon[node], np.nan)
    lat = np.where(present, node_lat[node], np.nan)
    present &= np.isfinite(lon)
    n_missing = int((~present & pos_keep).sum())
    warn_count(MISSING_REFS.format(name=path.name), n_missing,
               unique(refs[~present & pos_keep])[:5].tolist())

    inside = present.copy()
    if area is not None:
        inside &= _contains(area, lon, lat)
    same_way = np.zeros(len(refs), bool)
    same_way[:-1] = way_of[1:] == way_of[:-1]
    seg_ok = same_way & pos_keep & inside & np.roll(inside, -1)
    seg_ok[:-1] &= node[:-1] != node[1:]          # repeated consecutive refs: no segment
    seg_ok[-1] = False
    _check_coverage(path, area, lon[present & pos_keep], lat[present & pos_keep], seg_ok)
    mode_of_way = attrs["mode"].to_numpy()
    if "road" in modes and not (seg_ok & (mode_of_way[way_of] == "road")).any():
        raise NetworkError(f"{path}: no roads at level {roads!r}"
                           + (" inside the area" if area is not None else ""))

    ks = np.flatnonzero(seg_ok)
    mode_code = (mode_of_way[way_of[ks]] == "rail").astype(np.int8)
    comp_ok, n_comp, n_comp_nodes = small_components(node[ks], node[ks + 1], mode_code, min_component)
    seg_ok[ks[~comp_ok]] = False
    ks = ks[comp_ok]
    if len(ks) == 0:
        raise NetworkError(f"{path}: nothing left after dropping components smaller than "
                           f"{min_component} nodes; lower --min-component")

    seg_len = np.zeros(len(refs))
    _, _, seg_len[ks] = GEOD.inv(lon[ks], lat[ks], lon[ks + 1], lat[ks + 1])
    speed_way = attrs["speed_kmh"].to_numpy(float)
    seg_time = np.zeros(len(refs))
    seg_time[ks] = seg_len[ks] / (speed_way[way_of[ks]] / 3.6)

    # Edge attributes shared by a group of ways; pieces never merge across groups.
    group_cols = ["mode", "class", "name", "ref", "line", "oneway", "speed_kmh", "status"]
    group, first_of_group = group_codes(attrs[group_cols])
    table = attrs.iloc[first_of_group][group_cols].drop(columns=["oneway"]).reset_index(drop=True)
    table["source"] = source

    rail_pos = ks[mode_code[comp_ok] == 1]
    rail_nodes = unique(np.concatenate([node[rail_pos], node[rail_pos + 1]]))
    if area is not None and len(stations):
        stations = stations[_contains(area, stations["lon"].to_numpy(float), stations["lat"].to_numpy(float))]
    named = attach_stations(stations["lon"].to_numpy(float), stations["lat"].to_numpy(float),
                            stations["name"].tolist(), rail_nodes, node_lon[rail_nodes],
                            node_lat[rail_nodes]) if len(rail_nodes) else {}
    forced = np.zeros(len(node_ids), bool)
    st_idx = np.fromiter(named.keys(), np.int64, len(named))
    forced[st_idx] = True

    pieces, _ = pieces_from_ways(node, seg_ok, group[way_of], attrs["oneway"].to_numpy(bool)[way_of],
                                 lon, lat, seg_len, seg_time, forced, len(node_ids))
    report = {
        "ways_read": int(len(way_ids)), "ways_kept": int(keep_way.sum()),
        "raw_nodes": int(len(unique(np.concatenate([node[ks], node[ks + 1]])))),
        "raw_segments": int(len(ks)), "stations": int(len(named)),
        "components_dropped": n_comp, "component_nodes_dropped": n_comp_nodes,
        "missing_node_refs": n_missing, "unparsed_maxspeed": int(sum(bad.values())),
        "unparsed_maxspeed_values": dict(bad.most_common(20)),
    }
    # The per-way-node arrays are done with: free them before the geometries are made,
    # which is where the peak memory of a large build is.
    del refs, node, lon, lat, seg_len, seg_time, seg_ok, way_of, ks, inside, present
    merged = merge_pieces(pieces, forced)
    del pieces
    release_memory()
    used = unique(np.concatenate([merged.start, merged.end]))
    edges = pieces_to_edges(merged, node_ids, table)
    del merged
    release_memory()
    # Take from a two-element object array: one shared str object, not one per node.
    kind = np.array(["junction", "station"], dtype=object)[forced[used].astype(np.intp)]
    names = [named.get(int(i)) for i in used] if named else [None] * len(used)
    nodes = gpd.GeoDataFrame({"id": node_ids[used], "kind": kind, "name": pd.Series(names, dtype=object)},
                             geometry=gpd.points_from_xy(node_lon[used], node_lat[used]), crs=WGS84)
    return nodes, edges, report, source


def _contains(area, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Points inside the area; NaN coordinates are outside. Bounding box first (cheap)."""
    x0, y0, x1, y1 = area.bounds
    ok = np.isfinite(lon) & (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)
    out = np.zeros(len(lon), bool)
    if ok.any():
        shapely.prepare(area)
        out[ok] = shapely.contains_xy(area, lon[ok], lat[ok])
    return out


def _check_coverage(path: Path, area, lon: np.ndarray, lat: np.ndarray, seg_ok: np.ndarray) -> None:
    if area is None:
        return
    if len(lon) == 0 or not seg_ok.any():
        extent = (f"data extent {np.nanmin(lon):.3f},{np.nanmin(lat):.3f},{np.nanmax(lon):.3f},"
                  f"{np.nanmax(lat):.3f}") if len(lon) else "no located data"
        b = area.bounds
        raise NetworkError(f"{path}: the file does not cover the area ({extent}; area "
                           f"{b[0]:.3f},{b[1]:.3f},{b[2]:.3f},{b[3]:.3f}); use an extract of the "
                           "region or --area all")
    hull = shapely.box(np.nanmin(lon), np.nanmin(lat), np.nanmax(lon), np.nanmax(lat))
    share = area.intersection(hull).area / area.area if area.area > 0 else 1.0
    if share < MIN_AREA_COVERAGE:
        warn_count(f"area(s) only {share:.0%} covered by the extent of {path.name}: the network "
                   "stops at the file's edge", 1)
