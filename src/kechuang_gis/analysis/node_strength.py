"""Node strength: which places are the strategic nodes (节点) of the Taihu innovation network.

Seed 002 (``002_e0f36786f363b00c.txt``) asks planners to move from "板块思维" (zones as
land blocks) to "节点思维": a node is where high-end factors concentrate and where flows
meet, coupled with transport hubs. This module turns that into numbers measured on the
transport network:

* travel times between every pair of nodes come from the routing kernel
  (:func:`~kechuang_gis.analysis.routing.snap` + :func:`~kechuang_gis.analysis.routing.point_to_point`
  on ``network.csr(modes)`` with the network's access model);
* gravity interaction ``w_ij = M_i M_j f(t_ij)``, with ``f(t) = t^-beta`` (t in minutes,
  default beta = 1) or ``f(t) = exp(-beta t)`` (beta per minute);
* gravity strength ``S_i = sum_j w_ij`` (weighted degree of the interaction network) and
  accessibility strength ``A_i = sum_j M_j f(t_ij)``; with one time per pair (below)
  ``S_i = M_i A_i`` exactly, so S ranks by "how much interaction the node carries" and A
  by "how much mass it reaches", independently of its own size;
* betweenness and closeness of each node's network attachment (its nearest snapped
  network node) on the operating network weighted by travel time, computed with igraph
  and normalised as networkx does;
* a composite index (weighted sum of min-max normalised components), natural-break tiers
  and ranks; the strongest interactions as lines; the 两区六市 interaction matrix; and a
  sensitivity table of rank stability under other betas and mode sets.

Choices a reader needs to know
------------------------------
* **One time per pair.** The interaction network is undirected: ``t_ij`` is the mean of
  the two directed travel times (equal on two-way networks). A pair unreachable in
  either direction contributes no interaction; such pairs are counted (DataWarning and
  ``meta['pairs']``). If no pair at all is reachable, the run is refused.
* **Time floor.** Power decay is infinite at ``t = 0`` (two nodes at the same place, e.g.
  a park and its own 5G pilot zone). Pair times are floored at :data:`MIN_TIME_MIN`
  minutes, about the time to cross one park at access speed (2 km x 1.3 detour / 30 km/h
  ~ 5 min); the floor is applied for both decays so they stay comparable, and the
  number of floored pairs is reported.
* **Mass.** A user column (``mass_col``: firms, R&D staff, output, ...) or, by default,
  a proxy: ``1 + innovation units the seeds digest links to the node + (hub kinds only)
  distinct rail lines at the nearest station within`` :data:`HUB_RADIUS_M`. The proxy is
  labelled ``mass_source = "proxy: ..."`` in every output; it is not measured data.
* **Tiers.** mapclassify NaturalBreaks (k = 3) on the composite index rounded to
  :data:`TIE_DECIMALS` decimals (so float noise cannot split ties). Classes are decided by
  value thresholds, so equal values always share a tier; the k-means start of
  NaturalBreaks is seeded (:data:`NATURAL_BREAKS_SEED`, global numpy state restored
  afterwards) so runs are reproducible. With fewer than 3 distinct values the distinct
  values are the classes, assigned from the top (core, then sub-core). Ranks use
  ``method="min"``: tied nodes share the better rank.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .. import __version__
from ..crs import lonlat_to_metric
from ..errors import InputError, NetworkError, warn_count
from ..io import atomic_dir, write_csv, write_geoparquet, write_json
from ..network.model import STATION_KINDS, Network
from ..settings import STUDY_UNITS, WGS84
from .snap import snap, snap_like, warn_unsnapped

log = logging.getLogger(__name__)

# --- documented defaults ---------------------------------------------------------------
#: Composite weights. Gravity strength is the measure the issue is about (interaction
#: carried, weighted by both masses): half the index. Access strength overlaps with it
#: (S = M x A) but ranks a small node near big ones up, so it gets less. Betweenness
#: stands for seed 002's "coupled with transport hubs": a node on the paths the network
#: routes through. Closeness is general centrality, strongly correlated with access on a
#: regional network, so it gets the smallest share.
DEFAULT_WEIGHTS: dict[str, float] = {"gravity": 0.5, "access": 0.2, "betweenness": 0.2, "closeness": 0.1}
COMPONENTS = ("gravity", "access", "betweenness", "closeness")
#: Default beta per decay: power t^-1 (the issue's default); exponential 0.05 per minute
#: (weight halves every ~14 minutes, a commute-scale gradient).
DEFAULT_BETA: dict[str, float] = {"power": 1.0, "exp": 0.05}
DECAYS = ("power", "exp")
#: Floor of pair travel times (minutes) so co-located nodes keep a finite interaction.
MIN_TIME_MIN = 5.0
#: Nodes of these kinds get the rail-hub weight of the default mass proxy.
HUB_KINDS = ("hub", "station", "interchange_station")
#: Betweenness is exact up to this many network vertices (the embedded strategic network
#: has far fewer); above it, shortest paths from a seeded random sample of
#: :data:`BETWEENNESS_SAMPLE` sources are counted and scaled by n / k, the estimator of
#: networkx's ``betweenness_centrality(k=...)``. All-pairs betweenness on a provincial
#: street network (10^5-10^6 vertices) would take hours.
BETWEENNESS_EXACT_MAX = 5_000
BETWEENNESS_SAMPLE = 500
#: Radius (metres) within which a hub node's nearest network station is looked for.
HUB_RADIUS_M = 3000.0
#: Gazetteer kinds used as nodes by default: the issue's parks, science cities, campuses,
#: institutes and hubs (labs and platforms are institutes in all but name). District
#: zones (whole cities and districts such as 苏州市, 昆山市) and lake areas/corridors are
#: regions, not nodes; add them with ``--kinds``.
DEFAULT_KINDS = ("park", "science_city", "campus", "institute", "lab", "platform", "hub")
TIERS = ("core", "sub-core", "general")
TIE_DECIMALS = 9
NATURAL_BREAKS_SEED = 20240501
#: Default beta sweeps of the sensitivity table, per decay.
SENSITIVITY_BETAS: dict[str, tuple[float, ...]] = {
    "power": (0.5, 1.0, 1.5, 2.0),
    "exp": (0.025, 0.05, 0.075, 0.1),
}
TOP_N_OVERLAP = 10
PROXY_NOTE = ("The default mass is a proxy built from the seeds digest and the rail network, "
              "not measured data; give a measured column with --mass-col.")


@dataclass
class NodeStrengthResult:
    """Tables of one node-strength run.

    ``table``: one row per node (WGS84 points); ``flows``: strongest interactions as lines;
    ``city_matrix``: 两区六市 x 两区六市 sums of ``w_ij``; ``sensitivity``: rank stability
    per variant (or None); ``meta``: parameters, mass source, network, counts.
    """

    table: gpd.GeoDataFrame
    flows: gpd.GeoDataFrame
    city_matrix: pd.DataFrame
    meta: dict
    sensitivity: pd.DataFrame | None = None
    files: tuple[str, ...] = field(default=())

    def write(self, out_dir: str | Path) -> Path:
        """Write every output into ``out_dir`` at once (all or nothing)."""
        out_dir = Path(out_dir)
        mass_source = self.meta["mass"]["source"]
        with atomic_dir(out_dir) as tmp:
            write_geoparquet(self.table, tmp / "node_strength.parquet")
            csv = pd.DataFrame(self.table.drop(columns="geometry"))
            csv.insert(2, "lon", self.table.geometry.x.round(6))
            csv.insert(3, "lat", self.table.geometry.y.round(6))
            write_csv(csv, tmp / "node_strength.csv")
            write_geoparquet(self.flows, tmp / "flows.parquet")
            cm = self.city_matrix.copy()
            cm.insert(0, "adcode", [_unit_adcode(n) for n in cm.index])
            cm["mass_source"] = mass_source
            write_csv(cm.reset_index(), tmp / "city_matrix.csv")
            files = ["node_strength.parquet", "node_strength.csv", "flows.parquet", "city_matrix.csv"]
            if self.sensitivity is not None:
                write_csv(self.sensitivity, tmp / "sensitivity.csv")
                files.append("sensitivity.csv")
            elif (tmp / "sensitivity.csv").exists():
                # A table from an earlier run would describe other parameters.
                (tmp / "sensitivity.csv").unlink()
            meta = dict(self.meta, outputs=files + ["meta.json"])
            write_json(meta, tmp / "meta.json")
        self.files = tuple(files + ["meta.json"])
        return out_dir


# --- public entry point -----------------------------------------------------------------

def node_strength(
    network: Network,
    nodes: gpd.GeoDataFrame,
    *,
    mass_col: str | None = None,
    decay: str = "power",
    beta: float | None = None,
    modes: Sequence[str] | None = None,
    weights: Mapping[str, float] | None = None,
    top_k: int = 5,
    min_time_min: float = MIN_TIME_MIN,
    statuses: Sequence[str] = ("operating",),
    sensitivity_betas: Sequence[float] | None = None,
    sensitivity_modes: Sequence[Sequence[str]] | None = None,
    units: Mapping[str, Sequence[str]] | None = None,
    hub_radius_m: float = HUB_RADIUS_M,
    centrality_cutoff_s: float | None = None,
    betweenness_sample: int | None = None,
    snap_base: Network | None = None,
) -> NodeStrengthResult:
    """Measure the strength of ``nodes`` (id, name_zh, geometry, ...) on ``network``.

    Parameters
    ----------
    network : the transport network; routing uses ``network.csr(modes, statuses)`` and
        ``network.meta['access']``.
    nodes : GeoDataFrame with a unique ``id``; polygons stand for their representative
        point. Optional columns: ``name_zh`` (or ``name``), ``kind``, ``city_adcode``.
    mass_col : column holding a measured mass (> 0 for every node); None: the documented
        proxy (see module docstring), labelled as such.
    decay, beta : ``power`` (t^-beta, default beta 1) or ``exp`` (exp(-beta t), default
        0.05 per minute); t in minutes.
    modes : road and/or rail; None: every one of them the network has.
    weights : composite weights by component (gravity, access, betweenness, closeness);
        missing components weigh 0; None: :data:`DEFAULT_WEIGHTS`.
    top_k : flows kept per node (and the overall top k are flagged).
    min_time_min : floor of pair travel times (minutes).
    statuses : network edge statuses to route on.
    sensitivity_betas : betas for the sensitivity table (None: no table).
    sensitivity_modes : mode sets for the table (default: road only and road+rail).
    units : gazetteer id -> innovation units, for the proxy (None: the seeds digest).
    hub_radius_m : search radius for the rail-hub weight of the proxy.
    centrality_cutoff_s : optional path-length cutoff for betweenness/closeness on very
        large networks (exact when None; with a cutoff values are estimates).
    betweenness_sample : number of sampled betweenness sources (None: exact up to
        :data:`BETWEENNESS_EXACT_MAX` network vertices, sampled above).
    """
    decay = _check_decay(decay)
    beta = DEFAULT_BETA[decay] if beta is None else float(beta)
    _check_beta(decay, beta)
    if min_time_min <= 0 or not math.isfinite(min_time_min):
        raise InputError(f"min_time_min must be a positive number of minutes, got {min_time_min}")
    if int(top_k) < 1:
        raise InputError(f"top_k must be at least 1, got {top_k}")
    w = parse_weights(weights)
    modes = resolve_modes(network, modes, statuses)

    nodes = prepare_nodes(nodes)
    if len(nodes) < 2:
        raise InputError(f"node strength needs at least two nodes; got {len(nodes)}"
                         + (f" ({nodes['id'].iloc[0]})" if len(nodes) else ""))
    mass, mass_info = node_mass(nodes, network, mass_col=mass_col, units=units,
                                statuses=statuses, hub_radius_m=hub_radius_m)
    nodes = nodes.assign(**mass_info["columns"])
    nodes["mass"] = mass
    nodes["city_adcode"] = city_adcodes(nodes)

    # Snap once on the default mode set; nodes off the network are left out, named.
    x, y = nodes.geometry.x.to_numpy(), nodes.geometry.y.to_numpy()
    graph = network.csr(modes, statuses)
    access = dict(network.meta["access"])
    # In a scenario, nodes keep the base network's access links (plus links to nodes the
    # scenario adds): rank changes then come from the network change alone.
    base_graph = None if snap_base is None else snap_base.csr(modes, statuses)

    def join(px, py):
        if base_graph is None:
            return snap(graph, px, py, access)
        return snap_like(graph, base_graph, px, py, access)

    s = join(np.asarray(x), np.asarray(y))
    unsnapped = nodes.loc[~s.snapped, "id"].tolist()
    warn_unsnapped(s, nodes["id"], "node(s)", access, f"left out of the {'+'.join(modes)} run")
    keep = np.flatnonzero(s.snapped)
    if len(keep) < 2:
        raise InputError(f"node strength needs at least two nodes on the network; {len(keep)} of "
                         f"{len(nodes)} could be snapped (unsnapped: {', '.join(map(str, unsnapped[:10]))})")
    nodes = nodes.iloc[keep].reset_index(drop=True)
    mass = mass[keep]
    x, y = np.asarray(x)[keep], np.asarray(y)[keep]
    s = join(x, y)

    times = pair_times_s(graph, s, access)
    pairs = _pair_counts(times, nodes["id"].to_numpy(), min_time_min)
    if pairs["reachable"] == 0:
        raise NetworkError(f"none of the {len(nodes)} nodes can reach another on the "
                           f"{'+'.join(modes)} network (statuses {', '.join(statuses)}); "
                           "check the network's coverage or the mode set")
    warn_count("node pair(s) unreachable on the network (no interaction counted)",
               pairs["unreachable"], pairs["unreachable_examples"])

    attach = s.attach()
    betw, close, cinfo = attachment_centrality(graph, attach, cutoff_s=centrality_cutoff_s,
                                               sample=betweenness_sample)
    measures = _measures(times, mass, decay, beta, min_time_min)
    table, bins = _table(nodes, measures, betw, close, w, s, attach, graph, mass_info["source"])
    flows = top_flows(table, nodes["id"].to_numpy(), measures["w"], times, top_k, mass_info["source"])
    matrix = city_matrix(nodes["city_adcode"].to_numpy(), measures["w"])

    meta = {
        "software_version": __version__,
        "measure": "node strength (节点思维, seed 002_e0f36786f363b00c.txt)",
        "parameters": {
            "decay": decay, "beta": beta, "beta_unit": "1 (exponent)" if decay == "power" else "per minute",
            "min_time_min": float(min_time_min), "modes": list(modes), "statuses": list(statuses),
            "weights": w, "top_k": int(top_k), "hub_radius_m": float(hub_radius_m),
            "centrality_cutoff_s": centrality_cutoff_s, "pair_time": "mean of the two directions",
        },
        "mass": {"source": mass_info["source"], "column": mass_col, "is_proxy": mass_col is None,
                 "note": PROXY_NOTE if mass_col is None else "measured values from the user's column"},
        "network": _network_meta(network),
        "access": access,
        "nodes": {"input": int(len(keep) + len(unsnapped)), "used": int(len(nodes)),
                  "unsnapped": [str(i) for i in unsnapped]},
        "pairs": {k: v for k, v in pairs.items()},
        "centrality": cinfo,
        "tiers": _tier_meta(table, bins),
        "city_matrix": {
            "units": [{"adcode": a, "name_zh": n} for a, n, _ in STUDY_UNITS],
            "nodes_outside_units": table.loc[~table["city_adcode"].isin([u[0] for u in STUDY_UNITS]), "id"].tolist(),
            "layout": "symmetric; diagonal: pairs within a unit (each pair once); "
                      "off-diagonal: total between the two units",
        },
        "columns": _column_doc(),
    }
    result = NodeStrengthResult(table, flows, matrix, meta)
    if sensitivity_betas is not None:
        sens = sensitivity(network, nodes, mass, table, decay=decay, beta=beta, modes=modes,
                           statuses=statuses, weights=w, min_time_min=min_time_min,
                           betas=sensitivity_betas, mode_sets=sensitivity_modes,
                           default_times=times, default_centrality=(betw, close),
                           centrality_cutoff_s=centrality_cutoff_s,
                           betweenness_sample=betweenness_sample)
        sens["mass_source"] = mass_info["source"]
        result.sensitivity = sens
        meta["sensitivity"] = {
            "variants": int(len(sens)), "compared_on": "composite_index and gravity_strength ranks",
            "statistic": "Spearman rank correlation (scipy.stats.spearmanr) with the default run; "
                         f"top{TOP_N_OVERLAP}_overlap: share of the default's top {TOP_N_OVERLAP} kept",
            "min_spearman_composite": _nanmin(sens["spearman_composite"]),
            "skipped_mode_sets": sens.attrs.get("skipped_mode_sets", []),
        }
    return result


# --- inputs --------------------------------------------------------------------------

def _check_decay(decay: str) -> str:
    d = str(decay).strip().lower()
    if d not in DECAYS:
        raise InputError(f"unknown decay {decay!r}: use power or exp")
    return d


def _check_beta(decay: str, beta: float) -> None:
    if not math.isfinite(beta) or beta <= 0:
        raise InputError(f"beta must be a positive number for {decay} decay, got {beta}")


def parse_weights(weights: Mapping[str, float] | str | None) -> dict[str, float]:
    """Composite weights from a mapping or ``gravity=0.5,access=0.2,...``; sum scaled to 1."""
    if weights is None:
        return dict(DEFAULT_WEIGHTS)
    if isinstance(weights, str):
        parsed = {}
        for part in filter(None, (p.strip() for p in weights.split(","))):
            key, sep, val = part.partition("=")
            if not sep:
                raise InputError(f"weights: expected name=value, got {part!r} (e.g. gravity=0.5,access=0.2)")
            try:
                parsed[key.strip()] = float(val)
            except ValueError as exc:
                raise InputError(f"weights: {val!r} is not a number (in {part!r})") from exc
        weights = parsed
    unknown = set(weights) - set(COMPONENTS)
    if unknown:
        raise InputError(f"unknown weight(s) {sorted(unknown)}; use {', '.join(COMPONENTS)}")
    out = {k: float(weights.get(k, 0.0)) for k in COMPONENTS}
    if any(v < 0 or not math.isfinite(v) for v in out.values()):
        raise InputError(f"weights must be non-negative numbers, got {out}")
    total = sum(out.values())
    if total <= 0:
        raise InputError("at least one composite weight must be positive")
    return {k: v / total for k, v in out.items()}


def resolve_modes(network: Network, modes: Sequence[str] | str | None,
                  statuses: Sequence[str] = ("operating",)) -> tuple[str, ...]:
    """The travel modes to route on: the ones asked for, or every road/rail mode present."""
    if isinstance(modes, str):
        modes = [m.strip() for m in modes.split(",") if m.strip()]
    e = network.edges[network.edges["status"].isin(list(statuses))]
    present = tuple(m for m in ("road", "rail") if (e["mode"] == m).any())
    if modes is None:
        if not present:
            raise NetworkError(f"the network has no {'/'.join(statuses)} road or rail edges")
        return present
    modes = tuple(dict.fromkeys(modes))
    bad = [m for m in modes if m not in ("road", "rail")]
    if bad:
        raise InputError(f"unknown mode(s) {bad}; use road, rail")
    missing = [m for m in modes if m not in present]
    if missing:
        raise NetworkError(f"the network has no {'/'.join(statuses)} {', '.join(missing)} edges "
                           f"(it has: {', '.join(present) or 'none'})")
    return modes


def prepare_nodes(nodes: gpd.GeoDataFrame, id_col: str = "id") -> gpd.GeoDataFrame:
    """Check ids (present, unique) and geometry; polygons become representative points."""
    if not isinstance(nodes, gpd.GeoDataFrame) or nodes.crs is None:
        raise InputError("nodes must be a GeoDataFrame with a CRS")
    if id_col not in nodes.columns:
        raise InputError(f"nodes need an {id_col!r} column (columns: {', '.join(map(str, nodes.columns))})")
    nodes = nodes.to_crs(WGS84).reset_index(drop=True).copy()
    if id_col != "id":
        nodes = nodes.rename(columns={id_col: "id"})
    nodes["id"] = nodes["id"].astype(str)
    dup = nodes["id"][nodes["id"].duplicated()].unique().tolist()
    if dup:
        raise InputError(f"duplicate node id(s): {', '.join(dup[:10])}")
    geom = nodes.geometry
    empty = geom.isna() | geom.is_empty
    if empty.any():
        raise InputError(f"{int(empty.sum())} node(s) without geometry: {', '.join(nodes.loc[empty, 'id'][:10])}")
    if not (geom.geom_type == "Point").all():
        nodes = nodes.set_geometry(geom.representative_point())
    if "name_zh" not in nodes.columns:
        nodes["name_zh"] = nodes["name"] if "name" in nodes.columns else nodes["id"]
    nodes["name_zh"] = nodes["name_zh"].where(nodes["name_zh"].notna(), nodes["id"]).astype(str)
    return nodes


def city_adcodes(nodes: gpd.GeoDataFrame) -> np.ndarray:
    """The 两区六市 unit of each node: its ``city_adcode`` column, else the admin polygons."""
    out = np.full(len(nodes), None, dtype=object)
    if "city_adcode" in nodes.columns:
        given = nodes["city_adcode"]
        ok = given.notna() & (given.astype(str) != "") & (given.astype(str) != "None")
        out[ok.to_numpy()] = given[ok].astype(str).to_numpy()
    todo = np.array([v is None for v in out])
    if todo.any():
        from ..layers import admin

        counties = admin.county_of(nodes.geometry[todo])
        out[todo] = [admin.unit_of_county(c) if c is not None else None for c in counties]
    return out


def node_mass(nodes: gpd.GeoDataFrame, network: Network, *, mass_col: str | None = None,
              units: Mapping[str, Sequence[str]] | None = None,
              statuses: Sequence[str] = ("operating",),
              hub_radius_m: float = HUB_RADIUS_M) -> tuple[np.ndarray, dict]:
    """Mass of each node and its label: a user column (checked > 0) or the proxy."""
    if mass_col is not None:
        if mass_col not in nodes.columns:
            raise InputError(f"mass column {mass_col!r} not found (columns: {', '.join(map(str, nodes.columns))})")
        m = pd.to_numeric(nodes[mass_col], errors="coerce").to_numpy(float)
        bad = ~np.isfinite(m)
        if bad.any():
            raise InputError(f"mass column {mass_col!r} is missing or not numeric for node(s): "
                             f"{', '.join(nodes.loc[bad, 'id'][:10])}")
        nonpos = m <= 0
        if nonpos.any():
            ids = [f"{i} ({v:g})" for i, v in zip(nodes.loc[nonpos, "id"], m[nonpos], strict=True)]
            raise InputError(f"mass column {mass_col!r} must be > 0; zero or negative for node(s): "
                             f"{', '.join(ids[:10])}")
        return m, {"source": f"column: {mass_col}", "columns": {}}
    if units is None:
        from ..layers import seeds

        units = seeds.innovation_units()
    n_units = np.array([len(set(units.get(i, ()) or ())) for i in nodes["id"]], dtype=float)
    lines = np.zeros(len(nodes))
    if "kind" in nodes.columns:
        is_hub = nodes["kind"].astype(str).isin(HUB_KINDS).to_numpy()
        if is_hub.any():
            lines[is_hub] = station_lines(network, nodes.loc[is_hub], statuses=statuses,
                                          radius_m=hub_radius_m)
    source = (f"proxy: 1 + innovation units linked by the seeds digest + distinct rail lines at the "
              f"nearest station within {hub_radius_m:.0f} m (kinds {'/'.join(HUB_KINDS)} only); "
              "not measured data")
    return 1.0 + n_units + lines, {"source": source,
                                   "columns": {"proxy_innovation_units": n_units.astype(int),
                                               "proxy_rail_lines": lines.astype(int)}}


def station_lines(network: Network, points: gpd.GeoDataFrame, *, statuses: Sequence[str] = ("operating",),
                  radius_m: float = HUB_RADIUS_M) -> np.ndarray:
    """Distinct rail lines serving the nearest network station within ``radius_m`` of each point."""
    from scipy.spatial import cKDTree

    nodes = network.nodes
    is_station = nodes["kind"].astype(str).isin(STATION_KINDS).to_numpy()
    out = np.zeros(len(points))
    if not is_station.any():
        return out
    e = network.edges
    rail = e[(e["mode"] == "rail") & e["status"].isin(list(statuses)) & e["line"].notna()]
    served: dict[int, set] = {}
    for col in ("u", "v"):
        for nid, line in zip(rail[col].to_numpy(), rail["line"].astype(str).to_numpy(), strict=True):
            served.setdefault(int(nid), set()).add(line)
    st = nodes[is_station]
    sx, sy = lonlat_to_metric(st.geometry.x.to_numpy(), st.geometry.y.to_numpy())
    px, py = lonlat_to_metric(points.geometry.x.to_numpy(), points.geometry.y.to_numpy())
    dist, idx = cKDTree(np.column_stack([sx, sy])).query(np.column_stack([px, py]), k=1)
    ids = st["id"].to_numpy()
    for i, (d, j) in enumerate(zip(dist, idx, strict=True)):
        if np.isfinite(d) and d <= radius_m:
            out[i] = len(served.get(int(ids[j]), ()))
    return out


# --- measures ------------------------------------------------------------------------

def pair_times_s(graph, s, access: dict) -> np.ndarray:
    """Symmetric pair travel times (s): mean of both directions; inf if either is; diag 0."""
    from .routing import point_to_point

    t = point_to_point(graph, s, s, access)
    sym = (t + t.T) / 2.0  # inf + x stays inf: unreachable one way = unreachable pair
    np.fill_diagonal(sym, 0.0)
    return sym


def decay_values(t_min: np.ndarray, decay: str, beta: float) -> np.ndarray:
    """f(t) for t in minutes (inf -> 0)."""
    t = np.asarray(t_min, dtype=float)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        f = np.power(t, -beta) if decay == "power" else np.exp(-beta * t)
    return np.where(np.isfinite(t), f, 0.0)


def _measures(times_s: np.ndarray, mass: np.ndarray, decay: str, beta: float,
              min_time_min: float) -> dict:
    t_min = np.maximum(times_s / 60.0, min_time_min)
    f = decay_values(t_min, decay, beta)
    np.fill_diagonal(f, 0.0)
    w = mass[:, None] * mass[None, :] * f
    return {"f": f, "w": w, "gravity": w.sum(axis=1), "access": f @ mass}


def _pair_counts(times_s: np.ndarray, ids: np.ndarray, min_time_min: float) -> dict:
    iu, ju = np.triu_indices(len(ids), k=1)
    t = times_s[iu, ju]
    bad = ~np.isfinite(t)
    floored = np.isfinite(t) & (t / 60.0 < min_time_min)
    return {
        "total": int(len(t)), "reachable": int((~bad).sum()), "unreachable": int(bad.sum()),
        "unreachable_examples": [f"{ids[a]}-{ids[b]}" for a, b in zip(iu[bad][:20], ju[bad][:20], strict=True)],
        "floored_at_min_time": int(floored.sum()),
        "floored_examples": [f"{ids[a]}-{ids[b]}" for a, b in zip(iu[floored][:20], ju[floored][:20], strict=True)],
    }


def attachment_centrality(graph, attach: np.ndarray, *, cutoff_s: float | None = None,
                          sample: int | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Betweenness and closeness of CSR node positions ``attach``, by igraph, networkx-normalised.

    The graph is the routing CSR (directed, travel-time weights) restricted to nodes with
    at least one edge, so isolated nodes do not change the normalisation. Betweenness is
    divided by (n-1)(n-2) (networkx ``normalized=True`` on a DiGraph); closeness uses
    incoming distances with the Wasserman-Faust factor (networkx ``closeness_centrality``
    with ``wf_improved=True``): (r-1)/sum(d) x (r-1)/(n-1), r = nodes that reach it.
    ``sample``: number of betweenness sources (None: exact up to
    :data:`BETWEENNESS_EXACT_MAX` vertices, else :data:`BETWEENNESS_SAMPLE`).
    """
    import igraph as ig

    coo = graph.matrix.tocoo()
    used = np.zeros(graph.n, dtype=bool)
    used[coo.row] = True
    used[coo.col] = True
    vid = np.full(graph.n, -1, dtype=np.int64)
    vid[used] = np.arange(int(used.sum()))
    n = int(used.sum())
    g = ig.Graph(n=n, edges=np.column_stack([vid[coo.row], vid[coo.col]]).tolist(), directed=True)
    wts = coo.data.astype(float).tolist()
    targets = sorted(set(int(v) for v in vid[attach]))
    cutoff = None if cutoff_s is None else float(cutoff_s)
    if sample is None and n > BETWEENNESS_EXACT_MAX:
        sample = BETWEENNESS_SAMPLE
    sources = None
    if sample is not None and sample < n:
        sources = np.sort(np.random.default_rng(NATURAL_BREAKS_SEED).choice(n, size=int(sample), replace=False))
        log.info("betweenness estimated from %d of %d sources", sample, n)
    bc = np.asarray(g.betweenness(vertices=targets, directed=True, weights=wts, cutoff=cutoff,
                                  sources=None if sources is None else sources.tolist()), float)
    if sources is not None:
        bc *= n / len(sources)
    cl = np.asarray(g.closeness(vertices=targets, mode="in", weights=wts, cutoff=cutoff, normalized=True), float)
    reach = np.array([len(g.subcomponent(v, mode="in")) - 1 for v in targets], dtype=float)
    cl = np.where(np.isfinite(cl), cl, 0.0) * (reach / (n - 1) if n > 1 else 0.0)
    bc = bc / ((n - 1) * (n - 2)) if n > 2 else np.zeros_like(bc)
    pos = {v: k for k, v in enumerate(targets)}
    idx = np.array([pos[int(v)] for v in vid[attach]], dtype=np.int64)
    info = {"library": f"igraph {ig.__version__}", "vertices": n, "edges": int(len(wts)),
            "directed": True, "weight": "travel_time_s", "cutoff_s": cutoff,
            "betweenness_sources": "all" if sources is None else f"random sample of {len(sources)} (scaled n/k)",
            "normalisation": "networkx: betweenness / ((n-1)(n-2)); closeness on incoming "
                             "distances with the Wasserman-Faust factor"}
    return bc[idx], cl[idx], info


def minmax(v: np.ndarray) -> np.ndarray:
    """Min-max to 0..1; a constant component (no information) maps to 0."""
    v = np.asarray(v, dtype=float)
    lo, hi = np.nanmin(v), np.nanmax(v)
    if not np.isfinite(hi - lo) or hi - lo <= 0:
        return np.zeros_like(v)
    return (v - lo) / (hi - lo)


def composite(components: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """0-100 composite: weighted sum of min-max normalised components (weights sum to 1)."""
    total = sum(weights.values())
    acc = sum(weights[k] * minmax(components[k]) for k in COMPONENTS if weights.get(k, 0) > 0)
    return np.round(100.0 * acc / total, TIE_DECIMALS)


@contextlib.contextmanager
def _seeded_numpy(seed: int):
    # mapclassify's NaturalBreaks runs scikit-learn k-means on the global numpy RNG;
    # seed it for reproducible tiers and put the caller's state back afterwards.
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def classify_tiers(values: Iterable[float]) -> tuple[np.ndarray, list[float]]:
    """Tiers core / sub-core / general by natural breaks (k = 3); ties share a tier.

    Returns the tier of each value and the class upper bounds (ascending).
    """
    import mapclassify

    v = np.round(np.asarray(list(values), dtype=float), TIE_DECIMALS)
    if v.size == 0:
        return np.array([], dtype=object), []
    uniq = np.unique(v)
    if uniq.size <= len(TIERS):
        bins = uniq
    else:
        with _seeded_numpy(NATURAL_BREAKS_SEED), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            bins = np.asarray(mapclassify.NaturalBreaks(v, k=len(TIERS)).bins, dtype=float)
    # Class by threshold: a value belongs to the first bin it does not exceed, so equal
    # values always land in the same class. Highest class -> core.
    cls = np.searchsorted(bins, v, side="left")
    top = len(bins) - 1
    tiers = np.array([TIERS[min(top - c, len(TIERS) - 1)] for c in cls], dtype=object)
    return tiers, [float(b) for b in bins]


def _table(nodes, measures, betw, close, weights, s, attach, graph, mass_source
           ) -> tuple[gpd.GeoDataFrame, list[float]]:
    comps = {"gravity": measures["gravity"], "access": measures["access"],
             "betweenness": betw, "closeness": close}
    comp = composite(comps, weights)
    tiers, bins = classify_tiers(comp)
    g = measures["gravity"]
    gmax = g.max()
    t = pd.DataFrame({
        "id": nodes["id"].to_numpy(),
        "name_zh": nodes["name_zh"].to_numpy(),
    })
    for col in ("name_en", "kind", "status"):
        if col in nodes.columns:
            t[col] = nodes[col].to_numpy()
    t["city_adcode"] = nodes["city_adcode"].to_numpy()
    t["mass"] = nodes["mass"].to_numpy(float)
    t["mass_source"] = mass_source
    for col in ("proxy_innovation_units", "proxy_rail_lines"):
        if col in nodes.columns:
            t[col] = nodes[col].to_numpy()
    t["gravity_strength"] = g
    t["gravity_strength_index"] = 100.0 * g / gmax if gmax > 0 else 0.0
    t["access_strength"] = measures["access"]
    t["betweenness"] = betw
    t["closeness"] = close
    t["composite_index"] = comp
    t["tier"] = tiers
    t["rank"] = pd.Series(comp).rank(method="min", ascending=False).astype(int).to_numpy()
    t["reachable_partners"] = (measures["f"] > 0).sum(axis=1)
    t["attach_node"] = graph.node_ids[attach]
    t["snap_dist_m"] = np.round(s.dist_m, 1)
    gdf = gpd.GeoDataFrame(t, geometry=nodes.geometry.to_numpy(), crs=WGS84)
    return gdf.sort_values(["rank", "id"], kind="stable").reset_index(drop=True), bins


def _tier_meta(table: gpd.GeoDataFrame, bins: list[float]) -> dict:
    return {"method": "mapclassify.NaturalBreaks k=3 on composite_index", "seed": NATURAL_BREAKS_SEED,
            "upper_bounds": bins, "counts": table["tier"].value_counts().to_dict(),
            "ties": f"values rounded to {TIE_DECIMALS} decimals; thresholds put equal values in one tier; "
                    "rank method 'min'"}


# --- flows and city matrix -------------------------------------------------------------

def top_flows(table: gpd.GeoDataFrame, ids: np.ndarray, w: np.ndarray, times_s: np.ndarray,
              top_k: int, mass_source: str) -> gpd.GeoDataFrame:
    """Pairs among the top ``top_k`` of either node, as straight desire lines.

    ``rank`` is the pair's rank among all reachable pairs (1 = strongest; ties broken by
    ids); ``top_overall`` flags the overall top ``top_k``.
    """
    # ``ids`` gives the order of the rows of ``w`` and ``times_s`` (the table is sorted by rank).
    ids = np.asarray(ids)
    n = len(ids)
    iu, ju = np.triu_indices(n, k=1)
    wij = w[iu, ju]
    ok = wij > 0
    iu, ju, wij = iu[ok], ju[ok], wij[ok]
    pairs = pd.DataFrame({"a": iu, "b": ju, "i": ids[iu], "j": ids[ju], "w_ij": wij})
    pairs = pairs.sort_values(["w_ij", "i", "j"], ascending=[False, True, True], kind="stable")
    pairs["rank"] = np.arange(1, len(pairs) + 1)
    keep = np.zeros(len(pairs), dtype=bool)
    for col in ("a", "b"):
        # Per node: its pairs in order of strength; the first top_k are kept.
        nth = pairs.groupby(col, sort=False).cumcount().to_numpy()
        keep |= nth < top_k
    sel = pairs[keep].copy()
    sel["t_ij_min"] = times_s[sel["a"].to_numpy(), sel["b"].to_numpy()] / 60.0
    sel["top_overall"] = sel["rank"] <= top_k
    by_id = table.set_index("id")
    for end in ("i", "j"):
        sel[f"name_{end}"] = by_id.loc[sel[end], "name_zh"].to_numpy()
        sel[f"city_{end}"] = by_id.loc[sel[end], "city_adcode"].to_numpy()
    pi = by_id.loc[sel["i"]].geometry.to_numpy()
    pj = by_id.loc[sel["j"]].geometry.to_numpy()
    lines = shapely.linestrings(np.stack([shapely.get_coordinates(pi), shapely.get_coordinates(pj)], axis=1)) \
        if len(sel) else []
    sel["mass_source"] = mass_source
    cols = ["i", "j", "name_i", "name_j", "city_i", "city_j", "w_ij", "t_ij_min", "rank", "top_overall",
            "mass_source"]
    return gpd.GeoDataFrame(sel[cols].reset_index(drop=True), geometry=list(lines) if len(sel) else [],
                            crs=WGS84)


def city_matrix(city: np.ndarray, w: np.ndarray) -> pd.DataFrame:
    """两区六市 x 两区六市 sums of w_ij (symmetric; diagonal: pairs inside a unit, once)."""
    codes = [u[0] for u in STUDY_UNITS]
    names = [u[1] for u in STUDY_UNITS]
    pos = {c: k for k, c in enumerate(codes)}
    unit = np.array([pos.get(c, -1) for c in city], dtype=np.int64)
    iu, ju = np.triu_indices(len(city), k=1)
    ok = (unit[iu] >= 0) & (unit[ju] >= 0)
    a, b, v = unit[iu[ok]], unit[ju[ok]], w[iu[ok], ju[ok]]
    m = np.zeros((len(codes), len(codes)))
    np.add.at(m, (a, b), v)
    cross = a != b
    np.add.at(m, (b[cross], a[cross]), v[cross])
    return pd.DataFrame(m, index=pd.Index(names, name="unit"), columns=names)


def _unit_adcode(name: str) -> str:
    return {u[1]: u[0] for u in STUDY_UNITS}.get(name, "")


# --- sensitivity ---------------------------------------------------------------------

def sensitivity(network: Network, nodes: gpd.GeoDataFrame, mass: np.ndarray, default: gpd.GeoDataFrame, *,
                decay: str, beta: float, modes: Sequence[str], statuses: Sequence[str],
                weights: Mapping[str, float], min_time_min: float, betas: Sequence[float],
                mode_sets: Sequence[Sequence[str]] | None = None,
                default_times: np.ndarray | None = None,
                default_centrality: tuple[np.ndarray, np.ndarray] | None = None,
                centrality_cutoff_s: float | None = None,
                betweenness_sample: int | None = None) -> pd.DataFrame:
    """Rank stability of composite and gravity ranks under other betas and mode sets.

    One row per (mode set, beta), the default first; Spearman correlation
    (scipy.stats.spearmanr) of each variant's values with the default run's, and the
    share of the default's top 10 (composite) still in the variant's top 10.
    """
    from scipy.stats import spearmanr

    _snap = snap

    betas = [float(b) for b in betas]
    for b in betas:
        _check_beta(decay, b)
    asked = mode_sets is not None
    if mode_sets is None:
        mode_sets = [("road",), ("road", "rail")]
    default_key = tuple(sorted(modes))
    sets: list[tuple[str, ...]] = [tuple(modes)]
    skipped = []
    for ms in mode_sets:
        key = tuple(sorted(ms))
        if key in {tuple(sorted(x)) for x in sets}:
            continue
        try:
            sets.append(resolve_modes(network, list(ms), statuses))
        except (InputError, NetworkError) as exc:
            skipped.append(f"{'+'.join(ms)}: {exc}")
    if asked:  # the default sets are skipped quietly where the network lacks a mode
        warn_count("sensitivity mode set(s) skipped", len(skipped), skipped)

    ids = nodes["id"].to_numpy()
    dflt = default.set_index("id").loc[ids]
    top_default = set(default.sort_values(["rank", "id"])["id"].head(TOP_N_OVERLAP))
    n_top = len(top_default)
    x, y = nodes.geometry.x.to_numpy(), nodes.geometry.y.to_numpy()
    access = dict(network.meta["access"])
    rows = []
    for ms in sets:
        is_default_modes = tuple(sorted(ms)) == default_key
        if is_default_modes and default_times is not None and default_centrality is not None:
            times, (betw, close) = default_times, default_centrality
        else:
            graph = network.csr(ms, statuses)
            s = _snap(graph, np.asarray(x), np.asarray(y), access)
            times = pair_times_s(graph, s, access)
            # Nodes the variant cannot snap keep no interaction and zero centrality.
            attach = np.where(s.snapped, s.attach(), np.flatnonzero(graph.active)[0])
            betw, close, _ = attachment_centrality(graph, attach, cutoff_s=centrality_cutoff_s,
                                                   sample=betweenness_sample)
            betw, close = np.where(s.snapped, betw, 0.0), np.where(s.snapped, close, 0.0)
        beta_list = list(dict.fromkeys(([beta] if is_default_modes else []) + betas))
        for b in beta_list:
            meas = _measures(times, mass, decay, b, min_time_min)
            comp = composite({"gravity": meas["gravity"], "access": meas["access"],
                              "betweenness": betw, "closeness": close}, weights)
            rank = pd.Series(comp, index=ids).sort_index(kind="stable")
            top = set(pd.DataFrame({"id": ids, "c": comp}).sort_values(["c", "id"], ascending=[False, True])
                      ["id"].head(TOP_N_OVERLAP))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # constant input -> nan, reported as such
                rho_c = spearmanr(comp, dflt["composite_index"].to_numpy()).statistic
                rho_g = spearmanr(meas["gravity"], dflt["gravity_strength"].to_numpy()).statistic
            iu, ju = np.triu_indices(len(ids), k=1)
            rows.append({
                "variant": f"{decay} beta={b:g} modes={'+'.join(ms)}",
                "is_default": bool(is_default_modes and b == beta),
                "decay": decay, "beta": b, "modes": "+".join(ms),
                "nodes": len(ids),
                "unreachable_pairs": int((~np.isfinite(times[iu, ju])).sum()),
                "spearman_composite": float(rho_c),
                "spearman_gravity": float(rho_g),
                f"top{TOP_N_OVERLAP}_shared": len(top & top_default),
                f"top{TOP_N_OVERLAP}_overlap": len(top & top_default) / n_top if n_top else np.nan,
                "top_node": rank.idxmax(),
            })
    out = pd.DataFrame(rows)
    out = out.sort_values(["is_default", "modes", "beta"], ascending=[False, True, True],
                          kind="stable").reset_index(drop=True)
    out.attrs["skipped_mode_sets"] = skipped
    return out


def _nanmin(s: pd.Series) -> float | None:
    v = pd.to_numeric(s, errors="coerce").dropna()
    return None if v.empty else float(v.min())


# --- meta helpers ----------------------------------------------------------------------

def _network_meta(network: Network) -> dict:
    keep = {k: v for k, v in network.meta.items() if isinstance(v, str | int | float | bool) and k != "access"}
    keep["counts"] = network.counts()
    return keep


def _column_doc() -> dict:
    return {
        "mass": "node mass M_i (see mass.source)",
        "gravity_strength": "S_i = sum_j M_i M_j f(t_ij)",
        "gravity_strength_index": "100 x S_i / max S",
        "access_strength": "A_i = sum_j M_j f(t_ij)",
        "betweenness": "normalised betweenness of the node's network attachment (igraph; networkx scale)",
        "closeness": "closeness of the attachment on incoming travel times (networkx wf_improved scale)",
        "composite_index": "0-100 weighted sum of min-max normalised gravity, access, betweenness, closeness",
        "tier": "core / sub-core / general by natural breaks (k=3) of composite_index",
        "rank": "rank by composite_index (1 = strongest; ties share the better rank)",
        "reachable_partners": "other nodes reachable on the network",
        "attach_node": "network node id the node attaches to (nearest snapped node)",
        "w_ij": "M_i M_j f(t_ij) with the pair time floored at min_time_min",
        "t_ij_min": "pair travel time in minutes (mean of both directions, before the floor)",
    }
