"""OSM sources read with osmnx (Overpass, .osm/.osm.xml/.osm.bz2) and the tag rules shared
with the PBF reader.

The tag rules (:func:`classify_ways`) decide, for every OSM way, whether it is kept at a
road level or as rail, its class, one-way direction, speed and status; the PBF reader
(:mod:`.pbf`) applies the same rules, so every OSM source gives the same network.

osmnx is used for what it does well (Overpass queries with caching, XML parsing); its
unsimplified graph is turned into our :class:`~.model.Network` with
:meth:`Network.from_networkx` and simplified with our :mod:`.simplify`, so lengths
(geodesic), speeds and simplification are computed the same way for every source.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod
from scipy.spatial import cKDTree

from ..crs import lonlat_to_metric
from ..errors import InputError, NetworkError, OfflineError, warn_count
from ..io import existing_input
from ..settings import CACHE_DIR, HTTP_TIMEOUT_S, ROAD_LEVELS, WGS84
from .speeds import rail_speeds, report_unparsed, road_speeds

log = logging.getLogger(__name__)
GEOD = Geod(ellps="WGS84")

#: Way tags read from OSM (osmnx keeps only the tags it is told to).
WAY_TAGS = ("highway", "railway", "name", "ref", "maxspeed", "oneway", "junction",
            "highspeed", "usage", "service", "area")
#: Node tags read from OSM (stations).
NODE_TAGS = ("railway", "public_transport", "name", "station", "subway", "train")
ONEWAY_FORWARD = frozenset({"yes", "true", "1"})
ONEWAY_REVERSE = frozenset({"-1", "reverse"})
#: Rail ``service`` values that are not running lines (sidings, yards): not kept.
RAIL_SERVICE_DROPPED = frozenset({"siding", "yard", "spur", "crossover"})
#: Rail ``usage`` values that carry no passenger service relevant to accessibility.
RAIL_USAGE_DROPPED = frozenset({"industrial", "military", "test", "tourism", "freight"})
#: Below this line speed a ``highspeed=yes`` line is an intercity line (CRH 160-200 km/h).
INTERCITY_MAX_KMH = 250.0
#: Station nodes beside the track (not on it) join the nearest rail node within this.
STATION_SNAP_M = 600.0
#: ``station=*`` values of urban rail stations, which are not on railway=rail lines.
URBAN_STATION_TYPES = frozenset({"subway", "light_rail", "monorail", "funicular", "tram"})
OFFLINE_ALTERNATIVES = ("use a local extract with --source FILE.osm.pbf (e.g. the Jiangsu, Zhejiang "
                        "and Shanghai extracts from download.geofabrik.de) or the committed "
                        "strategic network with --source embedded")


def road_levels(roads: str) -> tuple[str, ...]:
    """Highway classes kept at a road level; InputError naming the levels otherwise."""
    if roads not in ROAD_LEVELS:
        raise InputError(f"unknown road level {roads!r}; use one of {', '.join(ROAD_LEVELS)}")
    return ROAD_LEVELS[roads]


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def _text(s: pd.Series) -> pd.Series:
    """Tag values as stripped strings ('' when absent); lists keep their first value."""
    return s.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v))
                 else str(v[0] if isinstance(v, list | tuple) and v else v).strip())


def classify_ways(tags: pd.DataFrame, roads: str = "regional",
                  modes: Iterable[str] = ("road", "rail"), warn: bool = True
                  ) -> tuple[pd.DataFrame, Counter]:
    """Apply the tag rules to a table of OSM way tags (one row per way).

    Returns a table with ``keep``, ``mode``, ``class``, ``name``, ``ref``, ``line``,
    ``oneway``, ``reverse`` (node order to be reversed: ``oneway=-1``), ``speed_kmh``,
    ``status``, and the Counter of unreadable maxspeed values (warned once if ``warn``).
    An ``oneway`` column that is already boolean (osmnx) is taken as is.
    """
    modes = set(modes)
    levels = set(road_levels(roads))
    hw = _text(_col(tags, "highway"))
    rw = _text(_col(tags, "railway"))
    area = _text(_col(tags, "area")).str.lower()
    service = _text(_col(tags, "service")).str.lower()
    usage = _text(_col(tags, "usage")).str.lower()
    name = _text(_col(tags, "name"))
    maxspeed = _text(_col(tags, "maxspeed"))

    is_road = hw.isin(levels) & (area != "yes") & ("road" in modes)
    is_rail = ((rw == "rail") & ~is_road & ~service.isin(RAIL_SERVICE_DROPPED)
               & ~usage.isin(RAIL_USAGE_DROPPED) & ("rail" in modes))
    out = pd.DataFrame(index=tags.index)
    out["keep"] = is_road | is_rail
    out["mode"] = np.where(is_rail, "rail", "road")

    ow = _col(tags, "oneway")
    if ow.dtype == bool:
        oneway, reverse = ow.to_numpy(bool), np.zeros(len(tags), bool)
    else:
        ow_s = _text(ow).str.lower()
        junction = _text(_col(tags, "junction")).str.lower()
        reverse = ow_s.isin(ONEWAY_REVERSE).to_numpy()
        oneway = (ow_s.isin(ONEWAY_FORWARD) | ow_s.isin(ONEWAY_REVERSE)
                  | (junction.isin(["roundabout", "circular"]) & (ow_s != "no"))).to_numpy()
    out["oneway"] = oneway
    out["reverse"] = reverse

    speed = np.full(len(tags), np.nan)
    bad: Counter = Counter()
    r = is_road.to_numpy()
    if r.any():
        speed[r], bad_r = road_speeds(hw[r], maxspeed[r], warn=False)
        bad += bad_r
    cls = hw.where(is_road, "").to_numpy(object)
    rr = is_rail.to_numpy()
    if rr.any():
        rail_cls = _rail_class(_text(_col(tags, "highspeed")).str.lower()[rr], maxspeed[rr], name[rr])
        cls[rr] = rail_cls
        speed[rr], bad_rail = rail_speeds(rail_cls, maxspeed[rr].replace("", None))
        bad += bad_rail
    out["class"] = cls
    out["speed_kmh"] = speed
    out["name"] = name.replace("", None)
    out["ref"] = _text(_col(tags, "ref")).replace("", None)
    out["line"] = np.where(is_rail, out["name"], None)
    out["status"] = "operating"
    if warn:
        report_unparsed(bad)
    return out, bad


def _rail_class(highspeed: pd.Series, maxspeed: pd.Series, name: pd.Series) -> np.ndarray:
    num = pd.to_numeric(maxspeed.str.extract(r"^(\d+)")[0], errors="coerce").to_numpy(float)
    hs = (highspeed == "yes").to_numpy()
    intercity = name.str.contains("城际|intercity", case=False, regex=True).to_numpy() | (
        hs & (num < INTERCITY_MAX_KMH))
    return np.where(intercity, "intercity", np.where(hs | (num >= INTERCITY_MAX_KMH), "hsr", "conventional"))


def is_station(tags: dict) -> bool:
    """An OSM node tag dict describes a (main-line) railway station."""
    if tags.get("railway") != "station" and tags.get("public_transport") != "station":
        return False
    return tags.get("station") not in URBAN_STATION_TYPES and tags.get("subway") != "yes"


def attach_stations(st_lon: np.ndarray, st_lat: np.ndarray, st_names: list,
                    rail_ids: np.ndarray, rail_lon: np.ndarray, rail_lat: np.ndarray,
                    max_m: float = STATION_SNAP_M) -> dict[int, str | None]:
    """Map station points to rail node ids (nearest within ``max_m``, metric CRS).

    Stations farther than ``max_m`` from any rail node are counted in a DataWarning. When
    several stations fall on one node the nearest names it.
    """
    if len(st_lon) == 0 or len(rail_ids) == 0:
        return {}
    rx, ry = lonlat_to_metric(rail_lon, rail_lat)
    sx, sy = lonlat_to_metric(st_lon, st_lat)
    dist, idx = cKDTree(np.column_stack([rx, ry])).query(np.column_stack([sx, sy]),
                                                          distance_upper_bound=max_m)
    found = np.isfinite(dist)
    warn_count(f"station(s) farther than {max_m:.0f} m from any kept rail line (not linked)",
               int((~found).sum()), [st_names[i] for i in np.flatnonzero(~found)])
    out: dict[int, str | None] = {}
    best: dict[int, float] = {}
    for i in np.flatnonzero(found):
        nid = int(rail_ids[idx[i]])
        if nid not in best or dist[i] < best[nid]:
            best[nid] = float(dist[i])
            out[nid] = st_names[i]
    return out


# --- osmnx sources -------------------------------------------------------------------

@contextlib.contextmanager
def _osmnx_settings(**overrides) -> Iterator:
    """Set osmnx settings for one call and restore them (osmnx keeps them module-global)."""
    import osmnx as ox

    base = {"useful_tags_way": list(WAY_TAGS), "useful_tags_node": list(NODE_TAGS),
            "log_console": False, "requests_timeout": HTTP_TIMEOUT_S}
    base.update(overrides)
    saved = {k: getattr(ox.settings, k) for k in base}
    try:
        for k, v in base.items():
            setattr(ox.settings, k, v)
        yield ox
    finally:
        for k, v in saved.items():
            setattr(ox.settings, k, v)


XML_SUFFIXES = (".osm", ".osm.xml", ".xml", ".osm.bz2")


#: Warning for way node references to nodes absent from the file (extracts cut with the
#: "simple" strategy); both file readers drop the segments that touch them.
MISSING_REFS = ("way node reference(s) to nodes missing from {name} (segments dropped; "
                "use an extract made with complete ways)")


def read_osm_xml(path: str | Path) -> nx.MultiDiGraph:
    """Unsimplified osmnx graph of an OSM XML file (.osm, .osm.xml, .osm.bz2).

    Duplicate node ids are counted. Ways that refer to nodes missing from the file are
    split at the gaps (osmnx itself refuses such a file), with a counted warning, which
    is what the PBF reader does with the same data.
    """
    import tempfile
    import xml.etree.ElementTree as ET

    path = existing_input(path)
    missing = _scan_xml(path)
    with _osmnx_settings() as ox, tempfile.TemporaryDirectory(prefix="kechuang-osm-") as tmp:
        readable = _split_at_missing_nodes(path, missing, Path(tmp) / "complete.osm") if missing else path
        try:
            G = ox.graph_from_xml(readable, simplify=False, retain_all=True, bidirectional=False)
        except (ET.ParseError, EOFError, OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read as OSM XML ({exc}); the file is corrupt or "
                             "truncated: export or download it again") from exc
        except ox._errors.InsufficientResponseError as exc:
            raise NetworkError(f"{path}: no OSM nodes or ways in the file") from exc
    return G


def _xml_elements(path: Path):
    """Stream the top-level elements (node, way, relation, ...) of an OSM XML file."""
    import bz2
    import xml.etree.ElementTree as ET

    opener = bz2.open if path.suffix == ".bz2" else open
    try:
        with opener(path, "rb") as f:
            depth = 0
            for event, el in ET.iterparse(f, events=("start", "end")):
                depth += 1 if event == "start" else -1
                if event == "end" and depth == 1:
                    yield el
                    el.clear()
    except (ET.ParseError, EOFError, OSError) as exc:
        raise InputError(f"{path}: cannot read as OSM XML ({exc}); the file is corrupt or "
                         "truncated: export or download it again") from exc


def _is_network_way(el) -> bool:
    return any(t.get("k") in ("highway", "railway") for t in el.iter("tag"))


def _scan_xml(path: Path) -> set[int]:
    """Count duplicate node ids (osmnx would silently keep the last) and way node
    references to nodes absent from the file; return the absent node ids."""
    seen: set[int] = set()
    dups: list[int] = []
    refs: list[int] = []            # of road and rail ways: what the warning counts
    other_refs: set[int] = set()    # of other ways, which osmnx reads too
    for el in _xml_elements(path):
        if el.tag == "node":
            nid = int(el.get("id"))
            if nid in seen:
                dups.append(nid)
            seen.add(nid)
        elif el.tag == "way":
            way_refs = [int(nd.get("ref")) for nd in el.iter("nd")]
            if _is_network_way(el):
                refs.extend(way_refs)
            else:
                other_refs.update(way_refs)
    warn_count(f"duplicate node id(s) in {path.name} (the last occurrence is used)", len(dups), dups)
    absent = [r for r in refs if r not in seen]
    warn_count(MISSING_REFS.format(name=path.name), len(absent), sorted(set(absent))[:5])
    return set(absent) | (other_refs - seen)


def _split_at_missing_nodes(path: Path, missing: set[int], out: Path) -> Path:
    """Copy of an OSM XML file with its road and rail ways cut into their runs of present
    nodes (runs after the first get fresh negative way ids: they are pieces of one OSM
    way); other ways are left out, as the network does not use them."""
    import xml.etree.ElementTree as ET

    next_id = -1
    with open(out, "wb") as f:
        f.write(b"<?xml version='1.0' encoding='UTF-8'?>\n<osm version=\"0.6\">\n")
        for el in _xml_elements(path):
            if el.tag == "node":
                f.write(ET.tostring(el))
            elif el.tag == "way" and _is_network_way(el):
                refs = [nd.get("ref") for nd in el.iter("nd")]
                tags = [ET.tostring(t) for t in el.iter("tag")]
                runs: list[list[str]] = [[]]
                for r in refs:
                    if int(r) in missing:
                        runs.append([])
                    else:
                        runs[-1].append(r)
                runs = [run for run in runs if len(run) >= 2]
                for i, run in enumerate(runs):
                    if i == 0:
                        way_id = el.get("id")
                    else:
                        way_id, next_id = str(next_id), next_id - 1
                    f.write(f'<way id="{way_id}">'.encode())
                    f.write(b"".join(f'<nd ref="{r}"/>'.encode() for r in run))
                    f.write(b"".join(tags) + b"</way>\n")
        f.write(b"</osm>\n")
    return out


@contextlib.contextmanager
def overpass(cache_dir: str | Path | None, *, offline_hint: str, empty_what: str, **settings) -> Iterator:
    """osmnx set up for cached Overpass queries (``settings``: more osmnx settings).

    Offline and uncached, the query raises OfflineError ending with ``offline_hint``; an
    empty answer raises NetworkError naming ``empty_what``.
    """
    import osmnx as ox
    import requests

    cache = Path(cache_dir) if cache_dir else CACHE_DIR / "overpass"
    cache.mkdir(parents=True, exist_ok=True)
    # osmnx checks its cache first, then asks the server's status endpoint how long to
    # wait and sleeps 60 s when that fails. Offline, skip the wait: cached answers are
    # still served and uncached ones fail at once with a clear error.
    online = _reachable(ox.settings.overpass_url)
    with _osmnx_settings(use_cache=True, cache_folder=str(cache),
                         overpass_rate_limit=online and ox.settings.overpass_rate_limit, **settings) as ox:
        try:
            yield ox
        except requests.exceptions.RequestException as exc:
            raise OfflineError(f"cannot reach the Overpass API and no cached answer for this area "
                               f"under {cache} ({type(exc).__name__}); {offline_hint}") from exc
        except ox._errors.InsufficientResponseError as exc:
            raise NetworkError(f"Overpass returned no {empty_what} for the area ({exc})") from exc


def download_overpass(area, roads: str = "regional", modes: Iterable[str] = ("road", "rail"),
                      cache_dir: str | Path | None = None) -> tuple[nx.MultiDiGraph, pd.DataFrame]:
    """Unsimplified osmnx graph and station points of ``area`` from Overpass, cached on disk.

    A second call with the same area and filters is answered from the cache without the
    network. Offline and uncached: OfflineError naming the local alternatives.
    """
    modes = set(modes)
    filters = []
    if "road" in modes:
        filters.append(f'["highway"~"^({"|".join(road_levels(roads))})$"]["area"!~"yes"]')
    if "rail" in modes:
        filters.append('["railway"="rail"]')
    with overpass(cache_dir, offline_hint=OFFLINE_ALTERNATIVES, empty_what="roads or rail") as ox:
        G = ox.graph_from_polygon(area, custom_filter=filters, simplify=False, retain_all=True)
        stations = pd.DataFrame(columns=["lon", "lat", "name"])
        if "rail" in modes:
            stations = _overpass_stations(ox, area)
    return G, stations


def _reachable(url: str, timeout: float = 5.0) -> bool:
    """Whether the host of ``url`` accepts a TCP connection (DNS + connect, no request)."""
    import socket
    from urllib.parse import urlparse

    u = urlparse(url)
    try:
        with socket.create_connection((u.hostname, u.port or (443 if u.scheme == "https" else 80)), timeout):
            return True
    except OSError:
        return False


def _overpass_stations(ox, area) -> pd.DataFrame:
    try:
        feats = ox.features_from_polygon(area, tags={"railway": "station", "public_transport": "station"})
    except ox._errors.InsufficientResponseError:
        return pd.DataFrame(columns=["lon", "lat", "name"])
    keep = [is_station({k: feats[k].iloc[i] if k in feats.columns else None for k in NODE_TAGS})
            for i in range(len(feats))]
    feats = feats[np.asarray(keep, bool)]
    pts = feats.geometry.representative_point()
    return pd.DataFrame({"lon": pts.x.to_numpy(), "lat": pts.y.to_numpy(),
                         "name": _col(feats, "name").tolist()})


def graph_stations(G: nx.MultiDiGraph) -> pd.DataFrame:
    """Station nodes of an osmnx graph read from XML (nodes keep their tags)."""
    rows = [{"lon": d["x"], "lat": d["y"], "name": d.get("name")}
            for _, d in G.nodes(data=True) if is_station(d)]
    return pd.DataFrame(rows, columns=["lon", "lat", "name"])


def network_from_osmnx(G: nx.MultiDiGraph, *, roads: str = "regional",
                       modes: Iterable[str] = ("road", "rail"), area=None,
                       stations: pd.DataFrame | None = None, source: str = "osm",
                       meta: dict | None = None):
    """Our unsimplified Network from an unsimplified osmnx graph (WGS84 x/y).

    Applies the tag rules, keeps edges with both ends inside ``area`` (None: all), sets
    geodesic ``length_m``, speeds and travel times, marks stations (``stations``: points
    linked to the nearest rail node, default: the graph's own station nodes). Built with
    :meth:`Network.from_networkx` so any osmnx graph takes this path.
    """
    from .model import Network

    rows = [(u, v, k, d) for u, v, k, d in G.edges(keys=True, data=True)]
    if not rows:
        raise NetworkError("the OSM data holds no ways")
    tags = pd.DataFrame([{t: d.get(t) for t in WAY_TAGS} for *_, d in rows])
    if "oneway" in tags:
        tags["oneway"] = tags["oneway"].map(lambda v: bool(v) if isinstance(v, bool | np.bool_) else False)
    attrs, _ = classify_ways(tags, roads, modes)
    keep = attrs["keep"].to_numpy().copy()
    xy = {n: (float(d["x"]), float(d["y"])) for n, d in G.nodes(data=True)}
    if area is not None:
        inside = _inside(area, xy)
        keep &= np.fromiter((inside[u] and inside[v] for u, v, *_ in rows), bool, len(rows))
    if not keep.any():
        raise NetworkError(f"no {' or '.join(sorted(modes))} ways at level {roads!r}"
                           + (" inside the area" if area is not None else "") + " in the OSM data")
    H = nx.MultiDiGraph(crs=WGS84)
    for i in np.flatnonzero(keep):
        u, v, k, d = rows[i]
        a = attrs.iloc[i]
        geom = d.get("geometry") or shapely.LineString([xy[u], xy[v]])
        length = float(GEOD.geometry_length(geom))
        for n in (u, v):
            if n not in H:
                H.add_node(n, x=xy[n][0], y=xy[n][1], kind="junction", name=None)
        H.add_edge(u, v, key=k, mode=a["mode"], **{"class": a["class"]}, name=a["name"],
                   ref=a["ref"], line=a["line"], oneway=bool(a["oneway"]), length_m=length,
                   speed_kmh=float(a["speed_kmh"]),
                   travel_time_s=max(length / (a["speed_kmh"] / 3.6), 0.01),
                   status="operating", source=source, geometry=geom)
    rail_nodes = {n for u, v, d in H.edges(data=True) if d["mode"] == "rail" for n in (u, v)}
    st = graph_stations(G) if stations is None else stations
    if area is not None and len(st):
        st = st[shapely.contains_xy(area, st["lon"].to_numpy(float), st["lat"].to_numpy(float))]
    if rail_nodes and len(st):
        ids = np.fromiter(rail_nodes, np.int64)
        named = attach_stations(st["lon"].to_numpy(float), st["lat"].to_numpy(float),
                                st["name"].tolist(), ids, np.array([xy[n][0] for n in ids]),
                                np.array([xy[n][1] for n in ids]))
        for nid, name in named.items():
            H.nodes[nid]["kind"] = "station"
            H.nodes[nid]["name"] = name
    return Network.from_networkx(H, meta=meta)


def _inside(area, xy: dict) -> dict:
    ids = list(xy)
    lon = np.array([xy[n][0] for n in ids])
    lat = np.array([xy[n][1] for n in ids])
    shapely.prepare(area)
    return dict(zip(ids, shapely.contains_xy(area, lon, lat).tolist(), strict=True))
