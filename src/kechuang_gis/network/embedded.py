"""The embedded strategic network: expressways and rail of the Taihu region from committed CSVs.

The default network source (``--source embedded``) works offline, in CI and on intranets.
It is read from ``geodata/network/`` (see ``geodata/network/BUILD.md``):

``stations.csv``, ``rail_lines.csv``
    Rail stations and lines (ordered station lists). Each pair of consecutive stations
    of a line becomes two directed ``rail`` edges.
``road_nodes.csv``, ``expressways.csv``
    Expressway interchanges/towns and routes (ordered waypoint lists). Each pair of
    consecutive waypoints becomes two directed ``road`` edges (class ``motorway``).

Stations and road nodes are joined by ``transfer`` edges (station to its nearest road
nodes). Positions are converted from their declared datum (wgs84/gcj02/bd09) to WGS84 at
load. Edge lengths are geodesic chords between consecutive waypoints: the data has no
curvature, so lengths run short of official ones (``meta['line_lengths']`` records by how
much, line by line).

This is a sketch-level strategic network: no local streets, no timetables, no
frequencies. It answers "how well is a place tied into the regional expressway and
high-speed rail system", not door-to-door times.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from .. import settings
from ..crs import convert_xy, geodesic_m, lonlat_to_metric, normalise_datum
from ..errors import InputError, NetworkError, warn_count
from ..io import file_sha256
from .model import STATION_KINDS, STATUSES, Network, default_access_model

#: The CSV files that make up the embedded network, in ``data_dir``.
DATA_FILES = ("stations.csv", "rail_lines.csv", "road_nodes.csv", "expressways.csv")
#: Published travel times used by :mod:`.checks` (hashed into meta when present).
TIMETABLE_FILE = "timetable_checks.csv"

#: A station is joined to at most this many road nodes by transfer edges ...
TRANSFER_K = 2
#: ... lying within this straight-line distance (metres, EPSG:4549). Expressway
#: interchanges serving a city's main station lie typically 2-10 km from it; beyond
#: 15 km the "transfer" would be a regional trip of its own, which the access model
#: (points join their 3 nearest nodes) already represents.
TRANSFER_RADIUS_M = 15_000.0

#: Train acceleration and service braking (m/s^2) for the start/stop loss of each rail
#: edge: typical of Chinese EMUs (CRH380 reaches 300 km/h in about 5 min; service
#: braking 0.5-0.7 m/s^2). The loss is v/2a + v/2b: 4.3 min at 350 km/h, 3.7 at 300.
RAIL_ACCEL_MS2 = 0.3
RAIL_BRAKE_MS2 = 0.5

#: Ordering of statuses: an edge exists at its own status and every "later" one.
STATUS_RANK = {s: i for i, s in enumerate(STATUSES)}
RAIL_CLASSES = tuple(settings.RAIL_SPEED_KMH)
#: Kinds a road node may declare; station kinds are reserved for rail stations (they
#: carry the boarding penalty when points snap to them).
ROAD_NODE_KINDS = ("interchange", "junction", "endpoint", "town", "city", "toll", "border")

SKETCH_WARNING = (
    "Embedded strategic network (sketch level): expressways and main rail lines only, "
    "straight chords between named waypoints, no local streets, no timetables or "
    "frequencies. Points join it at the nearest interchange or station (motorways are "
    "never joined mid-way) by a straight leg x "
    f"{settings.ACCESS_DETOUR_FACTOR:g} at {settings.ACCESS_SPEED_KMH:g} km/h. Use an OSM "
    "source (--source overpass or a .osm/.osm.pbf file) for street-level access."
)

_STATION_COLS = ("id", "name_zh", "name_en", "lon", "lat", "datum", "county_adcode", "status",
                 "opened", "precision_m", "verified", "source", "note")
_LINE_COLS = ("line_id", "name_zh", "name_en", "class", "design_speed_kmh", "operating_speed_kmh",
              "status", "opened", "official_length_km", "length_section", "length_source",
              "stations", "source", "note")
_ROAD_NODE_COLS = ("id", "name_zh", "name_en", "kind", "lon", "lat", "datum", "county_adcode",
                   "precision_m", "verified", "source", "note")
_ROUTE_COLS = ("route_id", "ref", "name_zh", "name_en", "status", "opened", "lanes", "speed_kmh",
               "waypoints", "source", "note")


@dataclass(frozen=True)
class EmbeddedData:
    """The validated tables of the embedded network (points already in WGS84)."""

    stations: pd.DataFrame
    lines: pd.DataFrame
    road_nodes: pd.DataFrame
    routes: pd.DataFrame
    data_dir: Path
    sha256: dict[str, str]


# --- public API ---------------------------------------------------------------------

def build_embedded(modes: list[str] | None = None, statuses: Iterable[str] | str | None = None,
                   data_dir: str | Path | None = None) -> Network:
    """Build the embedded strategic network from the CSVs in ``data_dir``.

    Parameters
    ----------
    modes
        ``['road']``, ``['rail']`` or both (default). Transfer edges are made only when
        both are present; a single-mode network is complete on its own.
    statuses
        Edge statuses to include: default ``('operating',)``; ``'all'`` for operating,
        under-construction and planned; or any list of those.
    data_dir
        Folder of the CSVs; default ``settings.GEODATA_DIR / 'network'``.
    """
    modes_ = parse_modes(modes)
    statuses_ = parse_statuses(statuses)
    data = read_embedded(data_dir)
    stations = data.stations.set_index("id")
    road_nodes = data.road_nodes.set_index("id")

    parts: list[pd.DataFrame] = []
    if "rail" in modes_:
        parts.append(rail_edges(data.lines, stations, statuses_))
    if "road" in modes_:
        parts.append(road_edges(data.routes, road_nodes, statuses_))
    edges = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if edges.empty:
        raise NetworkError(f"the embedded network has no {'/'.join(modes_)} edges with status "
                           f"{'/'.join(statuses_)} in {data.data_dir}")

    nodes = _nodes(edges, data, statuses_)
    missing_transfer: list[str] = []
    if {"road", "rail"} <= set(modes_):
        transfers, missing_transfer = transfer_edges(nodes, statuses_)
        edges = pd.concat([edges, transfers], ignore_index=True)

    nodes_gdf, edges_gdf = edge_frames(nodes, edges)
    meta = {
        "source": "embedded",
        "area": "Taihu region strategic network (两区六市 and links to neighbouring hubs)",
        "modes": list(modes_),
        "statuses": list(statuses_),
        "data_dir": str(data.data_dir),
        "data_files": data.sha256,
        "build_params": {
            "rail_dwell_min": settings.RAIL_DWELL_MIN,
            "rail_dwell_rule": "half the dwell at each end of an edge that is an intermediate "
                               "stop of the line (termini none)",
            "rail_time_rule": "trapezoidal run time at the line's operating speed (else the "
                              "class default; never the design speed), start/stop loss once per edge; express "
                              "edges between consecutive major stations (termini, interchanges)",
            "rail_accel_ms2": RAIL_ACCEL_MS2,
            "rail_brake_ms2": RAIL_BRAKE_MS2,
            "rail_default_speed_kmh": dict(settings.RAIL_SPEED_KMH),
            "road_default_speed_kmh": settings.ROAD_SPEED_KMH["motorway"],
            "transfer_k": TRANSFER_K,
            "transfer_radius_m": TRANSFER_RADIUS_M,
            "transfer_penalty_min": settings.TRANSFER_PENALTY_MIN,
            "access_detour_factor": settings.ACCESS_DETOUR_FACTOR,
            "access_speed_kmh": settings.ACCESS_SPEED_KMH,
        },
        "length_method": "geodesic",
        "length_note": "straight geodesic chords between consecutive stations/waypoints (x1, "
                       "no curvature factor); see line_lengths for the shortfall",
        "access": default_access_model(settings.MAX_SNAP_M_EMBEDDED),
        "warning": SKETCH_WARNING,
        "line_lengths": line_lengths(data),
        "stations_without_transfer": missing_transfer,
    }
    return Network(nodes_gdf, edges_gdf, meta)


def parse_modes(modes: Iterable[str] | str | None) -> tuple[str, ...]:
    """Normalise a modes argument to a tuple drawn from ('rail', 'road')."""
    if modes is None:
        return ("rail", "road")
    if isinstance(modes, str):
        modes = [m for m in re.split(r"[,\s]+", modes) if m]
    modes = tuple(dict.fromkeys(str(m).strip().lower() for m in modes))
    bad = [m for m in modes if m not in ("road", "rail")]
    if bad or not modes:
        raise InputError(f"unknown mode(s) {bad or modes}: the embedded network has road, rail")
    return tuple(m for m in ("rail", "road") if m in modes)


def parse_statuses(statuses: Iterable[str] | str | None) -> tuple[str, ...]:
    """Normalise a statuses argument: None -> operating only, 'all' -> every status."""
    if statuses is None:
        return ("operating",)
    if isinstance(statuses, str):
        if statuses.strip().lower() == "all":
            return STATUSES
        statuses = [s for s in re.split(r"[,\s]+", statuses) if s]
    statuses = [str(s).strip().lower() for s in statuses]
    if statuses == ["all"]:
        return STATUSES
    bad = [s for s in statuses if s not in STATUSES]
    if bad or not statuses:
        raise InputError(f"unknown status(es) {bad or statuses}: use {', '.join(STATUSES)} or 'all'")
    return tuple(s for s in STATUSES if s in statuses)


def node_id(slug: str) -> int:
    """Stable int64 id of a node from its slug (the CSV id).

    A hash, not a running number, so ids survive edits of the data (adding a station
    does not renumber the others). 53 bits keep them exact in JavaScript and JSON.
    """
    digest = hashlib.blake2b(slug.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") & ((1 << 53) - 1)


def read_embedded(data_dir: str | Path | None = None) -> EmbeddedData:
    """Read and validate the embedded network's CSVs; raise InputError naming file and row."""
    d = Path(data_dir) if data_dir is not None else settings.GEODATA_DIR / "network"
    absent = [n for n in DATA_FILES if not (d / n).is_file()]
    if absent:
        raise InputError(f"{d}: embedded network data missing ({', '.join(absent)})")
    stations = _points(_read(d / "stations.csv", _STATION_COLS, "id"), d / "stations.csv")
    lines = _read(d / "rail_lines.csv", _LINE_COLS, "line_id")
    road_nodes = _points(_read(d / "road_nodes.csv", _ROAD_NODE_COLS, "id"), d / "road_nodes.csv")
    routes = _read(d / "expressways.csv", _ROUTE_COLS, "route_id")

    both = sorted(set(stations["id"]) & set(road_nodes["id"]))
    if both:
        raise InputError(f"{d}: ids used both as station and road node: {both[:10]}")
    for path, df, key in ((d / "stations.csv", stations, "id"),
                          (d / "rail_lines.csv", lines, "line_id"),
                          (d / "expressways.csv", routes, "route_id")):
        _check_status(df, path, key)
    bad_kind = road_nodes[road_nodes["kind"].isin(STATION_KINDS) | (road_nodes["kind"] == "")]
    if len(bad_kind):
        raise InputError(f"{d / 'road_nodes.csv'}: road node kind missing or a station kind "
                         f"(reserved for stations.csv): {bad_kind['id'].tolist()[:10]}")
    unknown_kind = sorted(set(road_nodes["kind"]) - set(ROAD_NODE_KINDS))
    warn_count(f"road node kind(s) outside {ROAD_NODE_KINDS} in {d / 'road_nodes.csv'}",
               len(unknown_kind), unknown_kind)

    lines = _sequences(lines, "stations", set(stations["id"]), d / "rail_lines.csv", "line_id")
    routes = _sequences(routes, "waypoints", set(road_nodes["id"]), d / "expressways.csv",
                        "route_id")
    bad_class = lines[~lines["class"].isin(RAIL_CLASSES)]
    if len(bad_class):
        raise InputError(f"{d / 'rail_lines.csv'}: unknown class for line(s) "
                         f"{bad_class['line_id'].tolist()}: use {', '.join(RAIL_CLASSES)}")
    lines = _numbers(lines, ("design_speed_kmh", "operating_speed_kmh", "official_length_km"),
                     d / "rail_lines.csv", "line_id")
    routes = _numbers(routes, ("speed_kmh", "lanes"), d / "expressways.csv", "route_id")

    used_st = set().union(*lines["stations"]) if len(lines) else set()
    used_rn = set().union(*routes["waypoints"]) if len(routes) else set()
    unused = sorted(set(stations["id"]) - used_st) + sorted(set(road_nodes["id"]) - used_rn)
    warn_count(f"node(s) in {d} used by no line or route (left out)", len(unused), unused)

    hashes = {n: file_sha256(d / n) for n in (*DATA_FILES, TIMETABLE_FILE) if (d / n).is_file()}
    return EmbeddedData(stations, lines, road_nodes, routes, d, hashes)


def line_lengths(data: EmbeddedData) -> list[dict]:
    """Authored (chord) length of each rail line against its official length.

    ``length_section`` says which stretch the official figure measures. When its two
    ends name stations of the line (by id, Chinese or English name; parenthesised
    remarks and words like "whole line" are ignored), the authored length is summed over
    that stretch and compared. Otherwise (the official figure covers track beyond the
    authored stations, e.g. Beijing-Shanghai HSR's 1318 km) the line is reported with its
    whole authored length and no difference.
    """
    st = data.stations.set_index("id")
    rows = []
    for line in data.lines.to_dict("records"):
        seq = list(line["stations"])
        found = _section(seq, str(line["length_section"]), st)
        i, j = found if found else (0, len(seq) - 1)
        sub = seq[i:j + 1]
        lon = st.loc[sub, "lon"].to_numpy(float)
        lat = st.loc[sub, "lat"].to_numpy(float)
        km = float(geodesic_m(lon[:-1], lat[:-1], lon[1:], lat[1:]).sum()) / 1000.0
        off = line["official_length_km"]
        ratio = km / off if found and np.isfinite(off) else None
        rows.append({
            "line_id": line["line_id"], "line": line["name_zh"], "name_en": line["name_en"],
            "status": line["status"],
            "official_km": float(off) if np.isfinite(off) else None,
            "section": line["length_section"] or None,
            "section_used": f"{seq[i]}..{seq[j]}", "comparable": ratio is not None,
            "authored_km": round(km, 3), "ratio": None if ratio is None else round(ratio, 4),
            "difference_pct": None if ratio is None else round((ratio - 1.0) * 100.0, 2),
            "length_source": line["length_source"] or None,
        })
    return rows


# --- reading ------------------------------------------------------------------------

def _read(path: Path, columns: tuple[str, ...], key: str) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as UTF-8 CSV ({exc})") from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
    df = df.apply(lambda s: s.str.strip())
    empty = df.index[df[key] == ""]
    if len(empty):
        raise InputError(f"{path}: empty {key} on row(s) {[int(i) + 2 for i in empty[:10]]}")
    dup = df[key][df[key].duplicated()]
    if len(dup):
        raise InputError(f"{path}: duplicate {key}(s) {sorted(set(dup))[:10]}")
    return df


def _points(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Parse lon/lat/precision, convert each row's datum to WGS84."""
    df = df.copy()
    for col in ("lon", "lat"):
        vals = pd.to_numeric(df[col], errors="coerce")
        bad = df.loc[vals.isna(), "id"].tolist()
        if bad:
            raise InputError(f"{path}: {col} is not a number for {bad[:10]}")
        df[col] = vals.astype(float)
    # Far outside China means swapped or mistyped coordinates, not a datum question.
    off = ~df["lon"].between(73.0, 136.0) | ~df["lat"].between(18.0, 54.0)
    if off.any():
        raise InputError(f"{path}: lon/lat outside China for {df.loc[off, 'id'].tolist()[:10]} "
                         "(swapped columns?)")
    datums = []
    for sid, text in zip(df["id"], df["datum"], strict=True):
        try:
            datums.append(normalise_datum(text or "wgs84"))
        except InputError as exc:
            raise InputError(f"{path}: row {sid}: {exc}") from exc
    df["datum"] = datums
    for datum, idx in df.groupby("datum").groups.items():
        lon, lat = convert_xy(df.loc[idx, "lon"], df.loc[idx, "lat"], datum, "wgs84")
        df.loc[idx, "lon"], df.loc[idx, "lat"] = lon, lat
    df["precision_m"] = pd.to_numeric(df["precision_m"], errors="coerce")
    warn_count(f"row(s) of {path} without a numeric precision_m", int(df["precision_m"].isna().sum()),
               df.loc[df["precision_m"].isna(), "id"].tolist())
    return df


def _check_status(df: pd.DataFrame, path: Path, key: str) -> None:
    bad = df[~df["status"].isin(STATUSES)]
    if len(bad):
        pairs = [f"{k}={s!r}" for k, s in zip(bad[key], bad["status"], strict=True)]
        raise InputError(f"{path}: unknown status {pairs[:10]}; use {', '.join(STATUSES)}")


def _sequences(df: pd.DataFrame, col: str, known: set[str], path: Path, key: str) -> pd.DataFrame:
    """Split the ';' list of node ids; every id known, at least two, no immediate repeats."""
    df = df.copy()
    seqs = []
    for k, text in zip(df[key], df[col], strict=True):
        seq = [s.strip() for s in text.split(";") if s.strip()]
        unknown = [s for s in seq if s not in known]
        if unknown:
            raise InputError(f"{path}: {key} {k}: unknown id(s) in {col}: {unknown[:10]}")
        if len(seq) < 2:
            raise InputError(f"{path}: {key} {k}: {col} needs at least two ids")
        rep = [a for a, b in zip(seq[:-1], seq[1:], strict=True) if a == b]
        if rep:
            raise InputError(f"{path}: {key} {k}: id repeated in a row in {col}: {rep}")
        seqs.append(seq)
    df[col] = seqs
    return df


def _numbers(df: pd.DataFrame, cols: tuple[str, ...], path: Path, key: str) -> pd.DataFrame:
    df = df.copy()
    for col in cols:
        vals = pd.to_numeric(df[col], errors="coerce")
        bad = df.loc[vals.isna() & (df[col] != ""), key].tolist()
        if bad:
            raise InputError(f"{path}: {col} is not a number for {bad[:10]}")
        nonpos = df.loc[vals.notna() & (vals <= 0), key].tolist()
        if nonpos:
            raise InputError(f"{path}: {col} must be positive for {nonpos[:10]}")
        df[col] = vals.astype(float)
    return df


def _section(seq: list[str], text: str, st: pd.DataFrame) -> tuple[int, int] | None:
    """Index range of the line's stations named at both ends of ``length_section``."""
    text = re.sub(r"\([^)]*\)|（[^）]*）", " ", text)
    text = re.sub(r"\b(whole line|phase \d+|section|line|route kilometres)\b", " ", text,
                  flags=re.IGNORECASE)
    parts = [p.strip().lower() for p in re.split(r"\.\.|–|—|~|→|-", text) if p.strip()]
    if len(parts) != 2:
        return None
    idx = []
    for part in parts:
        pos = [i for i, s in enumerate(seq) if part in station_names(s, st.loc[s])]
        if len(pos) != 1:
            return None
        idx.append(pos[0])
    i, j = sorted(idx)
    return (i, j) if i < j else None


def station_names(sid: str, row: pd.Series) -> set[str]:
    zh, en = str(row["name_zh"]), str(row["name_en"]).lower()
    return {sid.lower(), zh, zh.removesuffix("站"), en, en.removesuffix(" railway station"),
            en.removesuffix(" station")}


# --- building -----------------------------------------------------------------------

def rail_run_time_s(length_m: float, speed_kmh: float) -> float:
    """Minimum start-to-stop running time over ``length_m`` with cruise ``speed_kmh``.

    Trapezoidal speed profile: accelerate at :data:`RAIL_ACCEL_MS2`, cruise, brake at
    :data:`RAIL_BRAKE_MS2`; a segment too short to reach cruise speed is run on the
    triangular profile. Equals ``length / speed`` plus the start/stop loss
    ``v/2a + v/2b`` (about 4 min at 300-350 km/h, 1-2 min at 100-160 km/h).
    """
    v = speed_kmh / 3.6
    a, b = RAIL_ACCEL_MS2, RAIL_BRAKE_MS2
    if length_m >= v * v / (2 * a) + v * v / (2 * b):
        return length_m / v + v / (2 * a) + v / (2 * b)
    peak = float(np.sqrt(2.0 * length_m * a * b / (a + b)))
    return peak / a + peak / b


def rail_edges(lines: pd.DataFrame, st: pd.DataFrame, statuses: tuple[str, ...]) -> pd.DataFrame:
    """Directed rail edges of every line: local and express services, status-aware.

    *Status.* At each status level a line joins, in order, those of its stations that
    are open at that level; a station not yet operating on an operating line therefore
    gives a direct operating edge around it *and* later-status edges through it, so
    selecting by status always leaves a continuous line. Each station pair keeps the
    earliest status at which it appears.

    *Services.* ``local`` edges join consecutive stations. ``express`` edges join
    consecutive *major* stations (termini and stations served by two or more lines at
    that level) when they skip minor ones: the fastest trains of this region run
    non-stop between hubs, and an all-stop model doubles hub-to-hub times.

    *Time* = :func:`rail_run_time_s` (cruise at the line's operating speed, else
    ``settings.RAIL_SPEED_KMH[class]``, never the design speed; start/stop loss once per
    edge) + dwell. Dwell (``settings.RAIL_DWELL_MIN``) is attributed half at each end
    of an edge that is an intermediate stop of the line (termini none): a journey
    through ``n`` intermediate stops accrues ``n`` dwells, plus half a dwell at its
    first and last station when these are intermediate stops. Symmetric both ways.
    """
    half_dwell_s = settings.RAIL_DWELL_MIN * 60.0 / 2.0
    rank_st = st["status"].map(STATUS_RANK)
    served = {level: _lines_at(lines, rank_st, STATUS_RANK[level]) for level in STATUSES}
    rows = []
    for line in lines.sort_values("line_id").to_dict("records"):
        speed = line_speed(line)
        seen: set[tuple[str, str]] = set()
        for level in STATUSES[STATUS_RANK[line["status"]]:]:
            sub = [s for s in line["stations"] if rank_st[s] <= STATUS_RANK[level]]
            last = len(sub) - 1
            chord = geodesic_m(st.loc[sub[:-1], "lon"].to_numpy(), st.loc[sub[:-1], "lat"].to_numpy(),
                                 st.loc[sub[1:], "lon"].to_numpy(), st.loc[sub[1:], "lat"].to_numpy())
            major = [i for i, s in enumerate(sub) if i in (0, last) or served[level][s] >= 2]
            pairs = [(i, i + 1, "local") for i in range(last)]
            pairs += [(i, j, "express") for i, j in zip(major[:-1], major[1:], strict=True) if j > i + 1]
            for i, j, service in pairs:
                a, b = sub[i], sub[j]
                if (a, b) in seen:
                    continue
                seen.add((a, b))
                if level not in statuses:
                    continue
                length = float(chord[i:j].sum())
                dwell = half_dwell_s * ((0 < i) + (j < last))
                t = rail_run_time_s(length, speed) + dwell
                path = sub[i:j + 1]
                for x, y, pth in ((a, b, path), (b, a, path[::-1])):
                    rows.append({"u_slug": x, "v_slug": y, "mode": "rail", "class": line["class"],
                                 "name": line["name_zh"], "ref": None, "line": line["name_zh"],
                                 "length_m": length, "speed_kmh": float(speed),
                                 "travel_time_s": t, "dwell_s": dwell, "service": service,
                                 "status": level, "opened": line["opened"] or None,
                                 "source_id": line["line_id"], "path": pth})
    if not rows:
        return pd.DataFrame()
    df = pd.DataFrame(rows)
    df["oneway"] = False
    df["source"] = "embedded"
    return df


def line_speed(line: dict) -> float:
    """Cruise speed of a line: its published operating speed, else the class default.

    The design speed is deliberately not used: Chinese lines built for 350 km/h have run
    at 300 km/h for years (the 2011 cap), so a design speed overstates the service speed;
    the class default (``settings.RAIL_SPEED_KMH``) is the documented, conservative guess.
    """
    if np.isfinite(line["operating_speed_kmh"]):
        return float(line["operating_speed_kmh"])
    return float(settings.RAIL_SPEED_KMH[line["class"]])


def _lines_at(lines: pd.DataFrame, rank_st: pd.Series, level: int) -> dict[str, int]:
    """How many lines open at status rank ``level`` serve each station open at it."""
    count: dict[str, int] = {}
    for seq, status in zip(lines["stations"], lines["status"], strict=True):
        if STATUS_RANK[status] <= level:
            for s in seq:
                if rank_st[s] <= level:
                    count[s] = count.get(s, 0) + 1
    return count


def road_edges(routes: pd.DataFrame, rn: pd.DataFrame, statuses: tuple[str, ...]) -> pd.DataFrame:
    rows = []
    default = settings.ROAD_SPEED_KMH["motorway"]
    for r in routes.sort_values("route_id").itertuples(index=False):
        if r.status not in statuses:
            continue
        speed = r.speed_kmh if np.isfinite(r.speed_kmh) else default
        seq = r.waypoints
        for a, b in zip(seq[:-1], seq[1:], strict=True):
            for x, y in ((a, b), (b, a)):
                rows.append({"u_slug": x, "v_slug": y, "mode": "road", "class": "motorway",
                             "name": r.name_zh, "ref": r.ref or None, "line": None,
                             "speed_kmh": float(speed), "dwell_s": 0.0, "service": None,
                             "status": r.status, "opened": r.opened or None,
                             "source_id": r.route_id, "path": [x, y]})
    if not rows:
        return pd.DataFrame()
    return _with_lengths(pd.DataFrame(rows), rn)


def _with_lengths(df: pd.DataFrame, pts: pd.DataFrame) -> pd.DataFrame:
    a = pts.loc[df["u_slug"]]
    b = pts.loc[df["v_slug"]]
    df["length_m"] = geodesic_m(a["lon"].to_numpy(), a["lat"].to_numpy(),
                                  b["lon"].to_numpy(), b["lat"].to_numpy())
    df["travel_time_s"] = df["length_m"] / (df["speed_kmh"] / 3.6) + df["dwell_s"]
    df["oneway"] = False
    df["source"] = "embedded"
    return df


def _nodes(edges: pd.DataFrame, data: EmbeddedData, statuses: tuple[str, ...]) -> pd.DataFrame:
    """The nodes the selected edges use: one per station (shared by its lines) or road node."""
    used = set(edges["u_slug"])
    st = data.stations[data.stations["id"].isin(used)].copy()
    rail = edges[edges["mode"] == "rail"]
    lines_at = (rail[["u_slug", "line"]].drop_duplicates()
                .groupby("u_slug")["line"].agg(lambda s: ";".join(sorted(s))))
    st["lines"] = st["id"].map(lines_at)
    st["kind"] = np.where(st["lines"].str.count(";") >= 1, "interchange_station", "station")
    st["mode"] = "rail"

    rn = data.road_nodes[data.road_nodes["id"].isin(used)].copy()
    road = edges[edges["mode"] == "road"]
    rank = road["status"].map(STATUS_RANK).groupby(road["u_slug"]).min()
    rn["status"] = rn["id"].map(rank).map(dict(enumerate(STATUSES)))
    refs_at = road[["u_slug", "ref"]].dropna().drop_duplicates().groupby("u_slug")["ref"].agg(
        lambda s: ";".join(sorted(s)))
    rn["lines"] = rn["id"].map(refs_at)
    rn["opened"] = None
    rn["mode"] = "road"

    cols = ["id", "kind", "name_zh", "name_en", "county_adcode", "precision_m", "status",
            "opened", "lines", "mode", "lon", "lat"]
    nodes = pd.concat([st[cols], rn[cols]], ignore_index=True)
    nodes = nodes.rename(columns={"id": "slug", "name_zh": "name"})
    nodes["opened"] = nodes["opened"].replace("", None)
    nodes["node_id"] = [node_id(s) for s in nodes["slug"]]
    if nodes["node_id"].duplicated().any():  # 53-bit hash: never seen, but never silent
        dup = nodes.loc[nodes["node_id"].duplicated(keep=False), "slug"].tolist()
        raise NetworkError(f"node id hash collision between {dup}; rename one of them")
    return nodes.sort_values("slug").reset_index(drop=True)


def transfer_edges(nodes: pd.DataFrame, statuses: tuple[str, ...]) -> tuple[pd.DataFrame, list[str]]:
    """Station <-> nearest road nodes: detoured distance at access speed + transfer penalty.

    Nearest nodes are chosen per status level among the stations and road nodes open at
    that level, so the operating part of a full build equals the operating build (a
    planned interchange never displaces an operating one). The penalty is paid in both
    directions (joining rail and leaving it), as the routing kernel does when a point
    snaps to a station at either end of a trip. Returns the edges and the stations
    without a road node in reach at their own status.
    """
    speed_ms = settings.ACCESS_SPEED_KMH / 3.6
    penalty_s = settings.TRANSFER_PENALTY_MIN * 60.0
    rank = nodes["status"].map(STATUS_RANK)
    rows, seen, linked = [], set(), set()
    for level in STATUSES:
        open_ = rank <= STATUS_RANK[level]
        st = nodes[open_ & (nodes["mode"] == "rail")].reset_index(drop=True)
        rn = nodes[open_ & (nodes["mode"] == "road")].reset_index(drop=True)
        if st.empty or rn.empty:
            continue
        sx, sy = lonlat_to_metric(st["lon"].to_numpy(), st["lat"].to_numpy())
        rx, ry = lonlat_to_metric(rn["lon"].to_numpy(), rn["lat"].to_numpy())
        k = min(TRANSFER_K, len(rn))
        dist, idx = cKDTree(np.column_stack([rx, ry])).query(
            np.column_stack([sx, sy]), k=k, distance_upper_bound=TRANSFER_RADIUS_M)
        dist, idx = dist.reshape(len(st), k), idx.reshape(len(st), k)
        for i, s in st.iterrows():
            for j in idx[i][np.isfinite(dist[i])]:
                r = rn.iloc[int(j)]
                if (s["slug"], r["slug"]) in seen:
                    continue
                seen.add((s["slug"], r["slug"]))
                if level not in statuses:
                    continue
                linked.add(s["slug"])
                length = float(geodesic_m(s["lon"], s["lat"], r["lon"], r["lat"])) \
                    * settings.ACCESS_DETOUR_FACTOR
                for x, y in ((s["slug"], r["slug"]), (r["slug"], s["slug"])):
                    rows.append({"u_slug": x, "v_slug": y, "mode": "transfer", "class": "transfer",
                                 "name": f"{s['name']}–{r['name']}", "ref": None, "line": None,
                                 "speed_kmh": settings.ACCESS_SPEED_KMH, "dwell_s": 0.0,
                                 "service": None, "path": [x, y], "status": level,
                                 "opened": None, "source_id": s["slug"], "length_m": length,
                                 "travel_time_s": length / speed_ms + penalty_s,
                                 "oneway": False, "source": "embedded"})
    missing = sorted(set(nodes.loc[nodes["mode"] == "rail", "slug"]) - linked)
    return pd.DataFrame(rows), missing


def edge_frames(nodes: pd.DataFrame, edges: pd.DataFrame) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    ids = dict(zip(nodes["slug"], nodes["node_id"], strict=True))
    xy = dict(zip(nodes["slug"], zip(nodes["lon"], nodes["lat"], strict=True), strict=True))
    n = nodes.rename(columns={"node_id": "id"})
    n = n[["id", "kind", "name", "name_en", "slug", "county_adcode", "precision_m", "status",
           "opened", "lines", "mode", "lon", "lat"]]
    n_gdf = gpd.GeoDataFrame(n.drop(columns=["lon", "lat"]),
                             geometry=gpd.points_from_xy(n["lon"], n["lat"]), crs=settings.WGS84)
    e = edges.copy()
    e["u"] = e["u_slug"].map(ids).astype(np.int64)
    e["v"] = e["v_slug"].map(ids).astype(np.int64)
    e["key"] = e.groupby(["u", "v"]).cumcount().astype(np.int64)
    geoms = [shapely.LineString([xy[p] for p in path]) for path in e["path"]]
    e["via"] = [";".join(p[1:-1]) or None for p in e["path"]]
    cols = ["u", "v", "key", "mode", "class", "name", "ref", "line", "oneway", "length_m",
            "speed_kmh", "travel_time_s", "status", "source", "service", "dwell_s", "opened",
            "source_id", "u_slug", "v_slug", "via"]
    e_gdf = gpd.GeoDataFrame(e[cols], geometry=geoms, crs=settings.WGS84)
    return n_gdf, e_gdf
