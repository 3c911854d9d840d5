"""Small OSM files written with pyosmium for the network tests, and independent expectations.

The reference network (around Suzhou): a primary road A路 split into two ways, a one-way
secondary, a ``oneway=-1`` secondary, a tertiary with an unreadable maxspeed, a footway,
an isolated residential fragment, a high-speed line and a station beside its track.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import osmium
from pyproj import Geod

GEOD = Geod(ellps="WGS84")
TS = "2026-01-01T00:00:00Z"

NODES = {
    1: (120.600, 31.300), 2: (120.605, 31.301), 3: (120.610, 31.300), 4: (120.615, 31.302),
    5: (120.620, 31.300), 6: (120.610, 31.305), 7: (120.610, 31.310), 8: (120.615, 31.310),
    20: (120.600, 31.320), 21: (120.610, 31.321), 22: (120.620, 31.320), 23: (120.630, 31.321),
    40: (120.700, 31.400), 41: (120.701, 31.400), 42: (120.702, 31.400),
}
STATION = (30, (120.620, 31.3205), {"railway": "station", "name": "测试站"})
WAYS = [
    (100, [1, 2, 3, 4], {"highway": "primary", "name": "A路", "maxspeed": "80"}),
    (101, [4, 5], {"highway": "primary", "name": "A路", "maxspeed": "80"}),
    (102, [3, 6], {"highway": "secondary", "name": "C街", "oneway": "yes"}),
    (103, [6, 7], {"highway": "secondary", "name": "D街", "oneway": "-1"}),
    (104, [7, 8], {"highway": "tertiary", "name": "E路", "maxspeed": "fast"}),
    (105, [5, 8], {"highway": "footway"}),
    (106, [40, 41, 42], {"highway": "residential", "name": "孤路"}),
    (200, [20, 21, 22, 23], {"railway": "rail", "highspeed": "yes", "name": "测试高铁", "maxspeed": "350"}),
]


def write_osm(path: str | Path, nodes: dict | None = None, ways: list | None = None,
              tagged_nodes: list | None = None, extra_nodes: list | None = None) -> Path:
    """Write nodes and ways with pyosmium; the format follows the suffix."""
    path = Path(path)
    nodes = NODES if nodes is None else nodes
    ways = WAYS if ways is None else ways
    tagged = [STATION] if tagged_nodes is None else tagged_nodes
    w = osmium.SimpleWriter(str(path))
    try:
        items = [(nid, xy, {}) for nid, xy in nodes.items()] + list(tagged) + list(extra_nodes or [])
        for nid, xy, tags in sorted(items, key=lambda t: t[0]):
            w.add_node(osmium.osm.mutable.Node(id=nid, location=xy, version=1, timestamp=TS, tags=tags))
        for wid, refs, tags in ways:
            w.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, version=1, timestamp=TS, tags=tags))
    finally:
        w.close()
    return path


def seg_m(a: int, b: int, nodes: dict | None = None) -> float:
    nodes = NODES if nodes is None else nodes
    (x1, y1), (x2, y2) = nodes[a], nodes[b]
    return float(GEOD.inv(x1, y1, x2, y2)[2])


def path_m(ids: list[int], nodes: dict | None = None) -> float:
    return sum(seg_m(a, b, nodes) for a, b in zip(ids[:-1], ids[1:], strict=True))


def raw_digraph(ways: list, levels: tuple[str, ...], nodes: dict | None = None) -> nx.DiGraph:
    """Unsimplified directed graph of the kept road ways, lengths by pyproj Geod."""
    g = nx.DiGraph()
    for _, refs, tags in ways:
        if tags.get("highway") not in levels:
            continue
        seq = list(reversed(refs)) if tags.get("oneway") == "-1" else refs
        one = tags.get("oneway") in ("yes", "-1")
        for a, b in zip(seq[:-1], seq[1:], strict=True):
            g.add_edge(a, b, w=seg_m(a, b, nodes))
            if not one:
                g.add_edge(b, a, w=seg_m(a, b, nodes))
    return g
