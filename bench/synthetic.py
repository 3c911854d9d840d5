"""Synthetic road-like networks for benchmarks (fixed seed, any size).

A square grid of junctions in EPSG:4549 around Suzhou, with a road hierarchy:
every 50th row/column a motorway, every 10th a primary arterial, every 5th a secondary,
the rest residential streets, a third of which are one-way in alternating directions.
Coordinates are jittered a little so no two streets are exactly collinear. Some ways
carry ``maxspeed`` tags in the forms found in Chinese OSM data, including junk.

Used by ``bench/network_build.py`` (written out as .osm.pbf and .osm XML) and by
``bench/accessibility.py`` (as edge arrays), so both benchmarks run on the same network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ORIGIN_X = 500_000.0 - 20_000.0  # EPSG:4549 false easting is 500 km at 120E
ORIGIN_Y = 3_440_000.0           # about 31.1N
SPACING_M = 120.0

CLASS_SPEED_KMH = {"motorway": 110.0, "primary": 60.0, "secondary": 50.0, "residential": 30.0}
MAXSPEED_SAMPLES = ("60", "50", "CN:urban", "40;60", "30 mph", "signals", "none", "80")


@dataclass
class SyntheticNetwork:
    node_ids: np.ndarray              # int64, 1..N
    lon: np.ndarray
    lat: np.ndarray
    x: np.ndarray                     # EPSG:4549 metres
    y: np.ndarray
    ways: list[tuple[int, np.ndarray, dict]] = field(default_factory=list)  # (way id, node ids, tags)

    @property
    def n(self) -> int:
        return len(self.node_ids)


def _line_class(i: int) -> str:
    if i % 50 == 0:
        return "motorway"
    if i % 10 == 0:
        return "primary"
    if i % 5 == 0:
        return "secondary"
    return "residential"


def generate(n_nodes: int, seed: int = 42, spacing_m: float = SPACING_M) -> SyntheticNetwork:
    """A grid network with about ``n_nodes`` junctions (side = ceil(sqrt(n)))."""
    from pyproj import Transformer

    rng = np.random.default_rng(seed)
    side = int(math.ceil(math.sqrt(n_nodes)))
    jj, ii = np.meshgrid(np.arange(side), np.arange(side))  # ii row, jj column
    x = ORIGIN_X + jj.ravel() * spacing_m + rng.uniform(-0.15, 0.15, side * side) * spacing_m
    y = ORIGIN_Y + ii.ravel() * spacing_m + rng.uniform(-0.15, 0.15, side * side) * spacing_m
    lon, lat = Transformer.from_crs("EPSG:4549", "EPSG:4326", always_xy=True).transform(x, y)
    ids = np.arange(1, side * side + 1, dtype=np.int64)
    grid = ids.reshape(side, side)

    ways: list[tuple[int, np.ndarray, dict]] = []
    wid = 1
    for axis in (0, 1):
        for i in range(side):
            cls = _line_class(i)
            nodes = grid[i, :] if axis == 0 else grid[:, i]
            tags = {"highway": cls, "name": f"{'Row' if axis == 0 else 'Col'} {cls} {i}"}
            if cls == "motorway":
                tags["ref"] = f"G{i // 50 + 1}"
                tags["oneway"] = "no"  # a dual carriageway modelled as one two-way way
                tags["maxspeed"] = "120"
            elif cls == "residential" and i % 3 == 0:
                tags["oneway"] = "yes" if (i // 3) % 2 == 0 else "-1"
            if cls != "motorway" and rng.random() < 0.2:
                tags["maxspeed"] = MAXSPEED_SAMPLES[int(rng.integers(len(MAXSPEED_SAMPLES)))]
            ways.append((wid, nodes.copy(), tags))
            wid += 1
    return SyntheticNetwork(ids, np.asarray(lon), np.asarray(lat), x, y, ways)


def edge_arrays(net: SyntheticNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Directed edges (u, v as 0-based positions; length m; travel time s) by class speed.

    ``maxspeed`` tags are ignored here: the routing benchmarks need one agreed weight per
    edge across engines, not the tag parser (which the network benchmark exercises).
    """
    us, vs, cls_speed = [], [], []
    for _, nodes, tags in net.ways:
        pos = nodes - 1
        a, b = pos[:-1], pos[1:]
        speed = CLASS_SPEED_KMH[tags["highway"]]
        ow = tags.get("oneway", "no")
        if ow in ("no", "yes"):
            us.append(a)
            vs.append(b)
            cls_speed.append(np.full(len(a), speed))
        if ow in ("no", "-1"):
            us.append(b)
            vs.append(a)
            cls_speed.append(np.full(len(a), speed))
    u = np.concatenate(us)
    v = np.concatenate(vs)
    speed = np.concatenate(cls_speed)
    length = np.hypot(net.x[u] - net.x[v], net.y[u] - net.y[v])
    return u, v, length, length / (speed / 3.6)


def write_osm(net: SyntheticNetwork, path: str | Path) -> Path:
    """Write the network as OSM data; the format follows the suffix (.osm.pbf, .osm)."""
    import osmium

    path = Path(path)
    if path.exists():
        path.unlink()
    writer = osmium.SimpleWriter(str(path))
    try:
        for nid, lo, la in zip(net.node_ids.tolist(), net.lon.tolist(), net.lat.tolist(), strict=True):
            writer.add_node(osmium.osm.mutable.Node(id=nid, location=(lo, la), version=1,
                                                    timestamp="2026-01-01T00:00:00Z", tags={}))
        for wid, nodes, tags in net.ways:
            writer.add_way(osmium.osm.mutable.Way(id=wid, nodes=nodes.tolist(), version=1,
                                                  timestamp="2026-01-01T00:00:00Z", tags=tags))
    finally:
        writer.close()
    return path


def write_province_like(net: SyntheticNetwork, path: str | Path, filler_nodes: int, seed: int = 7) -> Path:
    """The road network plus what fills a real provincial extract: ``filler_nodes``
    untagged nodes as the corners of small buildings (closed four-corner ways tagged
    ``building=yes``) scattered over a box three times the grid's size, written before
    and after the road data as an extract interleaves them. The readers must skip all
    of it, which is most of a real extract's bytes."""
    import osmium

    path = Path(path)
    if path.exists():
        path.unlink()
    rng = np.random.default_rng(seed)
    pad_lon = (net.lon.max() - net.lon.min())
    pad_lat = (net.lat.max() - net.lat.min())
    n_buildings = filler_nodes // 4
    first_node = int(net.node_ids.max()) + 1
    first_way = max(w for w, _, _ in net.ways) + 1
    corner = np.array([(0, 0), (1, 0), (1, 1), (0, 1)], dtype=float) * 1.2e-4  # ~12 m squares
    ts = "2026-01-01T00:00:00Z"
    Node, Way = osmium.osm.mutable.Node, osmium.osm.mutable.Way
    writer = osmium.SimpleWriter(str(path))
    try:
        for nid, lo, la in zip(net.node_ids.tolist(), net.lon.tolist(), net.lat.tolist(), strict=True):
            writer.add_node(Node(id=nid, location=(lo, la), version=1, timestamp=ts))
        block = 250_000
        for start in range(0, n_buildings, block):
            k = min(block, n_buildings - start)
            cx = rng.uniform(net.lon.min() - pad_lon, net.lon.max() + pad_lon, k)
            cy = rng.uniform(net.lat.min() - pad_lat, net.lat.max() + pad_lat, k)
            # Corners jittered by up to ~10 m, as traced buildings are: real coordinates do
            # not delta-encode as tightly as a perfect square would.
            xs = (cx[:, None] + corner[:, 0] + rng.uniform(-1e-4, 1e-4, (k, 4))).ravel().tolist()
            ys = (cy[:, None] + corner[:, 1] + rng.uniform(-1e-4, 1e-4, (k, 4))).ravel().tolist()
            base = first_node + 4 * start
            for j, (x, y) in enumerate(zip(xs, ys, strict=True)):
                writer.add_node(Node(id=base + j, location=(x, y), version=1, timestamp=ts))
        for wid, nodes, tags in net.ways:
            writer.add_way(Way(id=wid, nodes=nodes.tolist(), version=1, timestamp=ts, tags=tags))
        for b in range(n_buildings):
            n0 = first_node + 4 * b
            writer.add_way(Way(id=first_way + b, nodes=[n0, n0 + 1, n0 + 2, n0 + 3, n0], version=1,
                               timestamp=ts, tags={"building": "yes"}))
    finally:
        writer.close()
    return path
