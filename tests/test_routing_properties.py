"""Property tests: our travel times equal networkx's on random directed/undirected graphs.

Graphs have one-way streets (directed edges without their reverse), parallel edges and
unreachable parts; expectations come from networkx's Dijkstra, computed independently.
"""

from __future__ import annotations

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kechuang_gis.analysis import kernels
from kechuang_gis.analysis.routing import node_fields
from kechuang_gis.network.model import CSRGraph, csr_min

ACCESS = {"detour_factor": 1.3, "speed_kmh": 30.0, "k_nearest": 1, "max_snap_m": 1.0}


@st.composite
def graphs(draw):
    n = draw(st.integers(2, 12))
    undirected = draw(st.booleans())
    m = draw(st.integers(0, 3 * n))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=m, max_size=m))
    weights = draw(st.lists(st.floats(0.01, 1e4, allow_nan=False), min_size=m, max_size=m))
    edges = [(u, v, w) for (u, v), w in zip(pairs, weights, strict=True) if u != v]
    if undirected:
        # Two-way streets with a few one-way ones, as in a real street network.
        oneway = draw(st.lists(st.booleans(), min_size=len(edges), max_size=len(edges)))
        edges = edges + [(v, u, w) for (u, v, w), ow in zip(edges, oneway, strict=True) if not ow]
    return n, edges


def _csr(n, edges) -> CSRGraph:
    u = np.array([e[0] for e in edges], dtype=np.int64)
    v = np.array([e[1] for e in edges], dtype=np.int64)
    w = np.array([e[2] for e in edges], dtype=float)
    # Nodes 1e7 m apart: no straight access leg ever joins two of them.
    x = np.arange(n) * 1e7
    return CSRGraph(csr_min(u, v, w, n), np.arange(n, dtype=np.int64), x, np.zeros(n),
                    np.zeros(n), np.ones(n, dtype=bool))


def _nx(n, edges) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(n))
    g.add_weighted_edges_from(edges)
    return g


def _expected(g: nx.MultiDiGraph, n: int, src: int, reverse: bool) -> np.ndarray:
    h = g.reverse(copy=False) if reverse else g
    d = nx.single_source_dijkstra_path_length(h, src, weight="weight")
    return np.array([d.get(i, np.inf) for i in range(n)])


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    fin = np.isfinite(b)
    return bool(np.array_equal(np.isfinite(a), fin) and np.allclose(a[fin], b[fin], rtol=1e-9, atol=0))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), st.booleans())
def test_fields_match_networkx(g, reverse):
    n, edges = g
    graph, G = _csr(n, edges), _nx(n, edges)
    srcs = kernels.node_sources(graph, np.arange(n))
    for start, stop, fields in kernels.iter_fields(graph, srcs, reverse=reverse, batch=3):
        for i, row in zip(range(start, stop), fields, strict=True):
            assert _same(row, _expected(G, n, i, reverse))
    # The shared routing kernel agrees too.
    base = node_fields(graph, srcs, reverse=reverse)
    for i in range(n):
        assert _same(base[i], _expected(G, n, i, reverse))


@settings(max_examples=60, deadline=None)
@given(graphs(), st.data())
def test_nearest_and_od_match_networkx(g, data):
    n, edges = g
    graph, G = _csr(n, edges), _nx(n, edges)
    dests = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    # Nearest destination (time to reach it, one-way streets respected).
    field, owner = kernels.nearest_field(graph, kernels.node_sources(graph, dests), reverse=True)
    per_dest = np.array([_expected(G, n, d, reverse=True) for d in dests])  # (m_d, n)
    best = per_dest.min(axis=0)
    assert _same(field, best)
    reached = np.isfinite(best)
    assert (owner[~reached] == -1).all()
    assert np.allclose(per_dest[owner[reached], np.flatnonzero(reached)], best[reached], rtol=1e-9, atol=0)
    # OD: every node to every destination through the batched many-to-many kernel.
    problem = kernels.prepare(graph, kernels.node_sources(graph, np.arange(n)),
                              kernels.node_sources(graph, dests), ACCESS)
    od, _ = kernels.run(problem, batch=2)
    assert _same(od.T.ravel(), per_dest.ravel())


@settings(max_examples=30, deadline=None)
@given(graphs(), st.floats(0.5, 2e4))
def test_time_limit_cuts_exactly(g, limit):
    n, edges = g
    graph, G = _csr(n, edges), _nx(n, edges)
    srcs = kernels.node_sources(graph, [0])
    (_, _, fields), = list(kernels.iter_fields(graph, srcs, reverse=False, limit_s=limit))
    exp = _expected(G, n, 0, reverse=False)
    exp[exp > limit] = np.inf
    assert _same(fields[0], exp)
