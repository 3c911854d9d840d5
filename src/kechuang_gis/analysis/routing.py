"""Routing kernel: snapping points to the network and shortest travel times on the CSR form.

Everything runs on :class:`~kechuang_gis.network.model.CSRGraph` with
``scipy.sparse.csgraph.dijkstra``. Points off the network (grid cells, parks, user
points) join it through the network's access model: each point is linked to its
``k`` nearest active nodes at cost ``distance x detour / access speed`` (+ the boarding
penalty at stations); points farther than ``max_snap_m`` from every node stay
unsnapped, so nothing is silently joined across Taihu.

Travel between two points is the better of (a) the access leg to the network, the
network path and the egress leg, and (b) the direct access-speed leg between the two
points. Unreachable stays ``inf`` here; public outputs turn it into NaN and count it.

Multi-source searches with different start costs are run by adding one virtual node
per point, linked to its snapped nodes by its access costs, and searching from the
virtual nodes: one Dijkstra call, no per-destination Python loop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from ..errors import InputError
from ..network.model import CSRGraph


@dataclass(frozen=True)
class Snap:
    """Where each of ``m`` points joins the network.

    ``nodes[i, :]`` are node positions in the CSR graph (``-1`` where fewer than ``k``
    were in reach), ``cost_s[i, :]`` the access time to each (``inf`` where absent),
    ``dist_m[i]`` the distance to the nearest node, ``snapped[i]`` whether any node was
    within ``max_snap_m``. ``x``/``y`` are the points in EPSG:4549.
    """

    nodes: np.ndarray
    cost_s: np.ndarray
    dist_m: np.ndarray
    snapped: np.ndarray
    x: np.ndarray
    y: np.ndarray

    @property
    def m(self) -> int:
        return int(self.nodes.shape[0])

    @property
    def unsnapped_count(self) -> int:
        return int((~self.snapped).sum())


def snap(graph: CSRGraph, x: np.ndarray, y: np.ndarray, access: dict,
         candidates: np.ndarray | None = None) -> Snap:
    """Join points (EPSG:4549 metres) to their nearest active nodes with access costs.

    ``candidates`` (boolean mask over the graph's nodes) restricts which nodes may be
    joined; by default every active node may.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise InputError("snap: x and y must be 1-d arrays of the same length")
    mask = graph.active if candidates is None else graph.active & candidates
    active = np.flatnonzero(mask)
    if active.size == 0:
        if candidates is not None:
            return _empty_snap(x, y)
        raise InputError("the network has no routable nodes to snap to")
    k = int(min(access["k_nearest"], active.size))
    tree = cKDTree(np.column_stack([graph.x[active], graph.y[active]]))
    dist, idx = tree.query(np.column_stack([x, y]), k=k, distance_upper_bound=float(access["max_snap_m"]))
    dist = dist.reshape(len(x), k)
    idx = idx.reshape(len(x), k)
    found = np.isfinite(dist)
    nodes = np.where(found, active[np.minimum(idx, active.size - 1)], -1)
    speed_ms = float(access["speed_kmh"]) / 3.6
    cost = dist * float(access["detour_factor"]) / speed_ms
    cost = np.where(found, cost + graph.penalty_s[np.maximum(nodes, 0)], np.inf)
    return Snap(nodes=nodes, cost_s=cost, dist_m=dist[:, 0], snapped=found[:, 0], x=x, y=y)


def _empty_snap(x: np.ndarray, y: np.ndarray) -> Snap:
    m = len(x)
    return Snap(np.full((m, 0), -1), np.full((m, 0), np.inf), np.full(m, np.inf),
                np.zeros(m, dtype=bool), x, y)


def merge_snaps(a: Snap, b: Snap) -> Snap:
    """Both sets of access links for the same points (columns side by side)."""
    return Snap(np.hstack([a.nodes, b.nodes]), np.hstack([a.cost_s, b.cost_s]),
                np.minimum(a.dist_m, b.dist_m), a.snapped | b.snapped, a.x, a.y)


def snap_like(graph: CSRGraph, base: CSRGraph, x: np.ndarray, y: np.ndarray, access: dict) -> Snap:
    """Join points to ``graph`` through the same nodes as on ``base``, plus the nodes ``graph`` adds.

    For comparing a scenario with its base: with the base's access links kept and the
    new nodes offered as extra links, the scenario's access is a superset of the base's
    where nodes were added and a subset where they were removed, so any change in travel
    time comes from the network change itself, never from points re-joining the network
    at other nodes.
    """
    base_snap = snap(base, x, y, access)
    ids = np.where(base_snap.nodes >= 0, base.node_ids[np.maximum(base_snap.nodes, 0)], -1)
    order = np.argsort(graph.node_ids, kind="stable")
    pos = np.searchsorted(graph.node_ids, ids, sorter=order)
    pos = np.clip(pos, 0, len(order) - 1)
    found = (ids >= 0) & (graph.node_ids[order[pos]] == ids)
    nodes = np.where(found, order[pos], -1)
    # Costs depend only on the point, the node's position and its boarding penalty, which
    # the scenario keeps; they are recomputed on ``graph`` so penalties stay its own.
    dist = np.hypot(graph.x[np.maximum(nodes, 0)] - x[:, None], graph.y[np.maximum(nodes, 0)] - y[:, None])
    cost = dist * float(access["detour_factor"]) / (float(access["speed_kmh"]) / 3.6)
    cost = np.where(found, cost + graph.penalty_s[np.maximum(nodes, 0)], np.inf)
    kept = Snap(nodes, cost, base_snap.dist_m, base_snap.snapped & found.any(axis=1), x, y)
    added = ~np.isin(graph.node_ids, base.node_ids)
    if not added.any():
        return kept
    return merge_snaps(kept, snap(graph, x, y, access, candidates=added))


def _with_virtual_sources(matrix: sp.csr_array, snapped: Snap) -> sp.csr_array:
    """Append one virtual node per point with edges to its snapped nodes (weights = cost).

    The virtual rows are appended to the CSR arrays directly (no re-sorting of the
    network's edges): on a million-node graph this costs milliseconds, not a rebuild.
    Explicit zero weights stay edges (a point exactly on a node has a zero-cost link).
    """
    mat = matrix.tocsr()
    n = mat.shape[0]
    m = snapped.m
    ok = snapped.nodes >= 0
    cols = snapped.nodes[ok]  # row-major: grouped by point, as CSR rows must be
    w = snapped.cost_s[ok]
    idx_dtype = np.int64 if n + m >= 2**31 - 1 else np.int32
    indptr = np.concatenate([mat.indptr.astype(np.int64),
                             mat.indptr[-1] + np.cumsum(ok.sum(axis=1), dtype=np.int64)])
    indices = np.concatenate([mat.indices, cols]).astype(idx_dtype, copy=False)
    data = np.concatenate([mat.data.astype(float, copy=False), w.astype(float, copy=False)])
    return sp.csr_array((data, indices, indptr.astype(idx_dtype, copy=False)), shape=(n + m, n + m))


def node_fields(graph: CSRGraph, points: Snap, *, reverse: bool = False,
                limit_s: float | None = None) -> np.ndarray:
    """Travel time (s) between each point and every node: shape (m, n), ``inf`` unreachable.

    Forward: from the point into the network. ``reverse=True``: from every node *to*
    the point (what one-way networks need for "time to reach a destination").
    """
    from . import kernels

    parts = [f for _, _, f in kernels.iter_fields(graph, points, reverse=reverse, limit_s=limit_s)]
    return np.vstack(parts) if parts else np.empty((0, graph.n))


def point_to_point(graph: CSRGraph, origins: Snap, dests: Snap, access: dict, *,
                   limit_s: float | None = None, batch: int | None = None) -> np.ndarray:
    """Origin x destination travel times (s), shape (m_o, m_d), ``inf`` where unreachable.

    Reverse fields from the destinations (time from every node to each destination)
    are combined with each origin's access legs; the direct access-speed leg between
    the two points is also allowed. The work is done by :mod:`.kernels`, which builds
    the augmented graph once and bounds memory per batch of destinations.
    """
    from . import kernels

    problem = kernels.prepare(graph, origins, dests, access, reverse=True, limit_s=limit_s)
    od, _ = kernels.run(problem, batch=batch)
    return od


def direct_times(origins: Snap, dests: Snap, access: dict) -> np.ndarray:
    """Straight-line x detour at access speed between every origin and destination (s)."""
    dx = origins.x[:, None] - dests.x[None, :]
    dy = origins.y[:, None] - dests.y[None, :]
    dist = np.hypot(dx, dy)
    t = dist * float(access["detour_factor"]) / (float(access["speed_kmh"]) / 3.6)
    # The direct leg is an access trip: no longer than the snapping radius allows.
    return np.where(dist <= float(access["max_snap_m"]), t, np.inf)


def nearest(graph: CSRGraph, origins: Snap, dests: Snap, access: dict, *,
            limit_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Time (s) from each origin to its nearest destination and that destination's index.

    One multi-source search over the reversed graph from all destinations at once
    (``min_only``), then each origin takes its best access node: cost independent of the
    number of destinations. Unreachable: time ``inf``, index ``-1``.
    """
    from . import kernels

    field, owner = kernels.nearest_field(graph, dests, reverse=True, limit_s=limit_s)
    o_nodes = np.maximum(origins.nodes, 0)
    via = np.where(origins.nodes >= 0, origins.cost_s + field[o_nodes], np.inf)
    best_k = via.argmin(axis=1)
    rows = np.arange(origins.m)
    t = via[rows, best_k]
    who = np.where(np.isfinite(t), owner[o_nodes[rows, best_k]], -1)
    # Direct legs to destinations within snapping range can beat the network.
    if dests.m:
        tree = cKDTree(np.column_stack([dests.x, dests.y]))
        dd, dj = tree.query(np.column_stack([origins.x, origins.y]), k=1)
        td = dd * float(access["detour_factor"]) / (float(access["speed_kmh"]) / 3.6)
        better = (dd <= float(access["max_snap_m"])) & (td < t)
        t = np.where(better, td, t)
        who = np.where(better, dj, who)
    if limit_s is not None:
        over = t > limit_s
        t[over] = np.inf
        who[over] = -1
    return t, who.astype(np.int64)


def _subset(s: Snap, sel) -> Snap:
    return Snap(s.nodes[sel], s.cost_s[sel], s.dist_m[sel], s.snapped[sel], s.x[sel], s.y[sel])
