"""Travel times between points on a network: nearest destination, OD matrices, node fields.

Points join the network by the access model of :mod:`.snap` (nearest joinable street or
entry node, split edge, straight access leg); the searches run on
:class:`~kechuang_gis.network.model.CSRGraph` through the batched kernels of
:mod:`.kernels`. A trip is the departing link of its origin, the network path and the
arriving link of its destination; trips that pass no network node (two points on one
street, the optional short walk) are added by :func:`.snap.direct_pairs`. Unreachable
stays ``inf`` here; public outputs turn it into NaN and count it.
"""

from __future__ import annotations

import numpy as np

from ..network.model import CSRGraph
from . import kernels
from .snap import Snap, direct_pairs, merge_snaps, snap, snap_like

__all__ = ["Snap", "snap", "snap_like", "merge_snaps", "node_fields", "point_to_point", "nearest"]


def node_fields(graph: CSRGraph, points: Snap, *, reverse: bool = False,
                limit_s: float | None = None) -> np.ndarray:
    """Travel time (s) between each point and every node: shape (m, n), ``inf`` unreachable.

    Forward: from the point into the network. ``reverse=True``: from every node *to*
    the point (what one-way networks need for "time to reach a destination").
    """
    parts = [f for _, _, f in kernels.iter_fields(graph, points, reverse=reverse, limit_s=limit_s)]
    return np.vstack(parts) if parts else np.empty((0, graph.n))


def point_to_point(graph: CSRGraph, origins: Snap, dests: Snap, access: dict, *,
                   limit_s: float | None = None, batch: int | None = None,
                   water=None) -> np.ndarray:
    """Origin x destination travel times (s), shape (m_o, m_d), ``inf`` where unreachable.

    Reverse fields from the destinations (time from every node to each destination)
    are combined with each origin's departing links, and the trips that stay on one
    street are added. The work is done by :mod:`.kernels`, which builds the augmented
    graph once and bounds memory per batch of destinations.
    """
    problem = kernels.prepare(graph, origins, dests, access, reverse=True, limit_s=limit_s,
                              water=water)
    od, _ = kernels.run(problem, batch=batch)
    return od


def nearest(graph: CSRGraph, origins: Snap, dests: Snap, access: dict, *,
            limit_s: float | None = None, water=None) -> tuple[np.ndarray, np.ndarray]:
    """Time (s) from each origin to its nearest destination and that destination's index.

    One multi-source search over the reversed graph from all destinations at once
    (``min_only``), then each origin takes its best departing link: cost independent of
    the number of destinations. Trips along one street (and the optional walk) can beat
    the network. Unreachable: time ``inf``, index ``-1``.
    """
    field, owner = kernels.nearest_field(graph, dests, reverse=True, limit_s=limit_s)
    nodes, cost = origins.links(outward=True)
    o_nodes = np.maximum(nodes, 0)
    via = np.where(nodes >= 0, cost + field[o_nodes], np.inf)
    best_k = via.argmin(axis=1) if via.shape[1] else np.zeros(origins.m, dtype=np.int64)
    rows = np.arange(origins.m)
    t = via[rows, best_k] if via.shape[1] else np.full(origins.m, np.inf)
    who = np.where(np.isfinite(t), owner[o_nodes[rows, best_k]], -1) if via.shape[1] else np.full(origins.m, -1)
    i, j, td = direct_pairs(origins, dests, access, water=water, crs=graph.crs)
    if len(i):
        order = np.lexsort((td, i))
        i, j, td = i[order], j[order], td[order]
        first = np.ones(len(i), dtype=bool)
        first[1:] = i[1:] != i[:-1]
        i, j, td = i[first], j[first], td[first]
        better = td < t[i]
        t[i[better]] = td[better]
        who[i[better]] = j[better]
    if limit_s is not None:
        over = t > limit_s
        t[over] = np.inf
        who[over] = -1
    return t, np.asarray(who, dtype=np.int64)
