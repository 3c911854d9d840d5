"""The access model: how points off the network join it, as routing engines do.

Every point (origin, destination, node of a node-strength run, scenario point, a user's
file) joins the network at **one place**: the nearest point of the nearest *joinable*
edge, or an *entry node* (station, interchange) when that is nearer. Found with a spatial
index over the edges (shapely's STRtree) in the graph's metric CRS, vectorised.

* The joined edge is split at the snapped point: the point reaches the edge's end nodes
  along the edge, at the edge's own travel time for the part it travels, and only in the
  directions the edge allows (a one-way street only forward). Two points on the same
  street travel along it (:func:`direct_pairs`).
* The access leg is the straight distance from the point to the network, at the access
  speed with the detour factor (``settings.ACCESS_*``); zero for a point on the street.
* Motorways and their links, rail, ferries, transfer and access edges are never joined
  mid-way (``settings.NO_MIDEDGE_CLASSES``, ``MIDEDGE_MODES``): they are reached at their
  nodes only (interchanges, stations, piers; ``settings.ENTRY_NODE_KINDS``).
* Boarding rail is not part of the access model: it is an edge of the network (station
  hub to platform), so a rail trip pays it once whatever way the station is reached.
* No straight point-to-point shortcut, except an optional short walk
  (``settings.DIRECT_WALK_MAX_M``, off by default) that never crosses water.
* A point farther than ``max_snap_m`` from every joinable edge and entry node, a point
  inside a lake, or a point whose every leg would cross a lake is *unsnapped*: its
  ``status`` says why, and every consumer reports it as NaN, counted in one warning.

Costs are seconds; an absent link is node ``-1`` with cost ``inf``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import lru_cache

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from ..errors import InputError, warn_count
from ..network.model import CSRGraph, JoinableEdges
from ..settings import SNAP_NODE_TOLERANCE_M, WATER_TOLERANCE_M, WGS84

#: ``Snap.status`` values.
JOINED = "joined"
TOO_FAR = "beyond snap distance"
IN_WATER = "in a lake"
ACROSS_WATER = "access leg would cross a lake"
INVALID = "no valid coordinates"
#: Sentinel for "use the region's lakes as the water barrier".
REGION_WATER = "region"


@dataclass(frozen=True)
class Snap:
    """Where each of ``m`` points joins the network, and at what cost.

    ``out_nodes[i, k]``/``out_s[i, k]``: the nodes point ``i`` can depart to and the time
    to reach each (access leg plus the part of the joined edge travelled);
    ``in_nodes``/``in_s``: the nodes from which the point is reached and the time from
    each. ``edge[i]`` is the joined street (index into the graph's ``joinable`` edges,
    ``-1`` when the point joined a node or is unsnapped), ``frac[i]`` the position along
    it (0 at its ``u`` end), ``forward_s``/``backward_s`` the street's travel time each way.
    ``leg_m``/``leg_s``: the access leg (NaN for unsnapped points). ``status[i]`` is
    :data:`JOINED` or the reason the point is unsnapped. ``x``/``y`` are metres in the
    graph's CRS.
    """

    out_nodes: np.ndarray
    out_s: np.ndarray
    in_nodes: np.ndarray
    in_s: np.ndarray
    edge: np.ndarray
    frac: np.ndarray
    forward_s: np.ndarray
    backward_s: np.ndarray
    leg_m: np.ndarray
    leg_s: np.ndarray
    status: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @property
    def m(self) -> int:
        return int(self.out_nodes.shape[0])

    @property
    def snapped(self) -> np.ndarray:
        return self.status == JOINED

    @property
    def unsnapped_count(self) -> int:
        return int((~self.snapped).sum())

    @property
    def dist_m(self) -> np.ndarray:
        """Length of the access leg (m); NaN where unsnapped."""
        return self.leg_m

    def links(self, outward: bool) -> tuple[np.ndarray, np.ndarray]:
        """``(nodes, seconds)`` of the departing (``outward``) or arriving links."""
        return (self.out_nodes, self.out_s) if outward else (self.in_nodes, self.in_s)

    def attach(self) -> np.ndarray:
        """One node per point that stands for its place on the network (centrality, maps).

        The end node of the joined street reached fastest (departing, else arriving), or
        the joined node; ``-1`` for unsnapped points.
        """
        nodes = np.hstack([self.out_nodes, self.in_nodes])
        cost = np.where(nodes >= 0, np.hstack([self.out_s, self.in_s]), np.inf)
        if nodes.shape[1] == 0:
            return np.full(self.m, -1, dtype=np.int64)
        k = cost.argmin(axis=1)
        best = nodes[np.arange(self.m), k]
        return np.where(np.isfinite(cost.min(axis=1)) & self.snapped, best, -1).astype(np.int64)

    def subset(self, sel) -> Snap:
        """The same snap for a subset of the points (boolean mask or positions)."""
        return Snap(**{f.name: getattr(self, f.name)[sel] for f in fields(self)})


def unsnapped_reasons(s: Snap) -> dict[str, int]:
    """How many points are unsnapped, by reason."""
    vals, counts = np.unique(s.status[~s.snapped].astype(str), return_counts=True)
    return {str(v): int(c) for v, c in zip(vals, counts, strict=True)}


def warn_unsnapped(s: Snap, ids, what: str, access: dict, consequence: str) -> int:
    """One counted warning per reason, naming the points; returns the unsnapped count."""
    ids = np.asarray(list(ids), dtype=object)
    for reason in sorted(set(s.status[~s.snapped].astype(str))):
        sel = s.status == reason
        detail = f" ({access['max_snap_m']:g} m)" if reason == TOO_FAR else ""
        warn_count(f"{what} not joined to the network: {reason}{detail}; {consequence}",
                   int(sel.sum()), ids[sel].tolist())
    return s.unsnapped_count


# --- water ------------------------------------------------------------------------

@lru_cache(maxsize=8)
def _region_water(crs: str):
    from ..layers.water import lakes

    lk = lakes()
    if lk.empty:
        return None
    geom = shapely.union_all(np.asarray(lk.to_crs(crs).geometry.values))
    shapely.prepare(geom)
    return geom


def resolve_water(water, crs: str):
    """The water barrier in ``crs``: the region's lakes, a given geometry (WGS84), or none."""
    if water is None:
        return None
    if isinstance(water, str) and water == REGION_WATER:
        return _region_water(crs)
    if hasattr(water, "to_crs"):  # GeoDataFrame / GeoSeries
        geom = shapely.union_all(np.asarray(water.to_crs(crs).geometry.values))
    else:
        from pyproj import Transformer

        tr = Transformer.from_crs(WGS84, crs, always_xy=True)
        geom = shapely.transform(water, lambda c: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
    if geom is None or geom.is_empty:
        return None
    shapely.prepare(geom)
    return geom


def _deep_in_water(pts: np.ndarray, water) -> np.ndarray:
    """Points inside the water by more than the outlines' precision."""
    if water is None or len(pts) == 0:
        return np.zeros(len(pts), dtype=bool)
    inside = shapely.contains(water, pts)
    if not inside.any():
        return inside
    depth = shapely.distance(water.boundary, pts[inside])
    out = np.zeros(len(pts), dtype=bool)
    out[np.flatnonzero(inside)[depth > WATER_TOLERANCE_M]] = True
    return out


def crosses_water(x0, y0, x1, y1, water) -> np.ndarray:
    """Whether each straight leg runs across the water for more than the outlines' precision."""
    x0 = np.asarray(x0, float)
    if water is None or x0.size == 0:
        return np.zeros(x0.size, dtype=bool)
    coords = np.stack([np.column_stack([x0, np.asarray(y0, float)]),
                       np.column_stack([np.asarray(x1, float), np.asarray(y1, float)])], axis=1)
    legs = shapely.linestrings(coords)
    hit = shapely.intersects(water, legs)
    out = np.zeros(x0.size, dtype=bool)
    if hit.any():
        wet = shapely.length(shapely.intersection(legs[hit], water))
        out[np.flatnonzero(hit)] = wet > WATER_TOLERANCE_M
    return out


# --- snapping ---------------------------------------------------------------------

def snap(graph: CSRGraph, lon, lat, access: dict, *, water=REGION_WATER,
         edge_mask: np.ndarray | None = None, node_mask: np.ndarray | None = None) -> Snap:
    """Join WGS84 points to ``graph`` by the access model (see the module docstring).

    Parameters
    ----------
    graph : the routing form of a network (:meth:`Network.csr`).
    lon, lat : WGS84 coordinates of the points.
    access : the network's access model (``meta['access']``): ``detour_factor``,
        ``speed_kmh``, ``max_snap_m``.
    water : barrier for access legs: the region's lakes (default), a WGS84 geometry or
        GeoDataFrame, or None.
    edge_mask, node_mask : restrict the joinable edges / entry nodes (scenario additions).

    Returns
    -------
    Snap
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if lon.shape != lat.shape or lon.ndim != 1:
        raise InputError("snap: lon and lat must be 1-d arrays of the same length")
    valid = np.isfinite(lon) & np.isfinite(lat)
    x, y = graph.project(np.where(valid, lon, 0.0), np.where(valid, lat, 0.0))
    x, y = np.where(valid, x, np.nan), np.where(valid, y, np.nan)
    m = len(x)
    max_snap = float(access["max_snap_m"])
    leg_speed = float(access["speed_kmh"]) / 3.6
    detour = float(access["detour_factor"])
    barrier = resolve_water(water, graph.crs)

    status = np.full(m, TOO_FAR, dtype=object)
    status[~valid] = INVALID
    pts = shapely.points(np.where(valid, x, 0.0), np.where(valid, y, 0.0))
    wet = _deep_in_water(pts, barrier) & valid
    status[wet] = IN_WATER
    todo = np.flatnonzero(valid & ~wet)

    cand = _Candidates(graph, edge_mask, node_mask)
    if cand.empty and edge_mask is None and node_mask is None:
        raise InputError("the network has no edge or node a point may join (no roads, no stations)")
    choice = cand.nearest(pts[todo], x[todo], y[todo], max_snap)
    # Legs across water: look again among every candidate in reach, nearest first.
    across = np.zeros(len(todo), dtype=bool)
    f = np.flatnonzero(choice.found)
    across[f] = crosses_water(x[todo][f], y[todo][f], choice.px[f], choice.py[f], barrier)
    if across.any():
        redo = np.flatnonzero(across)
        alt = cand.nearest_dry(pts[todo][redo], x[todo][redo], y[todo][redo], max_snap, barrier)
        choice = choice.put(redo, alt)
        status[todo[redo[~alt.found]]] = ACROSS_WATER
    status[todo[choice.found]] = JOINED

    snapped = np.zeros(m, dtype=bool)
    snapped[todo[choice.found]] = True
    result = _empty(m, x, y, status)
    rows = todo[choice.found]
    c = choice.subset(choice.found)
    leg_m = c.dist
    leg_s = leg_m * detour / leg_speed
    result.leg_m[rows] = leg_m
    result.leg_s[rows] = leg_s
    on_node = c.node >= 0
    nrows = rows[on_node]
    result.out_nodes[nrows, 0] = c.node[on_node]
    result.in_nodes[nrows, 0] = c.node[on_node]
    result.out_s[nrows, 0] = leg_s[on_node]
    result.in_s[nrows, 0] = leg_s[on_node]
    on_edge = ~on_node
    if on_edge.any():
        J = graph.joinable
        e = c.edge[on_edge]
        erows = rows[on_edge]
        _edge_links(result, erows, e, c.frac[on_edge], leg_s[on_edge], J)
    return result


def _edge_links(s: Snap, rows: np.ndarray, e: np.ndarray, frac: np.ndarray, leg_s: np.ndarray,
                J: JoinableEdges) -> None:
    """Fill the links of points joined mid-way along streets ``e`` at ``frac``."""
    fwd, bwd = J.forward_s[e], J.backward_s[e]
    u, v = J.u[e], J.v[e]
    s.edge[rows] = e
    s.frac[rows] = frac
    s.forward_s[rows] = fwd
    s.backward_s[rows] = bwd
    has_f, has_b = np.isfinite(fwd), np.isfinite(bwd)
    # Departing: forward to v, backward to u. Arriving: forward from u, backward from v.
    s.out_nodes[rows, 0] = np.where(has_f, v, -1)
    s.out_s[rows, 0] = np.where(has_f, leg_s + (1.0 - frac) * fwd, np.inf)
    s.out_nodes[rows, 1] = np.where(has_b, u, -1)
    s.out_s[rows, 1] = np.where(has_b, leg_s + frac * bwd, np.inf)
    s.in_nodes[rows, 0] = np.where(has_f, u, -1)
    s.in_s[rows, 0] = np.where(has_f, leg_s + frac * fwd, np.inf)
    s.in_nodes[rows, 1] = np.where(has_b, v, -1)
    s.in_s[rows, 1] = np.where(has_b, leg_s + (1.0 - frac) * bwd, np.inf)


def _empty(m: int, x: np.ndarray, y: np.ndarray, status: np.ndarray) -> Snap:
    return Snap(out_nodes=np.full((m, 2), -1, dtype=np.int64), out_s=np.full((m, 2), np.inf),
                in_nodes=np.full((m, 2), -1, dtype=np.int64), in_s=np.full((m, 2), np.inf),
                edge=np.full(m, -1, dtype=np.int64), frac=np.full(m, np.nan),
                forward_s=np.full(m, np.inf), backward_s=np.full(m, np.inf),
                leg_m=np.full(m, np.nan), leg_s=np.full(m, np.nan),
                status=status, x=np.asarray(x, float), y=np.asarray(y, float))


@dataclass
class _Choice:
    """For each query point: the join found (``node`` >= 0, or ``edge`` >= 0 at ``frac``)."""

    found: np.ndarray
    dist: np.ndarray
    node: np.ndarray
    edge: np.ndarray
    frac: np.ndarray
    px: np.ndarray
    py: np.ndarray

    @classmethod
    def none(cls, k: int) -> _Choice:
        return cls(np.zeros(k, bool), np.full(k, np.inf), np.full(k, -1, np.int64),
                   np.full(k, -1, np.int64), np.full(k, np.nan), np.full(k, np.nan), np.full(k, np.nan))

    def subset(self, sel) -> _Choice:
        return _Choice(*(getattr(self, f.name)[sel] for f in fields(self)))

    def put(self, rows: np.ndarray, other: _Choice) -> _Choice:
        out = replace(self, **{f.name: getattr(self, f.name).copy() for f in fields(self)})
        for f in fields(self):
            getattr(out, f.name)[rows] = getattr(other, f.name)
        return out


class _Candidates:
    """The joinable streets and entry nodes of a graph, indexed for nearest queries."""

    def __init__(self, graph: CSRGraph, edge_mask=None, node_mask=None):
        self.graph = graph
        J = graph.joinable
        n_edges = 0 if J is None else J.n
        self.edges = np.arange(n_edges) if edge_mask is None else np.flatnonzero(edge_mask)
        entry = graph.entry if graph.entry is not None else np.zeros(graph.n, bool)
        if node_mask is not None:
            entry = entry & node_mask
        self.nodes = np.flatnonzero(entry)
        self.empty = self.edges.size == 0 and self.nodes.size == 0
        self._tree = None
        self._kd = None

    def _edge_tree(self):
        if self._tree is None and self.edges.size:
            J = self.graph.joinable
            self._tree = J.tree if self.edges.size == J.n else shapely.STRtree(J.lines[self.edges])
        return self._tree

    def _node_tree(self):
        if self._kd is None and self.nodes.size:
            self._kd = cKDTree(np.column_stack([self.graph.x[self.nodes], self.graph.y[self.nodes]]))
        return self._kd

    def nearest(self, pts, x, y, max_snap: float) -> _Choice:
        """The nearest street or entry node of each point within ``max_snap``."""
        k = len(pts)
        best = _Choice.none(k)
        tree = self._edge_tree()
        if tree is not None and k:
            (qi, ti), d = tree.query_nearest(pts, max_distance=max_snap, return_distance=True,
                                             all_matches=False)
            self._set_edges(best, qi, self.edges[ti], d, pts)
        kd = self._node_tree()
        if kd is not None and k:
            d, j = kd.query(np.column_stack([x, y]), k=1, distance_upper_bound=max_snap)
            better = np.isfinite(d) & (d <= best.dist)
            self._set_nodes(best, np.flatnonzero(better), self.nodes[j[better]], d[better])
        return best

    def nearest_dry(self, pts, x, y, max_snap: float, water) -> _Choice:
        """Like :meth:`nearest`, but the nearest candidate whose leg stays out of the water."""
        k = len(pts)
        rows, node, edge, dist = [], [], [], []
        tree = self._edge_tree()
        if tree is not None:
            qi, ti = tree.query(pts, predicate="dwithin", distance=max_snap)
            e = self.edges[ti]
            rows.append(qi)
            edge.append(e)
            node.append(np.full(len(qi), -1, np.int64))
            dist.append(shapely.distance(pts[qi], self.graph.joinable.lines[e]))
        kd = self._node_tree()
        if kd is not None:
            hits = kd.query_ball_point(np.column_stack([x, y]), r=max_snap)
            qi = np.repeat(np.arange(k), [len(h) for h in hits])
            j = np.concatenate([np.asarray(h, np.int64) for h in hits]) if len(qi) else np.empty(0, np.int64)
            nd = self.nodes[j]
            rows.append(qi)
            node.append(nd)
            edge.append(np.full(len(qi), -1, np.int64))
            dist.append(np.hypot(self.graph.x[nd] - x[qi], self.graph.y[nd] - y[qi]))
        best = _Choice.none(k)
        if not rows:
            return best
        cand = pd.DataFrame({"q": np.concatenate(rows), "node": np.concatenate(node),
                             "edge": np.concatenate(edge), "dist": np.concatenate(dist)})
        cand = cand.sort_values(["q", "dist"], kind="stable").reset_index(drop=True)
        trial = _Choice.none(len(cand))
        on_e = np.flatnonzero(cand["edge"].to_numpy() >= 0)
        self._set_edges(trial, on_e, cand["edge"].to_numpy()[on_e], cand["dist"].to_numpy()[on_e],
                        pts[cand["q"].to_numpy()[on_e]], reindex=False)
        on_n = np.flatnonzero(cand["node"].to_numpy() >= 0)
        self._set_nodes(trial, on_n, cand["node"].to_numpy()[on_n], cand["dist"].to_numpy()[on_n])
        q = cand["q"].to_numpy()
        dry = ~crosses_water(x[q], y[q], trial.px, trial.py, water)
        first = pd.Series(np.flatnonzero(dry)).groupby(q[dry]).first()
        return best.put(first.index.to_numpy(), trial.subset(first.to_numpy()))

    def _set_edges(self, ch: _Choice, rows, e, d, pts, reindex: bool = True) -> None:
        if len(rows) == 0:
            return
        lines = self.graph.joinable.lines[e]
        p = pts[rows] if reindex else pts
        along = shapely.line_locate_point(lines, p)
        length = shapely.length(lines)
        at = shapely.line_interpolate_point(lines, along)
        frac = np.where(length > 0, along / np.where(length > 0, length, 1.0), 0.0)
        J = self.graph.joinable
        # A point that projects onto an end of the street joins that node itself.
        at_u = along <= SNAP_NODE_TOLERANCE_M
        at_v = (length - along) <= SNAP_NODE_TOLERANCE_M
        ch.found[rows] = True
        ch.dist[rows] = d
        ch.edge[rows] = np.where(at_u | at_v, -1, e)
        ch.node[rows] = np.where(at_u, J.u[e], np.where(at_v, J.v[e], -1))
        ch.frac[rows] = frac
        ch.px[rows] = shapely.get_x(at)
        ch.py[rows] = shapely.get_y(at)

    def _set_nodes(self, ch: _Choice, rows, nodes, d) -> None:
        if len(rows) == 0:
            return
        ch.found[rows] = True
        ch.dist[rows] = d
        ch.node[rows] = nodes
        ch.edge[rows] = -1
        ch.frac[rows] = np.nan
        ch.px[rows] = self.graph.x[nodes]
        ch.py[rows] = self.graph.y[nodes]


def node_snap(graph: CSRGraph, positions) -> Snap:
    """A Snap for points that sit exactly on network nodes (zero access leg)."""
    positions = np.asarray(positions, dtype=np.int64)
    m = len(positions)
    s = _empty(m, graph.x[positions], graph.y[positions], np.full(m, JOINED, dtype=object))
    s.out_nodes[:, 0] = positions
    s.in_nodes[:, 0] = positions
    s.out_s[:, 0] = 0.0
    s.in_s[:, 0] = 0.0
    s.leg_m[:] = 0.0
    s.leg_s[:] = 0.0
    return s


def merge_snaps(a: Snap, b: Snap) -> Snap:
    """Both sets of links for the same points (the better of the two counts in routing)."""
    status = np.where(a.snapped | b.snapped, JOINED, a.status).astype(object)
    use_b = ~a.snapped & b.snapped
    pick = {f: np.where(use_b, getattr(b, f), getattr(a, f))
            for f in ("edge", "frac", "forward_s", "backward_s", "leg_m", "leg_s")}
    return Snap(np.hstack([a.out_nodes, b.out_nodes]), np.hstack([a.out_s, b.out_s]),
                np.hstack([a.in_nodes, b.in_nodes]), np.hstack([a.in_s, b.in_s]),
                status=status, x=a.x, y=a.y, **pick)


def snap_like(graph: CSRGraph, base: CSRGraph, lon, lat, access: dict, *, water=REGION_WATER) -> Snap:
    """Join points to ``graph`` where they join ``base``, plus where ``graph`` adds places to join.

    For comparing a scenario with its base: each point keeps the place it joins on the
    base (the same street at the same position, with the scenario's travel times on it,
    or the same entry node), and the streets and entry nodes the scenario adds are offered
    as further links. Any change in travel time then comes from the network change
    itself, never from points re-joining the network elsewhere. A point whose base street
    or node the scenario removes keeps only the added links.
    """
    base_snap = snap(base, lon, lat, access, water=water)
    out = _empty(base_snap.m, *graph.project(np.asarray(lon, float), np.asarray(lat, float)),
                 base_snap.status.copy())
    out.leg_m[:] = base_snap.leg_m
    out.leg_s[:] = base_snap.leg_s
    # Entry and street nodes, by id.
    on_node = base_snap.snapped & (base_snap.edge < 0)
    ids = base.node_ids[np.maximum(base_snap.out_nodes[:, 0], 0)]
    pos, found = _positions(graph, ids)
    keep = on_node & found & graph.active[np.maximum(pos, 0)]
    out.out_nodes[keep, 0] = pos[keep]
    out.in_nodes[keep, 0] = pos[keep]
    out.out_s[keep, 0] = base_snap.leg_s[keep]
    out.in_s[keep, 0] = base_snap.leg_s[keep]
    # Streets, by (u id, v id, length).
    on_edge = base_snap.snapped & (base_snap.edge >= 0)
    if on_edge.any() and graph.joinable is not None and graph.joinable.n:
        base_keys = base.joinable.keys(base.node_ids)[base_snap.edge[on_edge]]
        lookup = pd.Series(np.arange(graph.joinable.n), index=graph.joinable.keys(graph.node_ids))
        lookup = lookup[~lookup.index.duplicated()]
        e = lookup.reindex(base_keys).to_numpy()
        ok = ~np.isnan(e)
        rows = np.flatnonzero(on_edge)[ok]
        _edge_links(out, rows, e[ok].astype(np.int64), base_snap.frac[rows], base_snap.leg_s[rows],
                    graph.joinable)
    lost = base_snap.snapped & ~((out.out_nodes >= 0).any(axis=1) | (out.in_nodes >= 0).any(axis=1))
    out.status[lost] = TOO_FAR
    node_added = ~np.isin(graph.node_ids, base.node_ids)
    edge_added = None
    if graph.joinable is not None and graph.joinable.n:
        base_index = base.joinable.keys(base.node_ids) if base.joinable is not None else pd.MultiIndex.from_arrays([[], [], []])
        edge_added = ~graph.joinable.keys(graph.node_ids).isin(base_index)
    if not node_added.any() and (edge_added is None or not edge_added.any()):
        return out
    added = snap(graph, lon, lat, access, water=water,
                 edge_mask=edge_added if edge_added is not None else np.zeros(0, bool),
                 node_mask=node_added)
    return merge_snaps(out, added)


def _positions(graph: CSRGraph, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(graph.node_ids, kind="stable")
    pos = np.clip(np.searchsorted(graph.node_ids, ids, sorter=order), 0, len(order) - 1)
    found = graph.node_ids[order[pos]] == ids
    return np.where(found, order[pos], -1), found


# --- trips that do not enter the network -------------------------------------------

def direct_pairs(a: Snap, b: Snap, access: dict, *, water=None, crs: str | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trips from points ``a`` to points ``b`` that do not pass through a network node.

    Two points on the same street travel along it: forward when ``b`` lies ahead of ``a``
    on a street open that way, backward likewise, plus both access legs. With
    ``access['walk_max_m'] > 0``, points that close (straight line) may also walk, at
    ``walk_speed_kmh`` with the detour factor, unless the line crosses water.

    Returns
    -------
    (i, j, seconds) : arrays of the pairs (indices into ``a`` and ``b``), best time each.
    """
    ia, ib, t = [], [], []
    ea, eb = a.edge, b.edge
    if (ea >= 0).any() and (eb >= 0).any():
        sa = np.flatnonzero(ea >= 0)
        order = sa[np.argsort(ea[sa], kind="stable")]
        sorted_e = ea[order]
        jb = np.flatnonzero(eb >= 0)
        lo = np.searchsorted(sorted_e, eb[jb], "left")
        hi = np.searchsorted(sorted_e, eb[jb], "right")
        cnt = hi - lo
        if cnt.sum():
            j = np.repeat(jb, cnt)
            starts = np.repeat(lo, cnt)
            offs = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            i = order[starts + offs]
            fa, fb = a.frac[i], b.frac[j]
            ahead = np.where(fb >= fa, (fb - fa) * a.forward_s[i], np.inf)
            behind = np.where(fb <= fa, (fa - fb) * a.backward_s[i], np.inf)
            tt = np.minimum(ahead, behind) + a.leg_s[i] + b.leg_s[j]
            ok = np.isfinite(tt)
            ia.append(i[ok])
            ib.append(j[ok])
            t.append(tt[ok])
    walk = float(access.get("walk_max_m", 0.0) or 0.0)
    if walk > 0 and a.m and b.m:
        ga, gb = np.flatnonzero(a.snapped), np.flatnonzero(b.snapped)
        if ga.size and gb.size:
            tree_b = cKDTree(np.column_stack([b.x[gb], b.y[gb]]))
            hits = tree_b.query_ball_point(np.column_stack([a.x[ga], a.y[ga]]), r=walk)
            i = np.repeat(ga, [len(h) for h in hits])
            j = gb[np.concatenate([np.asarray(h, np.int64) for h in hits])] if len(i) else np.empty(0, np.int64)
            barrier = resolve_water(water, crs) if crs else None
            dry = ~crosses_water(a.x[i], a.y[i], b.x[j], b.y[j], barrier)
            d = np.hypot(a.x[i] - b.x[j], a.y[i] - b.y[j])
            speed = float(access.get("walk_speed_kmh", 5.0)) / 3.6
            ia.append(i[dry])
            ib.append(j[dry])
            t.append(d[dry] * float(access["detour_factor"]) / speed)
    if not ia:
        empty = np.empty(0, np.int64)
        return empty, empty, np.empty(0)
    i, j, tt = np.concatenate(ia), np.concatenate(ib), np.concatenate(t)
    if len(i) == 0:
        return i, j, tt
    frame = pd.DataFrame({"i": i, "j": j, "t": tt}).groupby(["j", "i"], sort=True)["t"].min().reset_index()
    return frame["i"].to_numpy(np.int64), frame["j"].to_numpy(np.int64), frame["t"].to_numpy(float)


def check_access(access: dict) -> dict:
    """Validate a network's access model; raise NetworkError naming the faulty key."""
    import math

    from ..errors import NetworkError

    need = ("detour_factor", "speed_kmh", "max_snap_m")
    missing = [k for k in need if k not in access]
    if missing:
        raise NetworkError(f"network meta['access'] lacks {', '.join(missing)}")
    for k in need:
        v = float(access[k])
        if not (math.isfinite(v) and v > 0):
            raise NetworkError(f"network access model: {k} must be positive, got {access[k]!r}")
    walk = float(access.get("walk_max_m", 0.0) or 0.0)
    if not (math.isfinite(walk) and walk >= 0):
        raise NetworkError(f"network access model: walk_max_m must be >= 0, got {access.get('walk_max_m')!r}")
    return dict(access)


__all__ = ["Snap", "snap", "snap_like", "node_snap", "merge_snaps", "direct_pairs", "check_access",
           "crosses_water", "resolve_water", "warn_unsnapped", "unsnapped_reasons",
           "JOINED", "TOO_FAR", "IN_WATER", "ACROSS_WATER", "REGION_WATER"]
