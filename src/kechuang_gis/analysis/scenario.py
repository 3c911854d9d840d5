"""Scenarios: what-if changes to the network and the nodes, measured against the base.

A scenario is a TOML file (see ``scenarios/`` for real cases)::

    name = "通苏嘉甬铁路开通"
    base = "embedded"                  # or a network folder from `network build`
    description = "..."                # what is modelled and why (plain language)
    source = ["..."]                   # citations (also accepted: cites)
    reading = "direct"                 # or "inverse": the scenario takes out what exists
    datum = "wgs84"                    # of the lon/lat below (gcj02, bd09 for web-map picks)

    [[remove]]      line | ref | name | edges = [[u, v], [u, v, key]]
    [[add_line]]    name, mode = rail|road, class, speed_kmh, dwell_min, status, id, ref,
                    opened, stations = [{name, lon, lat, id}, ...]
    [[set_status]]  line | ref | name | edges, status
    [[set_speed]]   ref | line | name | edges, speed_kmh
    [[node]]        name, lon, lat, mass | mass_factor, kind, id

Tables are applied in that fixed order (remove, add_line, set_status, set_speed, node),
all or nothing, to a copy of the base: any error leaves nothing applied.

Choices a reader needs to know
------------------------------
* **Base "embedded"** is the embedded strategic network with every status (operating,
  under construction, planned), so ``set_status`` can open a line; routing uses only
  operating edges. Its operating part is the same network ``--network embedded`` routes on.
* **add_line** builds rail edges with the embedded builder's own functions (run time
  with acceleration, dwell, local and express services, status-aware bypasses) and new
  stations' transfer edges like the builder's, so removing a line and adding it back
  with the same stations, class and speed restores the base's edges exactly (same
  nodes, lengths, times, statuses, geometry). Existing stations are matched by Chinese
  name (with or without 站), English name, slug or node id; a station given with lon/lat
  and an unknown name is a new station. Adding a line does not re-plan the express
  services of *other* lines at its stations.
* **remove** takes out the selected edges only; stations and their transfer edges stay
  (a station with no line left is not a snapping target, see ``CSRGraph.active``).
* **set_status** switches every selected edge; touched nodes take the best status of
  their edges and their transfer edges follow (worse of the two ends' statuses).
* **[[node]]** changes the node table of node strength (parks, hubs), never the
  network: ``mass`` sets a node's mass, ``mass_factor`` multiplies the default proxy
  mass; a name that is not a node is looked up in the gazetteer, else it needs lon/lat
  and is a new node. New nodes of a destination kind are also new destinations.
* **Deltas** are ``scenario - base`` per origin. For times (``nearest_time_min``) a
  negative delta is a gain; for the sums (gravity, cumulative, 2SFCA) a positive one.
"""

from __future__ import annotations

import hashlib
import math
import re
import tomllib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import __version__, settings
from ..crs import convert_xy, geodesic_m, normalise_datum
from ..errors import DataWarning, InputError
from ..io import atomic_dir, atomic_path, write_csv, write_geoparquet, write_json
from ..network.model import STATION_KINDS, STATUSES, Network

#: Keys of a scenario file, top level and per table; anything else is an error.
TOP_KEYS = ("name", "base", "description", "source", "cites", "reading", "datum",
            "add_line", "set_status", "remove", "set_speed", "node")
SELECTORS = ("line", "ref", "name", "edges")
TABLE_KEYS: dict[str, tuple[str, ...]] = {
    "remove": SELECTORS,
    "add_line": ("name", "mode", "class", "speed_kmh", "dwell_min", "status", "id", "ref",
                 "opened", "stations"),
    "set_status": (*SELECTORS, "status"),
    "set_speed": (*SELECTORS, "speed_kmh"),
    "node": ("name", "lon", "lat", "mass", "mass_factor", "kind", "id"),
}
STATION_KEYS = ("name", "lon", "lat", "id")
#: Order in which the tables are applied.
ORDER = ("remove", "add_line", "set_status", "set_speed", "node")
READINGS = ("direct", "inverse")
#: A station or node named in a scenario that matches an existing one but is given a
#: position farther than this (metres) from it is an error: probably another place.
MATCH_TOLERANCE_M = 10_000.0
#: Changes smaller than this count as "unchanged" in summaries (minutes for times,
#: relative 1e-6 for the sums): far-away origins differ by float rounding at most.
TIME_TOLERANCE_MIN = 0.05
DEFAULT_ORIGINS = "hex:7"
DEFAULT_DESTINATIONS = "parks"
DEFAULT_METRICS = "nearest,gravity"
#: Measures for which lower is better (a negative delta is a gain).
LOWER_IS_BETTER = ("nearest_time_min",)
#: The shipped scenario ``kechuang-gis run`` includes (see :func:`run_default_scenario`).
DEFAULT_SCENARIO = "tongsujiayong.toml"
#: Folder of the shipped scenarios.
SCENARIO_DIR = settings.SCENARIOS_DIR
OUTPUTS = ("delta.parquet", "node_strength_delta.csv", "changed.parquet", "summary.md",
           "summary_by_county.csv", "meta.json")


# --- the scenario file ------------------------------------------------------------------

@dataclass
class Scenario:
    """A parsed, schema-checked scenario (not yet applied to a network)."""

    name: str
    base: str = "embedded"
    description: str = ""
    sources: list[str] = field(default_factory=list)
    reading: str = "direct"
    datum: str = "wgs84"
    tables: dict[str, list[dict]] = field(default_factory=dict)
    path: Path | None = None
    sha256: str | None = None

    @property
    def where(self) -> str:
        return str(self.path) if self.path else f"scenario {self.name!r}"

    def slug(self) -> str:
        """A file-system friendly id: the file stem, else a hash of the name."""
        if self.path is not None:
            return self.path.stem
        return "scenario_" + hashlib.blake2b(self.name.encode(), digest_size=4).hexdigest()


def read_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file; InputError names the file, table and key."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such scenario file")
    text = path.read_bytes()
    try:
        data = tomllib.loads(text.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from exc
    scn = parse_scenario(data, where=str(path))
    scn.path = path
    scn.sha256 = hashlib.sha256(text).hexdigest()
    return scn


def parse_scenario(data: dict | str, where: str = "scenario") -> Scenario:
    """Check a scenario given as a TOML string or an already parsed mapping."""
    if isinstance(data, str):
        try:
            data = tomllib.loads(data)
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{where}: not valid TOML: {exc}") from exc
    unknown = [k for k in data if k not in TOP_KEYS]
    if unknown:
        raise InputError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))} at the top level "
                         f"(allowed: {', '.join(TOP_KEYS)})")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{where}: needs a name = \"...\"")
    base = data.get("base", "embedded")
    if not isinstance(base, str) or not base.strip():
        raise InputError(f"{where}: base must be \"embedded\" or a network folder")
    sources: list[str] = []
    for key in ("source", "cites"):
        v = data.get(key)
        if v is None:
            continue
        items = [v] if isinstance(v, str) else v
        if not isinstance(items, list) or not all(isinstance(s, str) for s in items):
            raise InputError(f"{where}: {key} must be a string or a list of strings")
        sources += items
    reading = data.get("reading", "direct")
    if reading not in READINGS:
        raise InputError(f"{where}: reading must be one of {', '.join(READINGS)}, got {reading!r}")
    try:
        datum = normalise_datum(data.get("datum", "wgs84"))
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from exc
    desc = data.get("description", "")
    if not isinstance(desc, str):
        raise InputError(f"{where}: description must be a string")

    tables: dict[str, list[dict]] = {}
    for section in ORDER:
        raw = data.get(section, [])
        if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
            raise InputError(f"{where}: {section} must be written as [[{section}]] tables")
        tables[section] = [_check_table(section, i + 1, t, where, datum) for i, t in enumerate(raw)]
    if not any(tables.values()):
        raise InputError(f"{where}: the scenario changes nothing (no {', '.join(f'[[{s}]]' for s in ORDER)})")
    _check_duplicates(tables, where)
    return Scenario(name=name.strip(), base=base.strip(), description=desc.strip(), sources=sources,
                    reading=reading, datum=datum, tables=tables)


def _check_table(section: str, i: int, t: dict, where: str, datum: str) -> dict:
    at = f"{where}: [[{section}]] table {i}"
    unknown = [k for k in t if k not in TABLE_KEYS[section]]
    if unknown:
        raise InputError(f"{at}: unknown key(s) {', '.join(map(repr, unknown))} "
                         f"(allowed: {', '.join(TABLE_KEYS[section])})")
    t = dict(t, _at=at, _index=i)
    if section in ("remove", "set_status", "set_speed"):
        given = [k for k in SELECTORS if k in t]
        if len(given) != 1:
            raise InputError(f"{at}: give exactly one of {', '.join(SELECTORS)} (got {', '.join(given) or 'none'})")
        sel = given[0]
        if sel == "edges":
            t["edges"] = _edge_ids(t["edges"], at)
        elif not isinstance(t[sel], str) or not t[sel].strip():
            raise InputError(f"{at}: {sel} must be a non-empty string")
    if section == "set_status":
        if t.get("status") not in STATUSES:
            raise InputError(f"{at}: status must be one of {', '.join(STATUSES)}, got {t.get('status')!r}")
    if section == "set_speed":
        t["speed_kmh"] = _positive(t.get("speed_kmh"), "speed_kmh", at)
    if section == "add_line":
        _check_add_line(t, at, datum)
    if section == "node":
        _check_node(t, at, datum)
    return t


def _check_add_line(t: dict, at: str, datum: str) -> None:
    if not isinstance(t.get("name"), str) or not t["name"].strip():
        raise InputError(f"{at}: needs a name")
    t["name"] = t["name"].strip()
    mode = t.setdefault("mode", "rail")
    if mode not in ("rail", "road"):
        raise InputError(f"{at}: mode must be rail or road, got {mode!r}")
    if mode == "rail":
        cls = t.setdefault("class", "hsr")
        if cls not in settings.RAIL_SPEED_KMH:
            raise InputError(f"{at}: rail class must be one of {', '.join(settings.RAIL_SPEED_KMH)}, got {cls!r}")
    else:
        cls = t.setdefault("class", "motorway")
        if cls not in settings.ROAD_SPEED_KMH:
            raise InputError(f"{at}: road class must be one of {', '.join(settings.ROAD_SPEED_KMH)}, got {cls!r}")
        if "dwell_min" in t:
            raise InputError(f"{at}: dwell_min is for rail lines only")
    if "speed_kmh" in t:
        t["speed_kmh"] = _positive(t["speed_kmh"], "speed_kmh", at)
    if "dwell_min" in t:
        d = t["dwell_min"]
        if isinstance(d, bool) or not isinstance(d, int | float) or not math.isfinite(d) or d < 0:
            raise InputError(f"{at}: dwell_min must be a number >= 0, got {d!r}")
    status = t.setdefault("status", "operating")
    if status not in STATUSES:
        raise InputError(f"{at}: status must be one of {', '.join(STATUSES)}, got {status!r}")
    stations = t.get("stations")
    if not isinstance(stations, list) or len(stations) < 2:
        raise InputError(f"{at}: stations must list at least two {{name = ..., lon = ..., lat = ...}} entries")
    clean = []
    for j, s in enumerate(stations, start=1):
        sat = f"{at}, station {j}"
        if isinstance(s, str):
            s = {"name": s}
        if not isinstance(s, dict):
            raise InputError(f"{sat}: write stations as {{name = \"...\", lon = ..., lat = ...}}")
        bad = [k for k in s if k not in STATION_KEYS]
        if bad:
            raise InputError(f"{sat}: unknown key(s) {', '.join(map(repr, bad))} (allowed: {', '.join(STATION_KEYS)})")
        if not isinstance(s.get("name"), str) or not s["name"].strip():
            raise InputError(f"{sat}: needs a name")
        s = dict(s, name=s["name"].strip())
        _lonlat(s, sat, datum)
        clean.append(s)
    names = [s["name"] for s in clean]
    rep = sorted({n for n in names if names.count(n) > 1})
    if rep:
        raise InputError(f"{at}: duplicate station name(s) in one line: {', '.join(rep)}")
    t["stations"] = clean


def _check_node(t: dict, at: str, datum: str) -> None:
    if not isinstance(t.get("name"), str) or not t["name"].strip():
        raise InputError(f"{at}: needs a name")
    t["name"] = t["name"].strip()
    if "mass" in t and "mass_factor" in t:
        raise InputError(f"{at}: give mass or mass_factor, not both")
    for key in ("mass", "mass_factor"):
        if key in t:
            t[key] = _positive(t[key], key, at)
    if "kind" in t and not isinstance(t["kind"], str):
        raise InputError(f"{at}: kind must be a string")
    _lonlat(t, at, datum)


def _lonlat(t: dict, at: str, datum: str) -> None:
    """Check lon/lat (both or none), convert the datum, refuse positions off the region."""
    has = [k in t for k in ("lon", "lat")]
    if any(has) and not all(has):
        raise InputError(f"{at}: give both lon and lat, or neither")
    if not any(has):
        return
    for k in ("lon", "lat"):
        v = t[k]
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise InputError(f"{at}: {k} must be a number, got {v!r}")
    lon0, lat0, lon1, lat1 = settings.REGION_BBOX
    if not (lon0 <= t["lon"] <= lon1 and lat0 <= t["lat"] <= lat1):
        swapped = lon0 <= t["lat"] <= lon1 and lat0 <= t["lon"] <= lat1
        raise InputError(f"{at}: position lon={t['lon']}, lat={t['lat']} is outside the region "
                         f"(lon {lon0}..{lon1}, lat {lat0}..{lat1})"
                         + ("; lon and lat look swapped" if swapped else ""))
    if datum != "wgs84":
        lon, lat = convert_xy(np.array([t["lon"]], float), np.array([t["lat"]], float), datum, "wgs84")
        t["lon"], t["lat"] = float(lon[0]), float(lat[0])
    else:
        t["lon"], t["lat"] = float(t["lon"]), float(t["lat"])


def _positive(v, key: str, at: str) -> float:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) or v <= 0:
        raise InputError(f"{at}: {key} must be a positive number, got {v!r}")
    return float(v)


def _edge_ids(v, at: str) -> list[tuple[int, ...]]:
    ok = isinstance(v, list) and v and all(
        isinstance(e, list) and len(e) in (2, 3) and all(isinstance(x, int) and not isinstance(x, bool) for x in e)
        for e in v)
    if not ok:
        raise InputError(f"{at}: edges must be a list of [u, v] or [u, v, key] node-id lists, got {v!r}")
    return [tuple(e) for e in v]


def _check_duplicates(tables: dict[str, list[dict]], where: str) -> None:
    for section, what in (("add_line", "line"), ("node", "node")):
        names = [t["name"] for t in tables[section]]
        rep = sorted({n for n in names if names.count(n) > 1})
        if rep:
            raise InputError(f"{where}: duplicate [[{section}]] {what} name(s): {', '.join(rep)}")


# --- matching names -----------------------------------------------------------------------

def _close(name: str, candidates) -> str:
    from ..layers.geocode import closest_matches

    cands = [str(c) for c in dict.fromkeys(candidates) if c is not None and str(c) != "nan"]
    hits = [c for c in cands if name and (name in c or c in name)][:5]
    hits += [c for c in closest_matches(name, cands) if c not in hits]
    return f"; close matches: {', '.join(hits[:8])}" if hits else "; nothing similar in the base"


def _strip_remarks(name: str) -> str:
    return re.sub(r"\s+", "", re.sub(r"[(（][^)）]*[)）]", "", str(name)))


def line_key(name: str) -> str:
    """A line name without remarks in brackets and without the 高速铁路/高铁/城际/铁路 suffix."""
    s = _strip_remarks(name)
    for suffix in ("高速铁路", "城际铁路", "高铁", "城际", "铁路"):
        if s.endswith(suffix) and len(s) > len(suffix):
            return s[: -len(suffix)]
    return s


def _ref_tokens(ref) -> set[str]:
    if ref is None or (isinstance(ref, float) and math.isnan(ref)):
        return set()
    s = re.sub(r"[(（][^)）]*[)）]", "", str(ref))
    return {t.strip().upper().replace(" ", "") for t in re.split(r"[;/,，、]", s) if t.strip()}


def _select(edges: gpd.GeoDataFrame, t: dict) -> tuple[np.ndarray, str]:
    """Boolean mask of the edges a selector names, and what it resolved to."""
    at = t["_at"]
    if "edges" in t:
        mask = np.zeros(len(edges), dtype=bool)
        u, v, k = (edges[c].to_numpy() for c in ("u", "v", "key"))
        for e in t["edges"]:
            hit = (u == e[0]) & (v == e[1]) & ((k == e[2]) if len(e) == 3 else True)
            if not hit.any():
                raise InputError(f"{at}: no edge {list(e)} in the base")
            mask |= hit
        return mask, f"{int(mask.sum())} edge(s) by id"
    if "line" in t:
        q = t["line"].strip()
        lines = edges["line"]
        if (lines == q).any():
            return (lines == q).to_numpy(), q
        if "source_id" in edges.columns:
            by_id = (edges["source_id"] == q) & lines.notna()
            if by_id.any():
                names = sorted(set(lines[by_id]))
                return lines.isin(names).to_numpy(), ", ".join(names)
        known = sorted(set(lines.dropna().astype(str)))
        bare = [n for n in known if _strip_remarks(n) == _strip_remarks(q)]
        if len(bare) == 1:
            return (lines == bare[0]).to_numpy(), bare[0]
        keyed = [n for n in known if line_key(n) == line_key(q)]
        if len(keyed) == 1:
            return (lines == keyed[0]).to_numpy(), keyed[0]
        if len(keyed) > 1:
            raise InputError(f"{at}: line {q!r} is ambiguous: {', '.join(keyed)}; give the full name")
        raise InputError(f"{at}: no line {q!r} in the base" + _close(q, known))
    if "ref" in t:
        q = t["ref"].strip().upper().replace(" ", "")
        tokens = [_ref_tokens(r) for r in edges["ref"]]
        mask = np.array([q in tok for tok in tokens], dtype=bool)
        if not mask.any():
            known = sorted(set().union(*tokens)) if tokens else []
            raise InputError(f"{at}: no road with ref {t['ref']!r} in the base" + _close(q, known))
        return mask, t["ref"].strip()
    q = t["name"].strip()
    names = edges["name"].astype(str)
    mask = (names == q) | (names.map(_strip_remarks) == _strip_remarks(q))
    if not mask.any():
        known = sorted(set(edges.loc[~edges["mode"].isin(("access", "transfer")), "name"].dropna().astype(str)))
        raise InputError(f"{at}: no element named {q!r} in the base" + _close(q, known))
    return mask.to_numpy(), q


def _node_names(nodes: gpd.GeoDataFrame) -> dict[str, list[int]]:
    """Every accepted spelling of every node (name, name without 站, English, slug) -> ids."""
    from ..network.embedded import station_names

    out: dict[str, list[int]] = {}
    name_en = nodes["name_en"] if "name_en" in nodes.columns else pd.Series("", index=nodes.index)
    slug = nodes["slug"] if "slug" in nodes.columns else nodes["id"].astype(str)
    for nid, zh, en, sl in zip(nodes["id"], nodes["name"], name_en, slug, strict=True):
        row = pd.Series({"name_zh": "" if zh is None else str(zh), "name_en": "" if en is None else str(en)})
        for n in station_names(str(sl), row) | {str(nid)}:
            if n and n != "nan" and n != "none":
                out.setdefault(n, []).append(int(nid))
    return out


def _match_node(q: dict, nodes: gpd.GeoDataFrame, names: dict[str, list[int]], at: str,
                what: str) -> int | None:
    """The node id a station entry names, None for a new one; errors list close matches."""
    if "id" in q:
        key = str(q["id"])
        ids = names.get(key.lower(), names.get(key, []))
        if not ids:
            raise InputError(f"{at}: no {what} with id {q['id']!r} in the base")
        return ids[0]
    name = q["name"]
    cands = [name, name.lower(), name.removesuffix("站"), name.lower().removesuffix(" station")]
    ids = next((names[c] for c in cands if c in names), [])
    ids = list(dict.fromkeys(ids))
    if len(ids) > 1:
        raise InputError(f"{at}: {what} {name!r} matches several nodes {ids[:5]}; give id = <node id>")
    if ids:
        nid = ids[0]
        if "lon" in q:
            g = nodes.geometry[nodes["id"] == nid].iloc[0]
            d = float(geodesic_m(g.x, g.y, q["lon"], q["lat"]))
            if d > MATCH_TOLERANCE_M:
                raise InputError(f"{at}: {what} {name!r} exists in the base {d / 1000:.1f} km from the "
                                 f"given position; use another name for a new {what}, or drop lon/lat")
        return nid
    if "lon" not in q:
        raise InputError(f"{at}: no {what} {name!r} in the base; give lon and lat to add it as a new "
                         f"{what}" + _close(name, [n for n in nodes["name"].dropna()]))
    return None


# --- applying -------------------------------------------------------------------------------

@dataclass
class Applied:
    """A scenario applied to a base: the scenario network, node edits and what changed."""

    scenario: Scenario
    base: Network
    network: Network
    node_edits: list[dict]
    changes: gpd.GeoDataFrame
    resolved: list[dict]


def load_base(spec: str, relative_to: Path | None = None) -> Network:
    """The base network of a scenario: ``embedded`` (every status) or a network folder."""
    if spec.strip().lower() == "embedded":
        from ..network.embedded import build_embedded

        return build_embedded(statuses="all")
    path = Path(spec)
    if not path.is_absolute() and relative_to is not None and (relative_to / path).exists():
        path = relative_to / path
    return Network.load(path)


def apply_scenario(scn: Scenario, base: Network) -> Applied:
    """Apply every table of ``scn`` to a copy of ``base``; all or nothing."""
    nodes = base.nodes.copy()
    edges = base.edges.copy()
    changes: list[dict] = []
    resolved: list[dict] = []

    for t in scn.tables["remove"]:
        mask, what = _select(edges, t)
        changes += _edge_changes(edges[mask], "removed", t)
        resolved.append({"table": t["_at"], "resolved": what, "edges": int(mask.sum())})
        edges = edges[~mask].reset_index(drop=True)

    for t in scn.tables["add_line"]:
        if t["mode"] == "rail" and edges["line"].eq(t["name"]).any():
            raise InputError(f"{t['_at']}: line {t['name']!r} is already in the base; use set_status or "
                             "set_speed, or [[remove]] it first")
        nodes, new_edges, new_nodes = _add_line(t, nodes, edges, scn)
        changes += _edge_changes(new_edges, "added", t)
        changes += [_node_change(r, "node_added", t) for _, r in new_nodes.iterrows()]
        resolved.append({"table": t["_at"], "resolved": t["name"], "edges": int(len(new_edges)),
                         "new_stations": new_nodes["name"].tolist()})
        edges = _concat_edges(edges, new_edges)

    for t in scn.tables["set_status"]:
        mask, what = _select(edges, t)
        before = edges[mask].copy()
        edges = edges.copy()
        edges.loc[mask, "status"] = t["status"]
        nodes, edges, extra = _follow_status(nodes, edges, mask)
        after = edges[mask]
        changes += _edge_changes(after, "status", t, before)
        changes += _edge_changes(edges.loc[extra], "status", t, base_rows=None, note="transfer follows station")
        resolved.append({"table": t["_at"], "resolved": what, "edges": int(mask.sum()),
                         "status": t["status"]})

    for t in scn.tables["set_speed"]:
        mask, what = _select(edges, t)
        before = edges[mask].copy()
        edges = edges.copy()
        edges.loc[mask, "speed_kmh"] = t["speed_kmh"]
        edges.loc[mask, "travel_time_s"] = _travel_times(edges[mask])
        changes += _edge_changes(edges[mask], "speed", t, before)
        resolved.append({"table": t["_at"], "resolved": what, "edges": int(mask.sum()),
                         "speed_kmh": t["speed_kmh"]})

    meta = dict(base.meta)
    meta["scenario"] = {"name": scn.name, "file": str(scn.path) if scn.path else None,
                        "sha256": scn.sha256, "base": scn.base}
    network = Network(nodes, edges, meta)
    node_edits = [dict(t) for t in scn.tables["node"]]
    return Applied(scn, base, network, node_edits, _changes_frame(changes), resolved)


def _concat_edges(edges: gpd.GeoDataFrame, new: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Append edges; a new (u, v) parallel to existing ones gets the next free key."""
    new = new.copy()
    top = edges.groupby(["u", "v"])["key"].max()
    start = pd.Series(list(zip(new["u"], new["v"], strict=True))).map(top).fillna(-1).astype(np.int64)
    new["key"] = start.to_numpy() + 1 + new.groupby(["u", "v"]).cumcount().to_numpy()
    cols = list(edges.columns)
    for c in cols:
        if c not in new.columns:
            new[c] = None
    new = new[cols]
    for c in cols:
        if c != edges.geometry.name and new[c].dtype != edges[c].dtype:
            try:  # keep the base's column types (e.g. string columns stay strings)
                new[c] = new[c].astype(edges[c].dtype)
            except (TypeError, ValueError):
                pass
    out = pd.concat([edges, new], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry=edges.geometry.name, crs=edges.crs)


def _station_table(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame) -> pd.DataFrame:
    """Nodes as the embedded builder's tables want them: slug-indexed lon/lat/status/name."""
    slug = nodes["slug"] if "slug" in nodes.columns else "n" + nodes["id"].astype(str)
    status = _node_status(nodes, edges)
    name_en = nodes["name_en"] if "name_en" in nodes.columns else ""
    df = pd.DataFrame({"id": nodes["id"].to_numpy(), "slug": slug.to_numpy(),
                       "name_zh": nodes["name"].to_numpy(), "name_en": name_en,
                       "lon": nodes.geometry.x.to_numpy(), "lat": nodes.geometry.y.to_numpy(),
                       "status": status, "kind": nodes["kind"].to_numpy()})
    return df.set_index("slug", drop=False)


def _node_status(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame) -> np.ndarray:
    """Each node's status: its own column when present, else the best of its edges."""
    rank = {s: i for i, s in enumerate(STATUSES)}
    if "status" in nodes.columns and nodes["status"].isin(STATUSES).all():
        return nodes["status"].to_numpy(object)
    e = edges[~edges["mode"].isin(("transfer", "access"))]
    r = pd.concat([e["u"], e["v"]]).to_frame("n").assign(r=np.tile(e["status"].map(rank).to_numpy(), 2))
    best = r.groupby("n")["r"].min()
    out = nodes["id"].map(best).fillna(0).astype(int)
    return np.array([STATUSES[i] for i in out], dtype=object)


def _add_line(t: dict, nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, scn: Scenario
              ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Edges (and new nodes) of one [[add_line]], built by the embedded builder's functions."""
    from ..network import embedded as emb
    from ..network.embedded import node_id

    at, rail = t["_at"], t["mode"] == "rail"
    table = _station_table(nodes, edges)
    is_station = nodes["kind"].isin(STATION_KINDS).to_numpy()
    # Nodes left without edges by a [[remove]] are kept, so a line can be put back.
    pool = nodes[is_station] if rail else nodes[~is_station]
    names = _node_names(pool)
    seq, new_rows = [], []
    line_id = str(t.get("id") or f"{scn.slug()}:{t['name']}")
    for j, s in enumerate(t["stations"], start=1):
        nid = _match_node(s, pool, names, f"{at}, station {j}", "station" if rail else "junction")
        if nid is not None:
            seq.append(table.index[table["id"] == nid][0])
            continue
        slug = f"{line_id}:{s['name']}"
        new_id = node_id(slug)
        if (nodes["id"] == new_id).any() or any(r["id"] == new_id for r in new_rows):
            raise InputError(f"{at}, station {j}: node id collision for {s['name']!r}; rename it")
        new_rows.append({"id": new_id, "slug": slug, "name_zh": s["name"], "name_en": "",
                         "lon": s["lon"], "lat": s["lat"], "status": t["status"],
                         "kind": "station" if rail else "junction"})
        seq.append(slug)
    new_df = pd.DataFrame(new_rows, columns=table.columns).set_index("slug", drop=False)
    pts = pd.concat([table, new_df]) if len(new_df) else table

    if rail:
        speed = t.get("speed_kmh", np.nan)
        line = {"line_id": line_id, "name_zh": t["name"], "class": t["class"],
                "operating_speed_kmh": speed, "design_speed_kmh": np.nan, "status": t["status"],
                "opened": str(t.get("opened", "") or ""), "stations": seq}
        lines = pd.concat([pd.DataFrame([line]), _context_lines(edges, table)], ignore_index=True)
        raw = emb.rail_edges(lines, pts, STATUSES)
        raw = raw[raw["source_id"] == line_id].copy()
        if "dwell_min" in t and t["dwell_min"] != settings.RAIL_DWELL_MIN:
            # The builder uses the default dwell; rescale the dwell part of each edge.
            if settings.RAIL_DWELL_MIN <= 0:
                raise InputError(f"{at}: dwell_min needs settings.RAIL_DWELL_MIN > 0")
            new_dwell = raw["dwell_s"] * (t["dwell_min"] / settings.RAIL_DWELL_MIN)
            raw["travel_time_s"] = raw["travel_time_s"] - raw["dwell_s"] + new_dwell
            raw["dwell_s"] = new_dwell
    else:
        speed = t.get("speed_kmh", settings.ROAD_SPEED_KMH[t["class"]])
        route = pd.DataFrame([{"route_id": line_id, "ref": t.get("ref") or None, "name_zh": t["name"],
                               "status": t["status"], "opened": str(t.get("opened", "") or ""),
                               "speed_kmh": float(speed), "waypoints": seq}])
        raw = emb.road_edges(route, pts, STATUSES)
        raw["class"] = t["class"]
    raw["source"] = f"scenario: {scn.name}"

    frame_nodes = _frame_nodes(pts)
    parts = [raw]
    if rail and len(new_df):
        road_ids = set(pd.concat([edges.loc[edges["mode"] == "road", "u"],
                                  edges.loc[edges["mode"] == "road", "v"]]))
        road = table[table["id"].isin(road_ids)].assign(mode="road")
        road["status"] = _node_status(nodes.set_index("id").loc[road["id"]].reset_index(), edges) \
            if len(road) else road["status"]
        cand = pd.concat([new_df.assign(mode="rail"), road])
        cand = cand.rename(columns={"name_zh": "name"})
        transfers, _missing = emb.transfer_edges(cand.reset_index(drop=True), STATUSES)
        if len(transfers):
            transfers["source"] = f"scenario: {scn.name}"
            parts.append(transfers)
    raw_all = pd.concat(parts, ignore_index=True)
    _, e_gdf = emb.edge_frames(frame_nodes, raw_all)
    e_gdf = e_gdf[[c for c in e_gdf.columns if c in edges.columns or c in ("u", "v", "key")]]

    new_nodes = _new_nodes(new_df, nodes, t, rail)
    if len(new_nodes):
        nodes = gpd.GeoDataFrame(pd.concat([nodes, new_nodes], ignore_index=True),
                                 geometry=nodes.geometry.name, crs=nodes.crs)
    return nodes, gpd.GeoDataFrame(e_gdf, geometry="geometry", crs=edges.crs), new_nodes


def _context_lines(edges: gpd.GeoDataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """The base's other rail lines, as the builder's line table needs them to count lines per station.

    The builder runs express services between *major* stations (served by two or more
    lines at a status level); it counts from its line table. Each base line is given
    as one pseudo-line per status level at which it starts serving a set of stations.
    Their own edges are discarded.
    """
    rank = {s: i for i, s in enumerate(STATUSES)}
    rail = edges[(edges["mode"] == "rail") & edges["line"].notna()]
    if rail.empty:
        return pd.DataFrame()
    slug_of = pd.Series(table.index.to_numpy(), index=table["id"].to_numpy())
    at = pd.DataFrame({"line": pd.concat([rail["line"], rail["line"]]).to_numpy(),
                       "node": pd.concat([rail["u"], rail["v"]]).to_numpy(),
                       "r": np.tile(rail["status"].map(rank).to_numpy(), 2)})
    first = at.groupby(["line", "node"])["r"].min().reset_index()
    rows = []
    for (line, r), grp in first.groupby(["line", "r"]):
        rows.append({"line_id": f"~context~{line}~{r}", "name_zh": line, "class": "conventional",
                     "operating_speed_kmh": np.nan, "design_speed_kmh": np.nan,
                     "status": STATUSES[int(r)], "opened": "",
                     "stations": slug_of.loc[grp["node"]].tolist()})
    return pd.DataFrame(rows)


def _frame_nodes(pts: pd.DataFrame) -> pd.DataFrame:
    """The node table ``embedded.edge_frames`` expects, for the ids and positions of ``pts``."""
    df = pts.reset_index(drop=True).rename(columns={"name_zh": "name", "id": "node_id"})
    for col in ("county_adcode", "precision_m", "opened", "lines", "mode"):
        df[col] = None
    return df


def _new_nodes(new_df: pd.DataFrame, nodes: gpd.GeoDataFrame, t: dict, rail: bool) -> gpd.GeoDataFrame:
    if new_df.empty:
        return nodes.iloc[0:0].copy()
    rows = pd.DataFrame({"id": new_df["id"].astype(np.int64).to_numpy(), "kind": new_df["kind"].to_numpy(),
                         "name": new_df["name_zh"].to_numpy()})
    extra = {"slug": new_df["slug"].to_numpy(), "status": t["status"], "mode": "rail" if rail else "road",
             "lines": t["name"] if rail else (t.get("ref") or t["name"]), "name_en": ""}
    for col, val in extra.items():
        if col in nodes.columns:
            rows[col] = val
    return gpd.GeoDataFrame(rows, geometry=gpd.points_from_xy(new_df["lon"], new_df["lat"]), crs=nodes.crs)


def _follow_status(nodes: gpd.GeoDataFrame, edges: gpd.GeoDataFrame, mask: np.ndarray
                   ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, np.ndarray]:
    """After a status switch: touched nodes take their edges' best status; transfers follow."""
    rank = {s: i for i, s in enumerate(STATUSES)}
    touched = set(edges.loc[mask, "u"]) | set(edges.loc[mask, "v"])
    routable = ~edges["mode"].isin(("transfer", "access"))
    e = edges[routable & (edges["u"].isin(touched) | edges["v"].isin(touched))]
    r = pd.concat([e["u"], e["v"]]).to_frame("n").assign(r=np.tile(e["status"].map(rank).to_numpy(), 2))
    best = r[r["n"].isin(touched)].groupby("n")["r"].min()
    nodes = nodes.copy()
    status = pd.Series(_node_status(nodes, edges), index=nodes["id"].to_numpy())
    for nid, rr in best.items():
        status.loc[nid] = STATUSES[int(rr)]
    if "status" in nodes.columns:
        nodes["status"] = status.loc[nodes["id"]].to_numpy()
    tr = (edges["mode"] == "transfer") & (edges["u"].isin(touched) | edges["v"].isin(touched))
    new = [STATUSES[max(rank[status.loc[u]], rank[status.loc[v]])]
           for u, v in zip(edges.loc[tr, "u"], edges.loc[tr, "v"], strict=True)]
    idx = edges.index[tr]
    changed = np.zeros(len(edges), dtype=bool)
    if len(idx):
        differs = edges.loc[idx, "status"].to_numpy() != np.array(new, dtype=object)
        edges = edges.copy()
        edges.loc[idx, "status"] = new
        changed[np.asarray(idx)[differs]] = True
    return nodes, edges, changed


def _travel_times(e: pd.DataFrame) -> np.ndarray:
    """Travel time of edges after a speed change: the builder's rail run time, else length/speed."""
    from ..network.embedded import rail_run_time_s

    dwell = e["dwell_s"].fillna(0.0).to_numpy(float) if "dwell_s" in e.columns else np.zeros(len(e))
    length = e["length_m"].to_numpy(float)
    speed = e["speed_kmh"].to_numpy(float)
    rail = (e["mode"] == "rail").to_numpy()
    t = length / (speed / 3.6)
    if rail.any():
        t[rail] = [rail_run_time_s(L, s) for L, s in zip(length[rail], speed[rail], strict=True)]
    return t + dwell


# --- change records (for maps) ------------------------------------------------------------

def _edge_changes(rows: gpd.GeoDataFrame, action: str, t: dict, base_rows: gpd.GeoDataFrame | None = None,
                  note: str | None = None) -> list[dict]:
    out = []
    before = base_rows.to_dict("records") if base_rows is not None else None
    table = t["_at"].rsplit(": ", 1)[-1]
    for i, r in enumerate(rows.to_dict("records")):
        b = before[i] if before is not None else None
        gone = action == "removed"
        out.append({
            "element": "edge", "action": action, "table": table,
            "u": int(r["u"]), "v": int(r["v"]), "key": int(r["key"]), "node_id": None,
            "mode": r["mode"], "class": r["class"], "name": r["name"], "line": r["line"], "ref": r["ref"],
            "status_before": r["status"] if gone else (b["status"] if b else None),
            "status_after": None if gone else r["status"],
            "speed_before": r["speed_kmh"] if gone else (b["speed_kmh"] if b else None),
            "speed_after": None if gone else r["speed_kmh"],
            "time_s_before": r["travel_time_s"] if gone else (b["travel_time_s"] if b else None),
            "time_s_after": None if gone else r["travel_time_s"],
            "mass_before": None, "mass_after": None, "note": note, "geometry": r["geometry"],
        })
    return out


def _node_change(r: pd.Series, action: str, t: dict, mass_before=None, mass_after=None,
                 note: str | None = None) -> dict:
    return {"element": "node", "action": action, "table": t["_at"].rsplit(": ", 1)[-1],
            "u": None, "v": None, "key": None, "node_id": str(r["id"]), "mode": r.get("mode"),
            "class": r.get("kind"), "name": r.get("name", r.get("name_zh")), "line": r.get("lines"),
            "ref": None, "status_before": None, "status_after": r.get("status"),
            "speed_before": None, "speed_after": None, "time_s_before": None, "time_s_after": None,
            "mass_before": mass_before, "mass_after": mass_after, "note": note, "geometry": r.geometry}


CHANGE_COLUMNS = ("element", "action", "table", "u", "v", "key", "node_id", "mode", "class", "name",
                  "line", "ref", "status_before", "status_after", "speed_before", "speed_after",
                  "time_s_before", "time_s_after", "mass_before", "mass_after", "note")


def _changes_frame(rows: list[dict]) -> gpd.GeoDataFrame:
    df = pd.DataFrame(rows, columns=[*CHANGE_COLUMNS, "geometry"])
    for c in ("u", "v", "key"):
        df[c] = df[c].astype("Int64")
    for c in ("speed_before", "speed_after", "time_s_before", "time_s_after", "mass_before", "mass_after"):
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return gpd.GeoDataFrame(df, geometry="geometry", crs=settings.WGS84)


# --- node table ------------------------------------------------------------------------------

def default_nodes() -> gpd.GeoDataFrame:
    """The node table of node strength: located gazetteer places of the default kinds."""
    from ..layers.gazetteer import select_places
    from .node_strength import DEFAULT_KINDS, prepare_nodes

    return prepare_nodes(select_places(kinds=tuple(DEFAULT_KINDS)))


def apply_node_edits(edits: list[dict], nodes: gpd.GeoDataFrame, scn_name: str = "scenario"
                     ) -> tuple[gpd.GeoDataFrame, list[dict]]:
    """Apply [[node]] tables to a node table: columns ``mass_set`` and ``mass_factor``, new rows.

    A name is looked up among the nodes (id, name_zh, name_en), then in the whole
    gazetteer (a place of another kind joins the table), else it needs lon/lat.
    """
    nodes = nodes.copy()
    nodes["mass_set"] = np.nan
    nodes["mass_factor"] = 1.0
    records = []
    gaz = None
    for t in edits:
        at, name = t["_at"], t["name"]
        hit = _find_node(nodes, name, t.get("id"))
        if hit is None:
            if gaz is None:
                from ..layers.gazetteer import load_gazetteer
                from .node_strength import prepare_nodes

                gaz = prepare_nodes(load_gazetteer(located_only=True))
            g = _find_node(gaz, name, t.get("id"))
            if g is not None:
                row = gaz.iloc[[g]].copy()
            elif "lon" in t:
                nid = t.get("id") or "scenario_" + hashlib.blake2b(f"{scn_name}:{name}".encode(),
                                                                   digest_size=6).hexdigest()
                row = gpd.GeoDataFrame({"id": [str(nid)], "name_zh": [name], "kind": [t.get("kind", "park")],
                                        "status": ["planned"]},
                                       geometry=gpd.points_from_xy([t["lon"]], [t["lat"]]), crs=settings.WGS84)
            else:
                cands = list(nodes["name_zh"]) + list(gaz["name_zh"])
                raise InputError(f"{at}: no node {name!r} in the node table or the gazetteer; give lon "
                                 "and lat to add it" + _close(name, cands))
            if "kind" in t:
                row["kind"] = t["kind"]
            row["mass_set"] = t.get("mass", np.nan)
            row["mass_factor"] = t.get("mass_factor", 1.0)
            row["scenario_added"] = True
            nodes = gpd.GeoDataFrame(pd.concat([nodes, row], ignore_index=True), geometry="geometry",
                                     crs=settings.WGS84)
            records.append({"table": at, "node": str(row["id"].iloc[0]), "name": name, "action": "node_added",
                            "mass": t.get("mass"), "mass_factor": t.get("mass_factor"),
                            "from": "gazetteer" if g is not None else "lon/lat"})
            continue
        if "lon" in t:
            g = nodes.geometry.iloc[hit]
            d = float(geodesic_m(g.x, g.y, t["lon"], t["lat"]))
            if d > MATCH_TOLERANCE_M:
                raise InputError(f"{at}: node {name!r} exists {d / 1000:.1f} km from the given position; "
                                 "use another name for a new node, or drop lon/lat")
        if "mass" not in t and "mass_factor" not in t:
            raise InputError(f"{at}: node {name!r} exists; give mass or mass_factor to change it")
        nodes.loc[nodes.index[hit], "mass_set"] = t.get("mass", np.nan)
        nodes.loc[nodes.index[hit], "mass_factor"] = t.get("mass_factor", 1.0)
        records.append({"table": at, "node": str(nodes["id"].iloc[hit]), "name": name, "action": "mass_changed",
                        "mass": t.get("mass"), "mass_factor": t.get("mass_factor")})
    if "scenario_added" in nodes.columns:
        nodes["scenario_added"] = nodes["scenario_added"].fillna(False).astype(bool)
    return nodes.reset_index(drop=True), records


def _find_node(nodes: gpd.GeoDataFrame, name: str, nid=None) -> int | None:
    if nid is not None:
        hit = np.flatnonzero(nodes["id"].astype(str).to_numpy() == str(nid))
        return int(hit[0]) if len(hit) else None
    for col in ("id", "name_zh", "name_en", "name"):
        if col in nodes.columns:
            hit = np.flatnonzero(nodes[col].astype(str).to_numpy() == name)
            if len(hit) == 1:
                return int(hit[0])
            if len(hit) > 1:
                raise InputError(f"node name {name!r} is ambiguous ({', '.join(nodes['id'].iloc[hit][:5])}); "
                                 "give id = ...")
    return None


# --- running -------------------------------------------------------------------------------

@dataclass
class RunOptions:
    """What both sides of a scenario are measured with (identical for base and scenario)."""

    origins: str | gpd.GeoDataFrame = DEFAULT_ORIGINS
    destinations: str | gpd.GeoDataFrame = DEFAULT_DESTINATIONS
    metrics: str | Sequence[str] = DEFAULT_METRICS
    mass_col: str | None = None
    population: str | Path | None = None
    node_strength: bool = True
    nodes: gpd.GeoDataFrame | None = None
    accessibility_kw: dict = field(default_factory=dict)
    node_strength_kw: dict = field(default_factory=dict)


def measure(network: Network, opts: RunOptions, destinations: gpd.GeoDataFrame,
            nodes: gpd.GeoDataFrame | None, snap_base: Network | None = None
            ) -> tuple[dict, list[tuple[str, type]]]:
    """Accessibility (and node strength) of one network; also returns the warnings raised.

    Runs in a Dask worker when scenarios run in parallel: warnings are captured and
    handed back so the caller can re-issue them.
    """
    from .accessibility import accessibility

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        # The scenario joins points to the network through the base's access links plus
        # the new nodes, so deltas come from the network change alone (routing.snap_like).
        acc = accessibility(network, opts.origins, destinations, opts.metrics, mass_col=opts.mass_col,
                            population=opts.population, snap_base=snap_base, **opts.accessibility_kw)
        ns = None
        if nodes is not None:
            ns = _node_strength(network, nodes, opts, snap_base)
    return {"access": acc, "node_strength": ns}, [(str(w.message), w.category) for w in caught]


def _node_strength(network: Network, nodes: gpd.GeoDataFrame, opts: RunOptions,
                   snap_base: Network | None = None):
    from .node_strength import node_mass, node_strength

    mass, info = node_mass(nodes, network)
    mass = np.where(nodes["mass_set"].notna(), nodes["mass_set"].to_numpy(float), mass)
    mass = mass * nodes["mass_factor"].to_numpy(float)
    edited = nodes["mass_set"].notna() | (nodes["mass_factor"] != 1.0)
    res = node_strength(network, nodes.assign(scenario_mass=mass), mass_col="scenario_mass",
                        snap_base=snap_base, **opts.node_strength_kw)
    label = info["source"] + ("; scenario edits of some masses" if edited.any() else "")
    res.table["mass_source"] = label
    res.meta["mass"] = {"source": label, "column": None, "is_proxy": True}
    return res


@dataclass
class ScenarioResult:
    """Everything a finished scenario wrote, in memory."""

    applied: Applied
    delta: gpd.GeoDataFrame
    node_delta: pd.DataFrame | None
    by_county: pd.DataFrame
    summary: str
    meta: dict
    out_dir: Path | None = None


def run_scenario(spec: str | Path | Scenario, out_dir: str | Path | None, *,
                 origins: str | gpd.GeoDataFrame = DEFAULT_ORIGINS,
                 destinations: str | gpd.GeoDataFrame = DEFAULT_DESTINATIONS,
                 metrics: str | Sequence[str] = DEFAULT_METRICS,
                 mass_col: str | None = None, population: str | Path | None = None,
                 base: Network | None = None, node_strength: bool = True,
                 nodes: gpd.GeoDataFrame | None = None, workers: int | None = None,
                 scheduler: str | None = None, accessibility_kw: dict | None = None,
                 node_strength_kw: dict | None = None) -> ScenarioResult:
    """Run base and scenario with the same origins, destinations and measures; write ``out_dir``.

    ``spec``: a scenario file or a parsed :class:`Scenario`. ``base``: a Network to use
    instead of the file's ``base``. ``nodes``: node-strength table (default: gazetteer
    parks and hubs). ``workers``/``scheduler``: measure base and scenario side by side
    on a Dask cluster. Outputs: see :data:`OUTPUTS`. ``out_dir=None`` writes nothing.
    """
    opts = RunOptions(origins=origins, destinations=destinations, metrics=metrics, mass_col=mass_col,
                      population=population, node_strength=node_strength, nodes=nodes,
                      accessibility_kw=dict(accessibility_kw or {}),
                      node_strength_kw=dict(node_strength_kw or {}))
    return run_scenarios([spec], [out_dir], opts=opts, base=base, workers=workers, scheduler=scheduler)[0]


def run_scenarios(specs: Sequence[str | Path | Scenario], out_dirs: Sequence[str | Path | None], *,
                  opts: RunOptions | None = None, base: Network | None = None,
                  workers: int | None = None, scheduler: str | None = None) -> list[ScenarioResult]:
    """Run several scenarios; each distinct base is measured once. Every file is read and
    applied before anything is measured, so a bad file stops the run before any work."""
    from .origins import load_destinations

    opts = opts or RunOptions()
    if len(specs) != len(out_dirs):
        raise InputError("run_scenarios: one output folder per scenario")
    scns = [s if isinstance(s, Scenario) else read_scenario(s) for s in specs]
    bases: dict[str, Network] = {}
    applied = []
    for scn in scns:
        key = "given" if base is not None else _base_key(scn)
        if key not in bases:
            bases[key] = base if base is not None else load_base(scn.base, scn.path.parent if scn.path else None)
        applied.append((key, apply_scenario(scn, bases[key])))

    dest = load_destinations(opts.destinations, mass_col=opts.mass_col)
    node_table = None
    if opts.node_strength:
        node_table = opts.nodes if opts.nodes is not None else default_nodes()
    jobs: dict[str, tuple] = {}
    per_scn = []
    for key, ap in applied:
        jobs.setdefault(f"base:{key}", (bases[key], dest, _base_nodes(node_table), None))
        nodes_s, records = (None, [])
        if node_table is not None:
            nodes_s, records = apply_node_edits(ap.node_edits, _base_nodes(node_table), ap.scenario.name)
        dest_s = _scenario_destinations(dest, nodes_s, opts)
        jkey = f"scn:{len(per_scn)}"
        jobs[jkey] = (ap.network, dest_s, nodes_s, ap.base)
        per_scn.append((key, ap, jkey, records))

    results = _run_jobs(jobs, opts, workers, scheduler)
    out = []
    for (key, ap, jkey, records), out_dir in zip(per_scn, out_dirs, strict=True):
        origins = results[f"base:{key}"]["access"].origins
        changed = access_changed(ap.base, ap.network, origins["lon"].to_numpy(float),
                                 origins["lat"].to_numpy(float), opts.accessibility_kw)
        res = _assemble(ap, results[f"base:{key}"], results[jkey], records, opts, changed)
        if out_dir is not None:
            res.out_dir = write_result(res, out_dir)
        out.append(res)
    return out


def _base_key(scn: Scenario) -> str:
    if scn.base.lower() == "embedded":
        return "embedded"
    p = Path(scn.base)
    if not p.is_absolute() and scn.path is not None and (scn.path.parent / p).exists():
        p = scn.path.parent / p
    return str(p.resolve())


def _base_nodes(nodes: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    if nodes is None:
        return None
    out = nodes.copy()
    out["mass_set"] = np.nan
    out["mass_factor"] = 1.0
    return out


def _scenario_destinations(dest: gpd.GeoDataFrame, nodes: gpd.GeoDataFrame | None,
                           opts: RunOptions) -> gpd.GeoDataFrame:
    """Destinations of the scenario: the base's, plus new nodes of a destination kind;
    with a destination mass column, node mass edits apply to it too."""
    from .origins import HUB_KINDS, PARK_KINDS

    if nodes is None or "scenario_added" not in nodes.columns:
        return dest
    spec = opts.destinations if isinstance(opts.destinations, str) else None
    kinds = {"parks": PARK_KINDS, "hubs": HUB_KINDS}.get(spec) if spec != "gazetteer" else None
    new = nodes[nodes["scenario_added"] & ~nodes["id"].isin(dest["id"])]
    if kinds is not None:
        new = new[new["kind"].isin(kinds)]
    if new.empty:
        return dest
    add = gpd.GeoDataFrame({"id": new["id"].astype(str).to_numpy(), "name_zh": new["name_zh"].to_numpy(),
                            "kind": new["kind"].to_numpy()}, geometry=new.geometry.to_numpy(), crs=settings.WGS84)
    add["lon"], add["lat"] = add.geometry.x, add.geometry.y
    mass = new["mass_set"].fillna(1.0).to_numpy(float) * new["mass_factor"].to_numpy(float)
    add["mass"] = mass if opts.mass_col else 1.0
    if opts.mass_col:
        add[opts.mass_col] = mass
    out = pd.concat([dest, add], ignore_index=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=settings.WGS84)


def _run_jobs(jobs: dict[str, tuple], opts: RunOptions, workers, scheduler) -> dict[str, dict]:
    """Measure every network: in this process, or as tasks on a Dask cluster."""
    results: dict[str, dict] = {}
    if workers or scheduler:
        from .distributed import client_for

        with client_for(workers, scheduler) as client:
            futures = {k: client.submit(measure, net, opts, dest, nodes, base, pure=False)
                       for k, (net, dest, nodes, base) in jobs.items()}
            done = {k: f.result() for k, f in futures.items()}
    else:
        done = {k: measure(net, opts, dest, nodes, base) for k, (net, dest, nodes, base) in jobs.items()}
    for k, (res, caught) in done.items():
        side = "base" if k.startswith("base") else "scenario"
        for msg, cat in caught:
            warnings.warn(f"{side}: {msg}", cat, stacklevel=2)
        results[k] = res
    return results


# --- assembling ------------------------------------------------------------------------------

def access_changed(base: Network, scn: Network, lon: np.ndarray, lat: np.ndarray,
                   accessibility_kw: dict | None = None) -> np.ndarray:
    """Whether each point gains a direct access link to a node the scenario adds.

    Scenario runs keep every point's base access links and offer the scenario's new
    streets and entry nodes as extra links (snap.snap_like); this marks the points that
    can join a new station, junction or street directly, for maps and summaries.
    """
    from .snap import snap_like

    kw = accessibility_kw or {}
    sel = {"modes": kw.get("modes"), "statuses": kw.get("statuses", ("operating",))}
    g_base, g_scn = base.csr(**sel), scn.csr(**sel)
    sn = snap_like(g_scn, g_base, np.asarray(lon, float), np.asarray(lat, float), dict(scn.meta["access"]))
    added = ~np.isin(g_scn.node_ids, g_base.node_ids)
    nodes = np.hstack([sn.out_nodes, sn.in_nodes])
    links = (nodes >= 0) & np.isfinite(np.hstack([sn.out_s, sn.in_s]))
    return (links & added[np.maximum(nodes, 0)]).any(axis=1)


def _assemble(ap: Applied, base: dict, scn: dict, node_records: list[dict], opts: RunOptions,
              changed_access: np.ndarray | None = None) -> ScenarioResult:
    a, b = base["access"], scn["access"]
    if not a.origins["id"].astype(str).equals(b.origins["id"].astype(str)):
        raise InputError("base and scenario runs have different origins; give a fixed origins set")
    cols = list(a.metric_columns)
    keep = [c for c in ("id", "name", "name_zh", "lon", "lat", "area_m2", "population") if c in a.origins.columns]
    delta = a.origins[keep].copy()
    for c in cols:
        va, vb = a.origins[c].to_numpy(float), b.origins[c].to_numpy(float)
        delta[f"{c}_base"] = va
        delta[f"{c}_scenario"] = vb
        delta[f"{c}_delta"] = vb - va
    if "nearest_id" in a.origins.columns:
        delta["nearest_id_base"] = a.origins["nearest_id"].to_numpy()
        delta["nearest_id_scenario"] = b.origins["nearest_id"].to_numpy()
    if changed_access is not None:
        delta["access_changed"] = changed_access
    delta = gpd.GeoDataFrame(delta, geometry=a.origins.geometry.to_numpy(), crs=settings.WGS84)
    delta.attrs.update(a.origins.attrs)

    pop = delta["population"].to_numpy(float) if "population" in delta.columns else None
    by_county = county_table(delta, cols, pop)
    node_delta = None
    if base["node_strength"] is not None and scn["node_strength"] is not None:
        node_delta = node_strength_delta(base["node_strength"].table, scn["node_strength"].table)
    changes = ap.changes
    if node_records:
        rows = [_node_record_change(r, scn.get("node_strength")) for r in node_records]
        changes = pd.concat([changes, _changes_frame(rows)], ignore_index=True)
        changes = gpd.GeoDataFrame(changes, geometry="geometry", crs=settings.WGS84)
    ap.changes = changes
    meta = _meta(ap, opts, a, b, cols, node_records)
    text = summary_markdown(ap, delta, by_county, node_delta, cols, meta)
    return ScenarioResult(ap, delta, node_delta, by_county, text, meta)


def _node_record_change(rec: dict, ns) -> dict:
    geom, mass_after, mass_before, kind = None, None, None, None
    if ns is not None:
        t = ns.table.set_index("id")
        if rec["node"] in t.index:
            geom = t.geometry.loc[rec["node"]]
            mass_after = float(t["mass"].loc[rec["node"]])
            kind = t["kind"].loc[rec["node"]] if "kind" in t.columns else None
            if rec.get("mass_factor"):
                mass_before = mass_after / rec["mass_factor"]
    return {"element": "node", "action": rec["action"], "table": rec["table"].rsplit(": ", 1)[-1],
            "u": None, "v": None, "key": None, "node_id": rec["node"], "mode": None, "class": kind,
            "name": rec["name"], "line": None, "ref": None, "status_before": None, "status_after": None,
            "speed_before": None, "speed_after": None, "time_s_before": None, "time_s_after": None,
            "mass_before": mass_before, "mass_after": mass_after,
            "note": None if rec.get("mass_factor") is None else f"mass x {rec['mass_factor']:g}",
            "geometry": geom}


def node_strength_delta(base: gpd.GeoDataFrame, scn: gpd.GeoDataFrame) -> pd.DataFrame:
    """Ranks, composite index and gravity strength before and after, per node."""
    cols = ["mass", "composite_index", "gravity_strength", "rank", "tier"]
    a = base.set_index("id")
    b = scn.set_index("id")
    ids = list(dict.fromkeys(list(b.index) + list(a.index)))
    out = pd.DataFrame({"id": ids})
    info = b.reindex(ids).combine_first(a.reindex(ids))
    out["name_zh"] = info["name_zh"].to_numpy()
    if "kind" in info.columns:
        out["kind"] = info["kind"].to_numpy()
    out["lon"] = [round(g.x, 6) for g in info.geometry]
    out["lat"] = [round(g.y, 6) for g in info.geometry]
    for c in cols:
        out[f"{c}_base"] = a[c].reindex(ids).to_numpy()
        out[f"{c}_scenario"] = b[c].reindex(ids).to_numpy()
    for c in ("mass", "composite_index", "gravity_strength"):
        out[f"{c}_delta"] = out[f"{c}_scenario"].astype(float) - out[f"{c}_base"].astype(float)
    # Positive: the node moved up the ranking (rank 5 -> 3 is +2).
    out["rank_change"] = out["rank_base"].astype(float) - out["rank_scenario"].astype(float)
    out["in_base"] = out["rank_base"].notna()
    out["in_scenario"] = out["rank_scenario"].notna()
    for c in ("rank_base", "rank_scenario", "rank_change"):
        out[c] = out[c].astype("Int64")
    return out.sort_values(["rank_scenario", "id"], na_position="last", kind="stable").reset_index(drop=True)


def county_table(delta: gpd.GeoDataFrame, cols: list[str], pop: np.ndarray | None) -> pd.DataFrame:
    """Per county and measure: origins, mean/median change (pop-weighted when known), gains."""
    from ..layers.admin import county_of
    from .accessibility import summarise_by_county

    dcols = [f"{c}_delta" for c in cols]
    table = summarise_by_county(delta, dcols, pop)
    codes = county_of(gpd.GeoSeries(gpd.points_from_xy(delta["lon"], delta["lat"]), crs=settings.WGS84))
    codes = np.where(pd.isna(codes), "outside", codes).astype(object)
    extra = []
    for code in sorted(set(codes)):
        sel = codes == code
        for c in cols:
            d = delta[f"{c}_delta"].to_numpy(float)[sel]
            b = delta[f"{c}_base"].to_numpy(float)[sel]
            gain, loss = _gain_loss(c, d, b)
            ok = np.isfinite(d) & np.isfinite(b)
            best = (d[ok].min() if _lower_better(c) else d[ok].max()) if ok.any() else np.nan
            # Relative change of the county's total (sums) or mean (times), in percent.
            rel = 100.0 * d[ok].sum() / b[ok].sum() if ok.any() and b[ok].sum() != 0 else np.nan
            extra.append({"county_adcode": code, "metric": f"{c}_delta", "gaining": int(gain.sum()),
                          "losing": int(loss.sum()), "best_change": float(best),
                          "base_mean": float(b[ok].mean()) if ok.any() else np.nan,
                          "change_pct": float(rel)})
    out = table.merge(pd.DataFrame(extra), on=["county_adcode", "metric"], how="left")
    return out


def _access_note(delta: gpd.GeoDataFrame, gain: np.ndarray, loss: np.ndarray) -> str:
    """How many of the gaining origins can reach a new node directly."""
    if "access_changed" not in delta.columns:
        return ""
    acc = delta["access_changed"].to_numpy(bool)
    n = int((gain & acc).sum())
    if not n:
        return ""
    return (f" ({n} of the {int(gain.sum())} gaining origins reach a new station or junction directly; "
            "every origin keeps its base access links, so the changes come from the network alone)")


def _lower_better(measure_name: str) -> bool:
    return measure_name in LOWER_IS_BETTER or measure_name.endswith("_time_min")


def _gain_loss(c: str, d: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if _lower_better(c):
        tol = TIME_TOLERANCE_MIN
        return d < -tol, d > tol
    tol = 1e-6 * np.maximum(np.abs(base), 1e-9)
    return d > tol, d < -tol


# --- writing ---------------------------------------------------------------------------------

def write_result(res: ScenarioResult, out_dir: str | Path) -> Path:
    """Write every product of a scenario into ``out_dir`` at once (all or nothing)."""
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        for name in (*OUTPUTS, "node_strength_delta.csv"):
            (tmp / name).unlink(missing_ok=True)
        write_geoparquet(res.delta, tmp / "delta.parquet")
        if res.node_delta is not None:
            write_csv(res.node_delta, tmp / "node_strength_delta.csv")
        write_geoparquet(res.applied.changes, tmp / "changed.parquet")
        write_csv(res.by_county, tmp / "summary_by_county.csv")
        with atomic_path(tmp / "summary.md") as p:
            p.write_text(res.summary, encoding="utf-8")
        files = sorted(p.name for p in tmp.iterdir() if p.is_file()) + ["meta.json"]
        write_json(dict(res.meta, outputs=sorted(set(files))), tmp / "meta.json")
    return out_dir


def _meta(ap: Applied, opts: RunOptions, a, b, cols: list[str], node_records: list[dict]) -> dict:
    scn = ap.scenario
    ch = ap.changes
    return {
        "software_version": __version__,
        "scenario": {"name": scn.name, "file": str(scn.path) if scn.path else None, "sha256": scn.sha256,
                     "base": scn.base, "description": scn.description, "sources": scn.sources,
                     "reading": scn.reading, "datum_of_positions": scn.datum},
        "applied": ap.resolved,
        "node_edits": node_records,
        "changes": {f"{e}:{x}": int(n) for (e, x), n in ch.groupby(["element", "action"]).size().items()},
        "measures": cols,
        "delta": "scenario - base; for *_time_min lower is better (negative = gain)",
        "origins": opts.origins if isinstance(opts.origins, str) else "GeoDataFrame",
        "destinations": opts.destinations if isinstance(opts.destinations, str) else "GeoDataFrame",
        "destinations_count": {"base": int(a.counts["destinations"]), "scenario": int(b.counts["destinations"])},
        "population": str(opts.population) if opts.population else None,
        "accessibility": {"base": {"counts": a.counts}, "scenario": {"counts": b.counts},
                          "params": a.params},
        "network": {"base": ap.base.counts(), "scenario": ap.network.counts(),
                    "warning": ap.base.meta.get("warning")},
        "tolerance": {"time_min": TIME_TOLERANCE_MIN, "sums_relative": 1e-6},
    }


def _fmt(v: float, digits: int = 1) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    return f"{v:+.{digits}f}"


def summary_markdown(ap: Applied, delta: gpd.GeoDataFrame, by_county: pd.DataFrame,
                     node_delta: pd.DataFrame | None, cols: list[str], meta: dict) -> str:
    """A plain-language summary for planners: what changed, who gains, how much, by county."""
    scn = ap.scenario
    inverse = scn.reading == "inverse"
    lines = [f"# 情景 Scenario: {scn.name}", ""]
    if scn.description:
        lines += [scn.description, ""]
    if scn.sources:
        lines += ["**Sources / 依据:**", ""] + [f"- {s}" for s in scn.sources] + [""]
    if inverse:
        lines += ["> **Read this scenario the other way round.** It takes out something the base "
                  "network has. Every loss below is what that element brings today, and every "
                  "gain is what it costs.", ""]
    lines += ["## What the scenario changes", ""]
    for r in meta["applied"]:
        extra = ", ".join(f"{k} {v}" for k, v in r.items() if k not in ("table", "resolved") and v not in (None, []))
        lines.append(f"- {r['table'].rsplit(': ', 1)[-1]}: {r['resolved']} ({extra})")
    for r in meta["node_edits"]:
        how = f"mass {r['mass']:g}" if r.get("mass") else (
            f"mass x {r['mass_factor']:g}" if r.get("mass_factor") else "default mass")
        lines.append(f"- {r['table'].rsplit(': ', 1)[-1]}: {r['action'].replace('_', ' ')} {r['name']} ({how})")
    lines.append("")
    n = len(delta)
    weighted = "population" in delta.columns
    pop = delta["population"].to_numpy(float) if weighted else None
    lines += ["## Who gains and how much", ""]
    for c in cols:
        d = delta[f"{c}_delta"].to_numpy(float)
        base = delta[f"{c}_base"].to_numpy(float)
        gain, loss = _gain_loss(c, d, base)
        lower = _lower_better(c)
        unit = "min" if lower else ""
        if lower:
            saved = -d[gain]
            text = (f"**{c}** ({'travel time to the nearest destination' if c == 'nearest_time_min' else c}): "
                    f"{int(gain.sum())} of {n} origins get faster by more than {TIME_TOLERANCE_MIN:g} min "
                    f"(mean {np.mean(saved):.1f} min, largest {np.max(saved):.1f} min)" if gain.any()
                    else f"**{c}**: no origin gets faster by more than {TIME_TOLERANCE_MIN:g} min")
            if loss.any():
                text += f"; {int(loss.sum())} get slower (up to {np.nanmax(d[loss]):.1f} min)"
            text += _access_note(delta, gain, loss)
        else:
            rel = np.where(base > 0, d / np.where(base > 0, base, 1.0), np.nan)
            text = (f"**{c}**: {int(gain.sum())} of {n} origins gain (median +{np.nanmedian(rel[gain]) * 100:.1f} %, "
                    f"largest +{np.nanmax(rel[gain]) * 100:.1f} %)" if gain.any()
                    else f"**{c}**: no origin gains")
            if loss.any():
                text += f"; {int(loss.sum())} lose"
            text += _access_note(delta, gain, loss)
        if weighted and np.nansum(pop) > 0:
            w = np.nan_to_num(pop)
            ok = np.isfinite(d)
            share = w[gain].sum() / w.sum() * 100.0
            mean = (d[ok] * w[ok]).sum() / w[ok].sum() if w[ok].sum() > 0 else np.nan
            text += (f". {share:.0f} % of the population lives in gaining origins; the population-weighted "
                     f"mean change is {_fmt(mean, 2)} {unit}")
        lines += [text + ".", ""]
        sub = by_county[by_county["metric"] == f"{c}_delta"].copy()
        key = "pop_weighted_mean" if "pop_weighted_mean" in sub.columns else "mean"
        if not lower:
            key = "change_pct"  # sums differ in scale between counties: compare relative gains
        sub = sub[sub["gaining"] > 0].sort_values(key, ascending=lower).head(12)
        if len(sub):
            hdr = {"pop_weighted_mean": "population-weighted mean change", "mean": "mean change",
                   "change_pct": "change of the county total"}[key]
            u = "%" if key == "change_pct" else unit
            lines += [f"Counties that gain most ({c}, {hdr}):", "",
                      f"| county | city | origins gaining | {hdr} ({u}) | best change at one origin {unit} |",
                      "| --- | --- | ---: | ---: | ---: |"]
            for r in sub.itertuples(index=False):
                lines.append(f"| {r.county_name} | {r.city_name or ''} | {r.gaining} / {r.origins} | "
                             f"{_fmt(getattr(r, key), 2 if key != 'change_pct' else 1)} | "
                             f"{_fmt(r.best_change, 2)} |")
            lines.append("")
    if node_delta is not None:
        moved = node_delta[node_delta["rank_change"].fillna(0) != 0]
        added = node_delta[~node_delta["in_base"]]
        lines += ["## Node strength (节点)", ""]
        if moved.empty and added.empty:
            lines += ["No node changes rank.", ""]
        else:
            top = moved.reindex(moved["rank_change"].abs().sort_values(ascending=False).index).head(10)
            lines += ["| node | rank before | rank after | composite index before → after |",
                      "| --- | ---: | ---: | --- |"]
            for r in pd.concat([added, top]).itertuples(index=False):
                before = "–" if pd.isna(r.rank_base) else str(r.rank_base)
                lines.append(f"| {r.name_zh} | {before} | {r.rank_scenario} | "
                             f"{r.composite_index_base if pd.notna(r.composite_index_base) else float('nan'):.1f} → "
                             f"{r.composite_index_scenario:.1f} |")
            lines.append("")
    lines += ["## How to read this", "",
              "- Changes are scenario minus base, per origin, with the same origins, destinations and "
              "measures on both sides. For travel times a negative change is a gain.",
              f"- Origins: {meta['origins']}; destinations: {meta['destinations']} "
              f"({meta['destinations_count']['base']} in the base, {meta['destinations_count']['scenario']} "
              "in the scenario).",
              "- Node ranks: 1 is the strongest node; a positive rank change means the node moves up.",
              ]
    if ap.base.meta.get("warning"):
        lines.append(f"- Network: {ap.base.meta['warning']}")
    if not weighted:
        lines.append("- No population raster was given: counties are compared by plain means over "
                     "origins (give --population for population-weighted figures).")
    lines.append("")
    return "\n".join(lines)


# --- comparing two finished scenarios --------------------------------------------------------

def compare(dir1: str | Path, dir2: str | Path) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Per-origin and per-county comparison of two finished scenario folders.

    Both must have the same origins and measures. Columns ``<measure>_delta_a`` /
    ``_b`` are the two scenarios' changes and ``<measure>_diff`` = b - a (the second
    scenario's advantage over the first, in the measure's own direction).
    """
    d1, d2 = Path(dir1), Path(dir2)
    a, ma = _read_done(d1)
    b, mb = _read_done(d2)
    if not a["id"].astype(str).equals(b["id"].astype(str)):
        raise InputError(f"{d1} and {d2} have different origins ({len(a)} vs {len(b)}); "
                         "run both with the same --origins")
    ca = [c[: -len("_delta")] for c in a.columns if c.endswith("_delta")]
    cb = [c[: -len("_delta")] for c in b.columns if c.endswith("_delta")]
    common = [c for c in ca if c in cb]
    if not common:
        raise InputError(f"{d1} and {d2} share no measure ({', '.join(ca)} vs {', '.join(cb)})")
    out = a[["id", "lon", "lat"] + (["population"] if "population" in a.columns else [])].copy()
    for c in common:
        out[f"{c}_delta_a"] = a[f"{c}_delta"].to_numpy(float)
        out[f"{c}_delta_b"] = b[f"{c}_delta"].to_numpy(float)
        out[f"{c}_diff"] = out[f"{c}_delta_b"] - out[f"{c}_delta_a"]
    out = gpd.GeoDataFrame(out, geometry=a.geometry.to_numpy(), crs=settings.WGS84)
    out.attrs["a"] = ma["scenario"]["name"]
    out.attrs["b"] = mb["scenario"]["name"]
    pop = out["population"].to_numpy(float) if "population" in out.columns else None
    from .accessibility import summarise_by_county

    cols = [f"{c}_{s}" for c in common for s in ("delta_a", "delta_b", "diff")]
    table = summarise_by_county(out, cols, pop)
    table.insert(0, "scenario_a", out.attrs["a"])
    table.insert(1, "scenario_b", out.attrs["b"])
    return out, table


def _read_done(d: Path) -> tuple[gpd.GeoDataFrame, dict]:
    import json

    if not (d / "delta.parquet").is_file() or not (d / "meta.json").is_file():
        raise InputError(f"{d}: not a finished scenario folder (needs delta.parquet and meta.json); "
                         "run `kechuang-gis scenario run` first")
    return gpd.read_parquet(d / "delta.parquet"), json.loads((d / "meta.json").read_text(encoding="utf-8"))


def compare_markdown(per_origin: gpd.GeoDataFrame, table: pd.DataFrame) -> str:
    """Plain-language comparison: which scenario does more, where."""
    a, b = per_origin.attrs.get("a", "A"), per_origin.attrs.get("b", "B")
    lines = [f"# {a} vs {b}", ""]
    for c in [c[: -len("_diff")] for c in per_origin.columns if c.endswith("_diff")]:
        lower = _lower_better(c)
        da, db = per_origin[f"{c}_delta_a"].to_numpy(float), per_origin[f"{c}_delta_b"].to_numpy(float)
        better_b = (db < da - TIME_TOLERANCE_MIN) if lower else (db > da + 1e-9 * np.abs(da).max(initial=1))
        better_a = (da < db - TIME_TOLERANCE_MIN) if lower else (da > db + 1e-9 * np.abs(db).max(initial=1))
        lines += [f"**{c}**: {int(better_a.sum())} origins gain more from {a}, {int(better_b.sum())} from {b} "
                  f"(mean change {np.nanmean(da):+.3f} vs {np.nanmean(db):+.3f}).", ""]
        sub = table[table["metric"] == f"{c}_diff"]
        key = "pop_weighted_mean" if "pop_weighted_mean" in sub.columns else "mean"
        sub = sub.sort_values(key, ascending=lower).head(10)
        lines += [f"| county | mean difference ({b} − {a}) |", "| --- | ---: |"]
        lines += [f"| {r.county_name} | {_fmt(getattr(r, key), 3)} |" for r in sub.itertuples(index=False)]
        lines.append("")
    return "\n".join(lines)


# --- the pipeline's scenario -------------------------------------------------------------------

def shipped_scenarios() -> list[Path]:
    """The scenario files shipped in ``scenarios/``."""
    return sorted(SCENARIO_DIR.glob("*.toml"))


def run_default_scenario(out_dir: str | Path, *, origins: str | gpd.GeoDataFrame = DEFAULT_ORIGINS,
                         destinations: str | gpd.GeoDataFrame = DEFAULT_DESTINATIONS,
                         metrics: str | Sequence[str] = DEFAULT_METRICS,
                         population: str | Path | None = None, workers: int | None = None,
                         progress: Callable[[str], None] | None = None) -> ScenarioResult:
    """Run the scenario ``kechuang-gis run`` includes (通苏嘉甬铁路 opening, :data:`DEFAULT_SCENARIO`)."""
    path = SCENARIO_DIR / DEFAULT_SCENARIO
    if progress:
        progress(f"scenario {path.name}")
    return run_scenario(path, out_dir, origins=origins, destinations=destinations, metrics=metrics,
                        population=population, workers=workers)


__all__ = [
    "Scenario", "Applied", "ScenarioResult", "RunOptions", "read_scenario", "parse_scenario", "load_base",
    "apply_scenario", "apply_node_edits", "default_nodes", "run_scenario", "run_scenarios", "measure",
    "node_strength_delta", "county_table", "summary_markdown", "write_result", "compare",
    "compare_markdown", "shipped_scenarios", "run_default_scenario", "line_key", "DEFAULT_SCENARIO",
]
