"""One entry point for every network source: :func:`build_network`.

Sources: ``embedded`` (the committed strategic network, the default of the pipeline),
``overpass`` (osmnx download, cached), or a local OSM file (``.osm.pbf`` streamed with
pyosmium; ``.osm``, ``.osm.xml``, ``.osm.bz2`` read with osmnx). OSM sources get rail
dwell times, transfer edges between stations and the road network, and a meta.json
that records how the network was made.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree
from tqdm import tqdm

from .. import __version__
from ..crs import lonlat_to_metric
from ..errors import InputError, NetworkError, warn_count
from ..io import file_sha256, read_vector
from ..settings import (
    ACCESS_DETOUR_FACTOR,
    ACCESS_SPEED_KMH,
    MAX_SNAP_M_OSM,
    RAIL_ALIGHTING_MIN,
    RAIL_DWELL_MIN,
    TRANSFER_PENALTY_MIN,
    WGS84,
)
from .model import STATION_KINDS, Network, default_access_model
from .osm import GEOD
from .simplify import MIN_COMPONENT_NODES, simplify_network
from .speeds import add_rail_dwell

log = logging.getLogger(__name__)

SOURCES = ("embedded", "overpass", "PATH.osm.pbf", "PATH.osm", "PATH.osm.xml", "PATH.osm.bz2")
PBF_SUFFIXES = (".osm.pbf", ".pbf")
XML_SUFFIXES = (".osm", ".osm.xml", ".xml", ".osm.bz2")
BUILD_MODES = ("road", "rail")
#: Stations farther than this from every road node get no transfer edge (counted).
TRANSFER_MAX_M = MAX_SNAP_M_OSM


def source_kind(source: str | Path) -> str:
    """``embedded``, ``overpass``, ``pbf`` or ``xml``; InputError listing the valid sources."""
    s = str(source)
    if s in ("embedded", "overpass"):
        return s
    low = s.lower()
    if low.endswith(PBF_SUFFIXES):
        kind = "pbf"
    elif low.endswith(XML_SUFFIXES):
        kind = "xml"
    else:
        raise InputError(f"unknown network source {s!r}; valid sources: {', '.join(SOURCES)}")
    if not Path(s).exists():
        raise InputError(f"{s}: no such file (valid sources: {', '.join(SOURCES)})")
    return kind


def parse_modes(modes: Iterable[str] | str | None) -> tuple[str, ...]:
    """Modes as a tuple from ``"road,rail"`` or a list; InputError for unknown ones."""
    if modes is None:
        return BUILD_MODES
    if isinstance(modes, str):
        modes = [m.strip() for m in modes.split(",") if m.strip()]
    modes = tuple(dict.fromkeys(modes))
    bad = [m for m in modes if m not in BUILD_MODES]
    if bad or not modes:
        raise InputError(f"unknown mode(s) {bad or modes}; use a comma list of {', '.join(BUILD_MODES)}")
    return modes


def resolve_area(area, source_kind_: str):
    """``(geometry or None, description)`` for ``all``, ``study``, a polygon file or a geometry."""
    if area is None:
        area = "study" if source_kind_ == "overpass" else "all"
    if isinstance(area, shapely.Geometry):
        return area, "polygon"
    area = str(area)
    if area == "all":
        if source_kind_ == "overpass":
            raise InputError("--area all needs a file source; Overpass downloads need --area study "
                             "or a polygon file")
        return None, "all"
    if area == "study":
        from ..layers.admin import study_area

        return study_area(), "study"
    gdf = read_vector(area)
    polys = gdf[gdf.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    if polys.empty:
        raise InputError(f"{area}: no polygon to use as the area (use all, study or a polygon file)")
    return shapely.make_valid(polys.geometry.union_all()), str(area)


def build_network(source: str | Path = "embedded", area=None, modes: Iterable[str] | str = BUILD_MODES,
                  roads: str = "regional", *, transfer_penalty_min: float = TRANSFER_PENALTY_MIN,
                  min_component: int = MIN_COMPONENT_NODES, simplify: bool = True,
                  cache_dir: str | Path | None = None, progress: bool = False,
                  statuses: Iterable[str] | str | None = None) -> Network:
    """Build a network from ``source``; see the module docstring for the sources.

    Parameters
    ----------
    area : ``all`` (whole file, default for files), ``study`` (两区六市, default for
        Overpass), a polygon file, or a shapely geometry in WGS84.
    modes : ``road`` and/or ``rail``; roads : ``regional``, ``urban`` or ``all``.
    transfer_penalty_min : cost of boarding rail from the road network at a station.
    min_component : components with fewer raw OSM nodes (per mode) are dropped.
    statuses : embedded source only: which of operating / under_construction / planned
        to store (default: all, each edge tagged with its status; analyses use the
        operating ones unless asked otherwise, scenarios switch the others on).
    """
    kind = source_kind(source)
    modes = parse_modes(modes)
    if transfer_penalty_min < 0:
        raise InputError(f"transfer penalty must be >= 0 minutes, got {transfer_penalty_min}")
    if kind == "embedded":
        from .embedded import build_embedded

        net = build_embedded(list(modes), statuses="all" if statuses is None else statuses)
        meta = dict(net.meta)
        meta.setdefault("source", "embedded")
        meta.setdefault("modes", list(modes))
        if area not in (None, "all"):
            log.info("the embedded network covers the study region; --area is not applied")
        return Network(net.nodes, net.edges, meta)

    if statuses not in (None, "operating", ("operating",), ["operating"]):
        raise InputError("--statuses applies to the embedded source only: OSM data is read as it "
                         "is (operating elements)")
    geom, area_desc = resolve_area(area, kind)
    steps = tqdm(total=4, desc="network build", unit=" step", disable=not progress)
    params = {"roads": roads, "modes": list(modes), "transfer_penalty_min": float(transfer_penalty_min),
              "min_component": int(min_component), "simplify": bool(simplify),
              "rail_dwell_min": RAIL_DWELL_MIN, "transfer_max_m": TRANSFER_MAX_M}
    inputs = {}
    try:
        if kind == "pbf":
            from .pbf import read_pbf_frames

            steps.set_postfix_str("read PBF")
            nodes, edges, report, _ = read_pbf_frames(source, area=geom, roads=roads, modes=modes,
                                                      min_component=min_component, progress=progress)
            steps.update(2)
            inputs[str(source)] = file_sha256(source)
        else:
            from .osm import download_overpass, graph_stations, network_from_osmnx, read_osm_xml

            steps.set_postfix_str("read OSM" if kind == "xml" else "Overpass")
            if kind == "xml":
                G = read_osm_xml(source)
                stations = graph_stations(G)
                inputs[str(source)] = file_sha256(source)
            else:
                G, stations = download_overpass(geom, roads, modes, cache_dir)
            steps.update()
            name = Path(str(source)).name if kind == "xml" else "overpass"
            net = network_from_osmnx(G, roads=roads, modes=modes, area=geom, stations=stations,
                                     source=f"osm:{name}")
            steps.set_postfix_str("simplify")
            report = {}
            if simplify:
                net, report = simplify_network(net, min_component)
            nodes, edges = net.nodes, net.edges
            steps.update()
        _require_modes(edges, modes, source)
        steps.set_postfix_str("rail dwell, transfers")
        stations = nodes.loc[nodes["kind"].isin(STATION_KINDS), "id"].to_numpy()
        edges = add_rail_dwell(edges, stations)
        nodes, boarding = station_hubs(nodes, transfer_penalty_min)
        if len(boarding):
            edges = gpd.GeoDataFrame(pd.concat([edges, boarding], ignore_index=True),
                                     geometry="geometry", crs=WGS84)
        if "road" in modes and "rail" in modes:
            tr = transfer_edges(nodes, edges)
            if len(tr):
                tr["key"] = _free_keys(edges, tr)
                edges = gpd.GeoDataFrame(pd.concat([edges, tr], ignore_index=True), geometry="geometry",
                                         crs=WGS84)
        steps.update()
    finally:
        steps.close()
    access = default_access_model(MAX_SNAP_M_OSM)
    meta = {
        "source": "overpass" if kind == "overpass" else str(source),
        "source_kind": kind,
        "area": area_desc,
        "area_bounds": list(geom.bounds) if geom is not None else None,
        "modes": list(modes),
        "build": params,
        "inputs_sha256": inputs,
        "software_version": __version__,
        "length_method": "geodesic",
        "access": access,
        "report": report,
    }
    return Network(nodes, edges, meta)


def _free_keys(edges: pd.DataFrame, new: pd.DataFrame) -> np.ndarray:
    """Keys for new rows that do not collide with existing parallel edges."""
    sub = edges[edges["u"].isin(new["u"]) & edges["v"].isin(new["v"])]
    top = sub.groupby(["u", "v"])["key"].max().to_dict() if len(sub) else {}
    return np.array([top.get((u, v), -1) + 1 for u, v in zip(new["u"], new["v"], strict=True)], np.int64)


def _require_modes(edges: pd.DataFrame, modes: tuple[str, ...], source) -> None:
    mode = edges["mode"]
    if "road" in modes and not (mode == "road").any():
        raise NetworkError(f"{source}: no roads in the area at the requested level")
    if "rail" in modes and not (mode == "rail").any():
        warn_count(f"requested mode(s) without edges in {source} (rail); the network has roads only "
                   "(use --modes road to build roads only)", 1)


_EDGE_COLS = ["u", "v", "key", "mode", "class", "name", "ref", "line", "oneway", "length_m",
              "speed_kmh", "travel_time_s", "status", "source"]
#: Routing needs travel times > 0: a zero-length link (a station on its road node, an
#: alighting time of 0) costs this many seconds.
MIN_LINK_S = 0.01


def station_hubs(nodes: gpd.GeoDataFrame, boarding_min: float,
                 alighting_min: float = RAIL_ALIGHTING_MIN) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Give each station a hub node where roads and points join rail, and boarding edges.

    The OSM station node stays on the track as the ``platform``; a hub node (id = minus
    the station's id, same position, name and station kind) is linked to it by a
    boarding edge (hub -> platform, ``boarding_min``) and an alighting edge (platform ->
    hub, ``alighting_min``). A rail trip then pays boarding once, however it reaches the
    station (road, transfer edge or a point joining the hub), and nothing on the way
    through or out.
    """
    st = nodes[nodes["kind"].isin(STATION_KINDS)]
    empty = gpd.GeoDataFrame(pd.DataFrame(columns=_EDGE_COLS), geometry=[], crs=WGS84)
    if st.empty:
        return nodes, empty
    hubs = st.copy()
    hubs["id"] = -st["id"].to_numpy(np.int64)
    if np.isin(hubs["id"].to_numpy(), nodes["id"].to_numpy()).any():
        raise NetworkError("station hub ids collide with node ids (negative OSM ids?)")
    out = nodes.copy()
    out.loc[out["kind"].isin(STATION_KINDS), "kind"] = "platform"
    out = gpd.GeoDataFrame(pd.concat([out, hubs], ignore_index=True), geometry="geometry", crs=WGS84)
    h, p = hubs["id"].to_numpy(np.int64), st["id"].to_numpy(np.int64)
    pts = shapely.get_coordinates(st.geometry.values)
    seg = shapely.linestrings(np.stack([pts, pts], axis=1))
    board = max(float(boarding_min) * 60.0, MIN_LINK_S)
    alight = max(float(alighting_min) * 60.0, MIN_LINK_S)
    names = st["name"].to_numpy()
    df = pd.DataFrame({
        "u": np.concatenate([h, p]), "v": np.concatenate([p, h]), "key": 0, "mode": "transfer",
        "class": np.repeat(["boarding", "alighting"], len(h)), "name": np.concatenate([names, names]),
        "ref": None, "line": None, "oneway": True, "length_m": 0.0, "speed_kmh": np.nan,
        "travel_time_s": np.repeat([board, alight], len(h)), "status": "operating", "source": "station",
    })
    df["speed_kmh"] = 1.0  # no distance is covered; the field must be positive
    return out, gpd.GeoDataFrame(df, geometry=np.concatenate([seg, seg]), crs=WGS84)


def transfer_edges(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame,
                   max_m: float = TRANSFER_MAX_M) -> gpd.GeoDataFrame:
    """Two transfer edges between each station hub and its nearest road node.

    Both cost the walk/drive leg (straight line x detour factor at the access speed):
    boarding is the hub's own edge (:func:`station_hubs`). Stations farther than
    ``max_m`` from every road node are counted in a DataWarning and left unlinked.
    """
    empty = gpd.GeoDataFrame(pd.DataFrame(columns=_EDGE_COLS), geometry=[], crs=WGS84)
    st = nodes[nodes["kind"].isin(STATION_KINDS)]
    road = edges["mode"] == "road"
    road_ids = np.unique(np.concatenate([edges.loc[road, "u"].to_numpy(), edges.loc[road, "v"].to_numpy()]))
    if st.empty or len(road_ids) == 0:
        return empty
    rn = nodes.set_index("id").loc[road_ids]
    rx, ry = lonlat_to_metric(rn.geometry.x.to_numpy(), rn.geometry.y.to_numpy())
    sx, sy = lonlat_to_metric(st.geometry.x.to_numpy(), st.geometry.y.to_numpy())
    dist, idx = cKDTree(np.column_stack([rx, ry])).query(np.column_stack([sx, sy]), distance_upper_bound=max_m)
    ok = np.isfinite(dist)
    warn_count(f"station(s) with no road node within {max_m:.0f} m (no transfer edge)",
               int((~ok).sum()), st.loc[~ok, "name"].tolist())
    if not ok.any():
        return empty
    s_ids = st["id"].to_numpy()[ok]
    r_ids = road_ids[idx[ok]]
    s_pts = st.geometry.values[ok]
    r_pts = rn.geometry.values[idx[ok]]
    # The tree finds the nearest node; the length is geodesic like every edge.
    _, _, d = GEOD.inv(shapely.get_x(r_pts), shapely.get_y(r_pts), shapely.get_x(s_pts), shapely.get_y(s_pts))
    leg = d * ACCESS_DETOUR_FACTOR / (ACCESS_SPEED_KMH / 3.6)
    lines_in = shapely.linestrings(np.stack([shapely.get_coordinates(r_pts), shapely.get_coordinates(s_pts)], 1))
    names = st["name"].to_numpy()[ok]
    df = pd.DataFrame({
        "u": np.concatenate([r_ids, s_ids]), "v": np.concatenate([s_ids, r_ids]),
        "key": 0, "mode": "transfer", "class": "transfer",
        "name": np.concatenate([names, names]), "ref": None, "line": None, "oneway": False,  # stored both ways, like a two-way link
        "length_m": np.concatenate([d, d]), "speed_kmh": ACCESS_SPEED_KMH,
        "travel_time_s": np.maximum(np.concatenate([leg, leg]), MIN_LINK_S),
        "status": "operating", "source": "transfer",
    })
    return gpd.GeoDataFrame(df, geometry=np.concatenate([lines_in, shapely.reverse(lines_in)]), crs=WGS84)
