"""The PBF reader on small files written with pyosmium: lengths, speeds, one-way,
simplification, stations, clipping and bad input, checked against independent values."""

from __future__ import annotations

import itertools
import warnings

import networkx as nx
import numpy as np
import pytest
import shapely
from osm_helpers import NODES, WAYS, path_m, raw_digraph, seg_m, write_osm

from kechuang_gis.errors import DataWarning, InputError, NetworkError
from kechuang_gis.network.pbf import read_pbf
from kechuang_gis.settings import ROAD_LEVELS


@pytest.fixture(scope="module")
def pbf(tmp_path_factory):
    return write_osm(tmp_path_factory.mktemp("pbf") / "ref.osm.pbf")


@pytest.fixture(scope="module")
def built(pbf):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        net, report = read_pbf(pbf, roads="urban", min_component=4)
    return net, report, [w for w in caught if issubclass(w.category, DataWarning)]


def edge(net, u, v):
    rows = net.edges[(net.edges["u"] == u) & (net.edges["v"] == v)]
    assert len(rows) == 1, f"expected one edge {u}->{v}, found {len(rows)}"
    return rows.iloc[0]


def test_nodes_kept_are_junctions_ends_and_stations(built):
    net, report, _ = built
    # 2 and 4 are pass-through nodes of A路, 21 of the rail line; 40-42 an isolated fragment.
    assert set(net.nodes["id"]) == {1, 3, 5, 6, 7, 8, 20, 22, 23}
    assert report["components_dropped"] == 1
    assert report["component_nodes_dropped"] == 3


def test_lengths_are_geodesic_sums_of_the_raw_segments(built):
    net, _, _ = built
    assert edge(net, 1, 3)["length_m"] == pytest.approx(path_m([1, 2, 3]), rel=1e-9)
    # Ways 100 and 101 (same name, class, speed) merge through node 4.
    assert edge(net, 3, 5)["length_m"] == pytest.approx(path_m([3, 4, 5]), rel=1e-9)
    assert edge(net, 5, 3)["length_m"] == pytest.approx(path_m([3, 4, 5]), rel=1e-9)
    assert edge(net, 20, 22)["length_m"] == pytest.approx(path_m([20, 21, 22]), rel=1e-9)
    # The geometry keeps every raw vertex, in travel order.
    g = edge(net, 5, 3).geometry
    assert [tuple(np.round(c, 9)) for c in g.coords] == [NODES[5], NODES[4], NODES[3]]


def test_oneway_and_reverse_oneway(built):
    net, _, _ = built
    pairs = set(zip(net.edges["u"], net.edges["v"], strict=True))
    assert (3, 6) in pairs and (6, 3) not in pairs          # oneway=yes
    assert (7, 6) in pairs and (6, 7) not in pairs          # oneway=-1: against the node order
    assert bool(edge(net, 3, 6)["oneway"]) and not bool(edge(net, 1, 3)["oneway"])
    assert (1, 3) in pairs and (3, 1) in pairs


def test_speeds_and_travel_times(built):
    net, report, caught = built
    e13 = edge(net, 1, 3)
    assert e13["speed_kmh"] == 80.0
    assert e13["travel_time_s"] == pytest.approx(path_m([1, 2, 3]) / (80 / 3.6))
    assert edge(net, 3, 6)["speed_kmh"] == 50.0            # secondary default (issue: 50)
    assert edge(net, 7, 8)["speed_kmh"] == 40.0            # "fast" unreadable -> tertiary 40
    assert report["unparsed_maxspeed"] == 1
    assert any("unreadable maxspeed" in str(w.message) and "'fast'" in str(w.message) for w in caught)


def test_rail_class_speed_station_and_dwell(built):
    net, _, _ = built
    st = net.nodes.set_index("id").loc[22]
    assert st["kind"] == "station" and st["name"] == "测试站"
    e = edge(net, 20, 22)
    assert e["mode"] == "rail" and e["class"] == "hsr" and e["line"] == "测试高铁"
    assert e["speed_kmh"] == 250.0                         # class speed below maxspeed 350
    half_dwell = 2.0 * 60 / 2                              # settings.RAIL_DWELL_MIN = 2
    assert e["travel_time_s"] == pytest.approx(path_m([20, 21, 22]) / (250 / 3.6))
    # Dwell is added when the network is built (build.py); the reader gives running time.
    assert half_dwell == 60.0


def test_simplified_shortest_paths_equal_unsimplified(built):
    net, _, _ = built
    raw = raw_digraph(WAYS, ROAD_LEVELS["urban"])
    raw.remove_nodes_from([40, 41, 42])
    simp = nx.DiGraph()
    road = net.edges[net.edges["mode"] == "road"]
    for u, v, w in zip(road["u"], road["v"], road["length_m"], strict=True):
        simp.add_edge(int(u), int(v), w=float(w))
    kept = [n for n in simp.nodes]
    for a, b in itertools.permutations(kept, 2):
        try:
            expect = nx.shortest_path_length(raw, a, b, weight="w")
        except nx.NetworkXNoPath:
            assert not nx.has_path(simp, a, b)
            continue
        assert nx.shortest_path_length(simp, a, b, weight="w") == pytest.approx(expect, rel=1e-9)


def test_regional_level_drops_tertiary(pbf):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        net, _ = read_pbf(pbf, roads="regional", modes=("road",), min_component=1)
    assert set(net.edges["class"]) == {"primary", "secondary"}
    assert 8 not in set(net.nodes["id"])


def test_clip_to_area_keeps_segments_inside(pbf):
    area = shapely.box(120.598, 31.298, 120.6125, 31.312)
    net, _ = read_pbf(pbf, area=area, roads="urban", modes=("road",), min_component=1)
    assert set(net.nodes["id"]) == {1, 3, 6, 7}
    assert shapely.contains_xy(area, net.nodes.geometry.x, net.nodes.geometry.y).all()
    assert edge(net, 1, 3)["length_m"] == pytest.approx(path_m([1, 2, 3]), rel=1e-9)
    assert set(zip(net.edges["u"], net.edges["v"], strict=True)) == {(1, 3), (3, 1), (3, 6), (7, 6)}


def test_file_not_covering_the_area(pbf):
    with pytest.raises(NetworkError, match="does not cover the area"):
        read_pbf(pbf, area=shapely.box(100.0, 20.0, 100.1, 20.1))


def test_partial_coverage_is_warned(pbf):
    area = shapely.box(120.59, 31.29, 120.9, 31.5)
    with pytest.warns(DataWarning, match="covered by the extent"):
        read_pbf(pbf, area=area, roads="urban", modes=("road",), min_component=1)


def test_no_roads(tmp_path):
    p = write_osm(tmp_path / "norail.osm.pbf", ways=[w for w in WAYS if w[0] in (105, 200)])
    with pytest.raises(NetworkError, match="no roads"):
        read_pbf(p, roads="urban")


def test_duplicate_node_ids_counted(tmp_path):
    p = write_osm(tmp_path / "dup.osm.pbf", extra_nodes=[(2, (120.6051, 31.3011), {})])
    with pytest.warns(DataWarning, match="1 duplicate node id"):
        net, _ = read_pbf(p, roads="urban", min_component=4)
    assert len(net.edges) > 0


def test_missing_node_refs_counted(tmp_path):
    nodes = {k: v for k, v in NODES.items() if k != 2}
    p = write_osm(tmp_path / "missing.osm.pbf", nodes=nodes)
    with pytest.warns(DataWarning, match="missing from"):
        net, _ = read_pbf(p, roads="urban", min_component=1)
    assert (1, 3) not in set(zip(net.edges["u"], net.edges["v"], strict=True))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_files(pbf, tmp_path, damage):
    data = pbf.read_bytes()
    bad = tmp_path / f"{damage}.osm.pbf"
    bad.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"\x00\x01not a pbf" * 50,
                     "empty": b""}[damage])
    with pytest.raises(InputError, match=str(bad.name)):
        read_pbf(bad)


def test_duplicate_raw_segment_lengths_are_consistent():
    # The expectation helper itself: Geod on the WGS84 ellipsoid, a few hundred metres.
    assert 400 < seg_m(1, 2) < 600
