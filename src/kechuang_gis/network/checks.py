"""Checks of the embedded strategic network against independent facts.

* connected: the operating network (and each of its modes) is one strongly connected
  component, so every node can reach every other;
* counties: every station and road node lies inside the county polygon its row declares
  (``geodata/admin_county.geojson``). Nodes in counties outside the study area are
  checked against the neighbouring city polygon (``admin_context.geojson``, Shanghai's
  other districts count as one) when there is one, and are otherwise exempt: see
  :data:`EXEMPT_RULE`;
* timetable: rail travel times between main hubs are within ±30 % of published fastest
  times (``timetable_checks.csv`` rows with ``hub_pair = yes`` and ``service = fastest``;
  the other rows are computed and reported, not asserted: see :data:`ASSERTED_RULE`);
* lengths: authored (chord) length of each line against its official length
  (:func:`length_table`, a report rather than a pass/fail test).
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import connected_components, dijkstra

from .. import settings
from ..crs import lonlat_to_metric
from ..errors import InputError
from .model import STATION_KINDS, Network, csr_min

#: Allowed relative deviation of modelled rail times from published ones.
TIMETABLE_TOLERANCE = 0.30

#: Which published times are held to the tolerance. The model runs the fastest train of
#: each line non-stop between major stations, so it can only be compared with the fastest
#: service between main hubs; typical or stopping services, and stations served only by
#: sparse through trains, are reported for information.
ASSERTED_RULE = "hub_pair == 'yes' and service == 'fastest'"
#: Values of the ``service`` column of ``timetable_checks.csv``.
SERVICES = ("fastest", "typical", "stopping", "claim")

#: Nodes whose county lies outside the study area and whose prefecture is not among the
#: context polygons (e.g. Nantong's county units are, Hefei is not) cannot be checked
#: against a polygon; they are listed as exempt, not as problems.
EXEMPT_RULE = ("county outside the study area and its prefecture not in admin_context.geojson: "
               "position not checked")


def check_embedded(net: Network, data_dir: str | Path | None = None,
                   tolerance: float = TIMETABLE_TOLERANCE) -> list[str]:
    """All problems found in an embedded network (an empty list means it passes)."""
    problems = connectivity_problems(net)
    problems += county_problems(net)
    table = timetable_table(net, data_dir)
    for r in table[table["asserted"]].itertuples(index=False):
        if not np.isfinite(r.model_min):
            problems.append(f"timetable: {r.from_name}→{r.to_name} unreachable by operating rail")
        elif abs(r.ratio - 1.0) > tolerance:
            problems.append(f"timetable: {r.from_name}→{r.to_name} model {r.model_min:.1f} min vs "
                            f"published {r.published_min:g} min ({r.difference_pct:+.0f} %, "
                            f"limit ±{tolerance * 100:.0f} %)")
    return problems


# --- connectivity -------------------------------------------------------------------

def connectivity_problems(net: Network, status: str = "operating") -> list[str]:
    """One strongly connected component over the nodes that carry edges of ``status``.

    Checked for the whole network and for rail and road alone (a single-mode network
    must also be usable on its own).
    """
    problems = []
    e = net.edges[net.edges["status"] == status]
    for label, mask in (("all modes", np.ones(len(e), bool)),
                        ("rail", (e["mode"] == "rail").to_numpy()),
                        ("road", (e["mode"] == "road").to_numpy())):
        sub = e[mask]
        if sub.empty:
            continue
        comps = _components(sub)
        if len(comps) > 1:
            names = dict(zip(net.nodes["id"], net.nodes["name"], strict=True))
            small = [", ".join(str(names[i]) for i in c[:6]) + (" ..." if len(c) > 6 else "")
                     for c in comps[1:]]
            problems.append(f"connectivity ({label}, {status}): {len(comps)} components; "
                            f"the largest has {len(comps[0])} nodes, the others: "
                            + " | ".join(small))
    return problems


def _components(edges: pd.DataFrame) -> list[list[int]]:
    """Strongly connected components as node-id lists, largest first."""
    ids = np.unique(np.concatenate([edges["u"].to_numpy(), edges["v"].to_numpy()]))
    u = np.searchsorted(ids, edges["u"].to_numpy())
    v = np.searchsorted(ids, edges["v"].to_numpy())
    m = csr_min(u, v, np.ones(len(u)), len(ids))
    n, labels = connected_components(m, directed=True, connection="strong")
    comps = [ids[labels == k].tolist() for k in range(n)]
    return sorted(comps, key=lambda c: (-len(c), c))


# --- counties -----------------------------------------------------------------------

def county_table(net: Network, geodata_dir: str | Path | None = None) -> pd.DataFrame:
    """Each node with a declared county: which polygon it was checked against and the result.

    Columns: slug, name, kind, county_adcode, checked_against (county / city / exempt /
    unknown), inside, outside_m (distance to the polygon when outside, EPSG:4549),
    found_adcode (the study county actually containing the point, if any).
    """
    g = Path(geodata_dir) if geodata_dir is not None else settings.GEODATA_DIR
    counties = gpd.read_file(g / "admin_county.geojson").set_index("adcode")
    context = gpd.read_file(g / "admin_context.geojson").set_index("adcode")
    study = {code for code, _, _ in settings.STUDY_UNITS}
    n = net.nodes[net.nodes["county_adcode"].fillna("").astype(str) != ""]
    rows = []
    for rec, pt in zip(n.to_dict("records"), n.geometry, strict=True):
        code = str(rec["county_adcode"])
        city = "310100" if code.startswith("3101") else code[:4] + "00"
        if code in counties.index:
            poly, against = counties.geometry[code], "county"
        elif code in study or city in study:
            poly, against = None, "unknown"
        elif city in context.index:
            poly, against = context.geometry[city], "city"
        else:
            poly, against = None, "exempt"
        inside = bool(poly.covers(pt)) if poly is not None else None
        outside_m = None
        if poly is not None and not inside:
            outside_m = float(_metric(poly).distance(_metric(pt)))
        hit = counties.index[counties.geometry.covers(pt)]
        rows.append({"slug": rec["slug"], "name": rec["name"], "kind": rec["kind"],
                     "county_adcode": code, "checked_against": against, "inside": inside,
                     "outside_m": outside_m, "found_adcode": hit[0] if len(hit) else None})
    return pd.DataFrame(rows)


def county_problems(net: Network, geodata_dir: str | Path | None = None,
                    stations_only: bool = True) -> list[str]:
    """Stations (or all nodes) outside their declared county (or city), and unknown adcodes."""
    t = county_table(net, geodata_dir)
    if stations_only:
        t = t[t["kind"].isin(STATION_KINDS)]
    problems = []
    for r in t.itertuples(index=False):
        what = "station" if r.kind in STATION_KINDS else "road node"
        if r.checked_against == "unknown":
            problems.append(f"county: {what} {r.name} ({r.slug}) declares {r.county_adcode}, not a "
                            f"county of admin_county.geojson (point lies in {r.found_adcode if pd.notna(r.found_adcode) else 'no study county'})")
        elif r.inside is False:
            problems.append(f"county: {what} {r.name} ({r.slug}) lies {r.outside_m / 1000:.1f} km "
                            f"outside its declared {r.checked_against} {r.county_adcode}"
                            + (f" (inside {r.found_adcode})" if pd.notna(r.found_adcode) else ""))
    return problems


def _metric(geom):
    def fn(c: np.ndarray) -> np.ndarray:
        x, y = lonlat_to_metric(c[:, 0], c[:, 1])
        return np.column_stack([x, y])
    return shapely.transform(geom, fn)


# --- timetable ----------------------------------------------------------------------

def timetable_table(net: Network, data_dir: str | Path | None = None) -> pd.DataFrame:
    """Modelled rail-only times between the published pairs of ``timetable_checks.csv``.

    Travel times use operating rail edges only (no access, transfer or boarding
    penalty): the comparison is with in-train timetable times. ``asserted`` marks the
    rows held to the tolerance (:data:`ASSERTED_RULE`).
    """
    d = Path(data_dir or net.meta.get("data_dir") or settings.GEODATA_DIR / "network")
    path = d / "timetable_checks.csv"
    if not path.is_file():
        raise InputError(f"{path}: timetable checks not found")
    tt = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in ("hub_pair", "service"):
        if col not in tt.columns:
            raise InputError(f"{path}: missing column {col}")
    bad = sorted(set(tt["service"]) - set(SERVICES)) + sorted(set(tt["hub_pair"]) - {"yes", "no"})
    if bad:
        raise InputError(f"{path}: unknown hub_pair/service value(s) {bad}: hub_pair is yes/no, "
                         f"service one of {', '.join(SERVICES)}")
    slugs = dict(zip(net.nodes["slug"], net.nodes["id"], strict=True))
    names = dict(zip(net.nodes["slug"], net.nodes["name"], strict=True))
    unknown = sorted({s for s in pd.concat([tt["from_station"], tt["to_station"]]) if s not in slugs})
    if unknown:
        raise InputError(f"{path}: station(s) not in the network: {unknown}")
    e = net.edges[(net.edges["mode"] == "rail") & (net.edges["status"] == "operating")]
    ids = net.nodes["id"].to_numpy(np.int64)
    order = np.argsort(ids)
    pos = dict(zip(ids[order].tolist(), range(len(ids)), strict=True))
    u = np.array([pos[x] for x in e["u"].tolist()], dtype=np.int64)
    v = np.array([pos[x] for x in e["v"].tolist()], dtype=np.int64)
    m = csr_min(u, v, e["travel_time_s"].to_numpy(float), len(ids))
    src = sorted({pos[slugs[s]] for s in tt["from_station"]})
    dist = dijkstra(m, directed=True, indices=src)
    row = {p: i for i, p in enumerate(src)}
    model = [dist[row[pos[slugs[a]]], pos[slugs[b]]] / 60.0
             for a, b in zip(tt["from_station"], tt["to_station"], strict=True)]
    out = pd.DataFrame({
        "from_station": tt["from_station"], "to_station": tt["to_station"],
        "from_name": tt["from_station"].map(names), "to_name": tt["to_station"].map(names),
        "hub_pair": tt["hub_pair"], "service": tt["service"],
        "asserted": (tt["hub_pair"] == "yes") & (tt["service"] == "fastest"),
        "train": tt.get("train"), "published_min": tt["published_min"].astype(float),
        "model_min": np.round(model, 2),
    })
    out["ratio"] = out["model_min"] / out["published_min"]
    out["difference_pct"] = (out["ratio"] - 1.0) * 100.0
    return out


# --- lengths ------------------------------------------------------------------------

def length_table(net: Network) -> pd.DataFrame:
    """Per rail line: official km, the section it refers to, authored (chord) km, difference %."""
    rows = net.meta.get("line_lengths")
    if rows is None:
        raise InputError("network meta has no line_lengths: build it with build_embedded")
    t = pd.DataFrame(rows)
    cols = {"line_id": "line_id", "line": "line", "status": "status", "official_km": "official_km",
            "section": "section", "section_used": "section_used", "comparable": "comparable",
            "authored_km": "authored_km",
            "difference_pct": "difference_pct", "length_source": "source"}
    return t[list(cols)].rename(columns=cols)
