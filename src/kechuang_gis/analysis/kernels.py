"""Batched travel-time kernels: many destinations, bounded memory, on the CSR form.

Points join the network by the access model of :mod:`.snap` (each with a few departing
and arriving links). Multi-source searches start from one virtual node per point, linked
to the nodes it arrives from (reverse search: time *to* the point) or departs to
(forward search: time *from* it): one Dijkstra call, no per-destination Python loop.

The virtual-source matrix is built once for all destinations (:func:`prepare`) and the
batches only choose which virtual rows to search from. A :class:`Problem` holds
everything a batch needs (the augmented CSR matrix, both snaps, the access model, the
limits, the trips that stay on one street), so the same :func:`solve_batch` runs in this
process or, unchanged, on a Dask worker that received the problem once (see
:mod:`.distributed`): results are identical by construction.

Threads are not used: two threads running ``dijkstra`` on a 1M-node grid took as long
as one (scipy 1.17). On the 2-vCPU benchmark machine two *processes* did not scale
either (the search is memory-bound and the vCPUs share a core's throughput: even a pure
Python loop only ran 1.3x faster on two processes), so the GIL question stays open
there; parallelism goes through Dask processes, which scale across real machines.

Units are seconds; unreachable (or beyond the limit) is ``inf`` here. Public outputs
convert to minutes with NaN (:mod:`.accessibility`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from ..errors import InputError
from ..network.model import CSRGraph
from .snap import Snap, direct_pairs, node_snap

#: Memory allowed for one batch of node fields (bytes): batch size = this / (8 n).
FIELD_BATCH_BYTES = 512 * 2**20


@dataclass(frozen=True)
class Problem:
    """One many-to-many travel-time job, self-contained so it can be shipped once.

    ``aug`` is the (reversed, when ``reverse``) network with one virtual node per
    destination appended (positions ``n .. n + m_d - 1``). ``iso_max_s`` asks
    :func:`solve_batch` to also return, per destination, the active nodes reached within
    that time (for isochrones).
    """

    aug: sp.csr_array
    n: int
    origins: Snap
    dests: Snap
    access: dict
    limit_s: float
    reverse: bool
    active: np.ndarray
    iso_max_s: float | None = None
    #: Origin-destination trips that pass no network node (same street, short walk):
    #: (origin index, destination index, seconds), sorted by destination.
    direct: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @property
    def m_dest(self) -> int:
        return self.dests.m


@dataclass(frozen=True)
class BatchResult:
    """Travel times for destinations ``start:stop``.

    ``od[o, j]``: seconds from origin ``o`` to destination ``start + j`` (``inf`` when
    unreachable or beyond the limit). ``reach[j]`` (when isochrones were asked): node
    positions and their times (s) within ``iso_max_s``.
    """

    start: int
    stop: int
    od: np.ndarray
    reach: list[tuple[np.ndarray, np.ndarray]] | None


def check_limit(limit_s: float | None) -> float:
    """The search limit in seconds (``inf`` for none); refuse zero or negative limits."""
    if limit_s is None:
        return np.inf
    limit = float(limit_s)
    if not limit > 0:
        raise InputError(f"time limit must be positive, got {limit_s!r} s")
    return limit


def with_virtual_sources(matrix: sp.csr_array, nodes: np.ndarray, cost_s: np.ndarray) -> sp.csr_array:
    """Append one virtual node per point with edges to ``nodes[i, :]`` weighted ``cost_s[i, :]``.

    The virtual rows are appended to the CSR arrays directly (no re-sorting of the
    network's edges): on a million-node graph this costs milliseconds, not a rebuild.
    Explicit zero weights stay edges (a point exactly on a node has a zero-cost link).
    """
    mat = matrix.tocsr()
    n = mat.shape[0]
    m = nodes.shape[0]
    ok = (nodes >= 0) & np.isfinite(cost_s)
    cols = nodes[ok]  # row-major: grouped by point, as CSR rows must be
    w = cost_s[ok]
    idx_dtype = np.int64 if n + m >= 2**31 - 1 else np.int32
    indptr = np.concatenate([mat.indptr.astype(np.int64),
                             mat.indptr[-1] + np.cumsum(ok.sum(axis=1), dtype=np.int64)])
    indices = np.concatenate([mat.indices, cols]).astype(idx_dtype, copy=False)
    data = np.concatenate([mat.data.astype(float, copy=False), w.astype(float, copy=False)])
    return sp.csr_array((data, indices, indptr.astype(idx_dtype, copy=False)), shape=(n + m, n + m))


def augmented(graph: CSRGraph, sources: Snap, reverse: bool) -> sp.csr_array:
    """The graph (transposed when ``reverse``) with one virtual source per point.

    Reverse: the search runs against the edges from each point's *arriving* links, so
    fields are times from every node to the point; forward: from its departing links.
    """
    base = graph.matrix.T.tocsr() if reverse else graph.matrix.tocsr()
    nodes, cost = sources.links(outward=not reverse)
    return with_virtual_sources(base, nodes, cost)


def prepare(graph: CSRGraph, origins: Snap, dests: Snap, access: dict, *,
            reverse: bool = True, limit_s: float | None = None,
            iso_max_s: float | None = None, water=None) -> Problem:
    """Build the augmented matrix once for all destinations.

    ``reverse=True`` (the default) measures travel from origins *to* destinations, which
    on one-way networks needs the transposed graph searched from the destinations;
    ``reverse=False`` measures travel from the destinations to the origins. ``water``:
    the barrier for the optional direct walk (see :func:`.snap.direct_pairs`).
    """
    limit = check_limit(limit_s)
    aug = augmented(graph, dests, reverse)
    a, b = (origins, dests) if reverse else (dests, origins)
    i, j, t = direct_pairs(a, b, access, water=water, crs=graph.crs)
    direct = (i, j, t) if reverse else (j, i, t)
    order = np.argsort(direct[1], kind="stable")
    direct = tuple(arr[order] for arr in direct)
    return Problem(aug=aug, n=graph.n, origins=origins, dests=dests, access=dict(access),
                   limit_s=limit, reverse=reverse, active=graph.active, iso_max_s=iso_max_s,
                   direct=direct)


def default_batch(n: int, budget_bytes: int = FIELD_BATCH_BYTES) -> int:
    """Destinations per batch so that one batch of fields stays within ``budget_bytes``."""
    return int(max(1, min(256, budget_bytes // (8 * max(n, 1)))))


def batches(m: int, size: int) -> list[tuple[int, int]]:
    """Contiguous ``(start, stop)`` ranges covering ``0..m``."""
    size = max(1, int(size))
    return [(s, min(s + size, m)) for s in range(0, m, size)]


def batch_fields(problem: Problem, start: int, stop: int) -> np.ndarray:
    """Node fields (s) of destinations ``start:stop``: shape (stop - start, n)."""
    n = problem.n
    idx = np.arange(n + start, n + stop)
    search_limit = problem.limit_s
    if problem.iso_max_s is not None:
        search_limit = max(search_limit, problem.iso_max_s) if np.isfinite(search_limit) else search_limit
    d = dijkstra(problem.aug, directed=True, indices=idx, limit=search_limit)
    return d[:, :n]


def combine(fields: np.ndarray, origins: Snap, outward: bool = True) -> np.ndarray:
    """Origin times from node fields: ``t[o, j] = min_k(a[o, k] + field[j, node[o, k]])``.

    ``outward``: the fields are times from nodes to the destinations, so origins join
    through their departing links; otherwise through their arriving links.
    """
    nodes, cost = origins.links(outward)
    o_nodes = np.maximum(nodes, 0)
    ok = nodes >= 0
    best = np.full((origins.m, fields.shape[0]), np.inf)
    for k in range(o_nodes.shape[1]):  # k is 2-4: a loop keeps memory at (m_o x b)
        cand = fields[:, o_nodes[:, k]].T + cost[:, k][:, None]
        cand[~ok[:, k]] = np.inf
        np.minimum(best, cand, out=best)
    return best


def apply_direct(od: np.ndarray, direct, start: int = 0, stop: int | None = None) -> None:
    """Lower ``od[:, start:stop]`` by the trips that pass no network node."""
    if direct is None or len(direct[0]) == 0:
        return
    i, j, t = direct
    stop = od.shape[1] + start if stop is None else stop
    lo, hi = np.searchsorted(j, [start, stop])
    if hi > lo:
        ii, jj = i[lo:hi], j[lo:hi] - start
        od[ii, jj] = np.minimum(od[ii, jj], t[lo:hi])


def solve_batch(problem: Problem, start: int, stop: int) -> BatchResult:
    """OD block (and isochrone reach) for destinations ``start:stop``."""
    fields = batch_fields(problem, start, stop)
    od = combine(fields, problem.origins, outward=problem.reverse)
    apply_direct(od, problem.direct, start, stop)
    od[od > problem.limit_s] = np.inf
    reach = None
    if problem.iso_max_s is not None:
        reach = []
        for row in fields:
            hit = np.flatnonzero((row <= problem.iso_max_s) & problem.active)
            reach.append((hit.astype(np.int64), row[hit]))
    return BatchResult(start, stop, od, reach)


def run(problem: Problem, batch: int | None = None,
        progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, list | None]:
    """All destinations in this process: (OD seconds (m_o, m_d), reach per destination)."""
    size = batch or default_batch(problem.n + problem.m_dest)
    results = []
    for start, stop in batches(problem.m_dest, size):
        results.append(solve_batch(problem, start, stop))
        if progress:
            progress(stop - start)
    return assemble(problem, results)


def assemble(problem: Problem, results: list[BatchResult]) -> tuple[np.ndarray, list | None]:
    """Put batch results (any order) back into one OD matrix and one reach list."""
    od = np.full((problem.origins.m, problem.m_dest), np.inf)
    reach: list | None = [None] * problem.m_dest if problem.iso_max_s is not None else None
    for r in results:
        od[:, r.start:r.stop] = r.od
        if reach is not None and r.reach is not None:
            reach[r.start:r.stop] = r.reach
    return od, reach


# --- node-level kernels (benchmarks, isochrones, diagnostics) ------------------------

def node_sources(graph: CSRGraph, positions: np.ndarray) -> Snap:
    """A Snap for points that sit exactly on network nodes (zero access cost)."""
    return node_snap(graph, positions)


def iter_fields(graph: CSRGraph, sources: Snap, *, reverse: bool = True,
                limit_s: float | None = None, batch: int | None = None) -> Iterator[tuple[int, int, np.ndarray]]:
    """Yield ``(start, stop, fields)`` node fields (s) per batch of sources, bounded memory."""
    limit = check_limit(limit_s)
    aug = augmented(graph, sources, reverse)
    n = graph.n
    for start, stop in batches(sources.m, batch or default_batch(n + sources.m)):
        d = dijkstra(aug, directed=True, indices=np.arange(n + start, n + stop), limit=limit)
        yield start, stop, d[:, :n]


def nearest_field(graph: CSRGraph, sources: Snap, *, reverse: bool = True,
                  limit_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Time (s) between every node and its nearest source, and that source's index.

    One multi-source search (``min_only``) whatever the number of sources. ``reverse``:
    time from each node *to* the nearest source. Unreachable: ``inf`` and ``-1``.
    """
    limit = check_limit(limit_s)
    aug = augmented(graph, sources, reverse)
    n = graph.n
    dist, _, src = dijkstra(aug, directed=True, indices=np.arange(n, n + sources.m),
                            min_only=True, return_predecessors=True, limit=limit)
    field = dist[:n]
    owner = np.where(np.isfinite(field), src[:n] - n, -1).astype(np.int64)
    return field, owner
