"""Node strength: hand-computed gravity cases, centrality against networkx, tiers, sensitivity.

Networks are built by hand so that every node sits exactly on a network node and the
access model joins it to that node only (k_nearest = 1, no detour, no station penalty,
max_snap_m = 100 m so no direct off-network leg is possible between nodes kilometres
apart): travel times between nodes are then exactly the network path times.
"""

from __future__ import annotations

import json
import math
import warnings

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely

from kechuang_gis.analysis.node_strength import (
    MIN_TIME_MIN,
    classify_tiers,
    node_strength,
    parse_weights,
)
from kechuang_gis.errors import DataWarning, InputError, NetworkError
from kechuang_gis.network.model import Network

EXACT_ACCESS = {"detour_factor": 1.0, "speed_kmh": 30.0, "k_nearest": 1, "max_snap_m": 100.0,
                "station_penalty_s": 0.0}
LAT = 30.6  # land south of Taihu: the access model refuses points in the lake


def make_network(xy: dict[int, tuple[float, float]], edges: list[tuple], kinds: dict[int, str] | None = None,
                 access: dict | None = None) -> Network:
    """Network from {id: (lon, lat)} and (u, v, travel_time_s[, mode, line, oneway]) rows.

    Two-way unless ``oneway`` is True: both directed rows are added.
    """
    kinds = kinds or {}
    nodes = gpd.GeoDataFrame({"id": list(xy), "kind": [kinds.get(i, "junction") for i in xy]},
                             geometry=[shapely.Point(p) for p in xy.values()], crs="EPSG:4326")
    rows, geoms = [], []
    for e in edges:
        u, v, t = e[:3]
        mode = e[3] if len(e) > 3 else "road"
        line = e[4] if len(e) > 4 else None
        oneway = e[5] if len(e) > 5 else False
        for a, b in ((u, v),) if oneway else ((u, v), (v, u)):
            rows.append({"u": a, "v": b, "mode": mode, "line": line, "length_m": 1000.0,
                         "travel_time_s": float(t), "oneway": oneway})
            geoms.append(shapely.LineString([xy[a], xy[b]]))
    e = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs="EPSG:4326")
    return Network(nodes, e, {"access": dict(access or EXACT_ACCESS)})


def points(ids, xy, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"id": ids, **cols}, geometry=[shapely.Point(p) for p in xy], crs="EPSG:4326")


# Three nodes on a line: 1 -(10 min)- 2 -(20 min)- 3, so 1-3 is 30 min.
LINE_XY = {1: (120.0, LAT), 2: (120.1, LAT), 3: (120.3, LAT)}


@pytest.fixture
def line_net() -> Network:
    return make_network(LINE_XY, [(1, 2, 600), (2, 3, 1200)])


@pytest.fixture
def line_nodes() -> gpd.GeoDataFrame:
    return points(["a", "b", "c"], LINE_XY.values(), m=[1.0, 2.0, 3.0], city_adcode=["320500"] * 3)


def by_id(result, col):
    return result.table.set_index("id")[col]


def test_hand_case_power_decay(line_net, line_nodes):
    r = node_strength(line_net, line_nodes, mass_col="m")
    # By hand, beta = 1, t in minutes:
    #   w12 = 1*2/10 = 0.2, w13 = 1*3/30 = 0.1, w23 = 2*3/20 = 0.3
    #   S1 = 0.2 + 0.1 = 0.3, S2 = 0.2 + 0.3 = 0.5, S3 = 0.1 + 0.3 = 0.4
    #   A1 = 2/10 + 3/30 = 0.3, A2 = 1/10 + 3/20 = 0.25, A3 = 1/30 + 2/20 = 0.1333...
    s = by_id(r, "gravity_strength")
    assert s["a"] == pytest.approx(0.3) and s["b"] == pytest.approx(0.5) and s["c"] == pytest.approx(0.4)
    a = by_id(r, "access_strength")
    assert a["a"] == pytest.approx(0.3) and a["b"] == pytest.approx(0.25) and a["c"] == pytest.approx(2 / 15)
    gi = by_id(r, "gravity_strength_index")  # 100 * S / max S
    assert gi["a"] == pytest.approx(60.0) and gi["b"] == pytest.approx(100.0) and gi["c"] == pytest.approx(80.0)
    assert r.meta["pairs"]["unreachable"] == 0 and r.meta["pairs"]["floored_at_min_time"] == 0
    assert (r.table["mass_source"] == "column: m").all()


def test_hand_case_exponential_decay(line_net, line_nodes):
    beta = 0.1  # per minute
    r = node_strength(line_net, line_nodes, mass_col="m", decay="exp", beta=beta)
    w12, w13, w23 = 2 * math.exp(-1.0), 3 * math.exp(-3.0), 6 * math.exp(-2.0)
    s = by_id(r, "gravity_strength")
    assert s["a"] == pytest.approx(w12 + w13)
    assert s["b"] == pytest.approx(w12 + w23)
    assert s["c"] == pytest.approx(w13 + w23)
    assert r.meta["parameters"]["decay"] == "exp"


def test_beta_two(line_net, line_nodes):
    r = node_strength(line_net, line_nodes, mass_col="m", beta=2.0)
    # w12 = 2/100, w13 = 3/900, w23 = 6/400
    s = by_id(r, "gravity_strength")
    assert s["a"] == pytest.approx(0.02 + 3 / 900)
    assert s["b"] == pytest.approx(0.02 + 0.015)
    assert s["c"] == pytest.approx(3 / 900 + 0.015)


def test_equal_masses_gravity_equals_access(line_net, line_nodes):
    r = node_strength(line_net, line_nodes.assign(m=1.0), mass_col="m")
    # All masses 1: S_i = A_i = sum_j 1/t_ij
    expected = {"a": 1 / 10 + 1 / 30, "b": 1 / 10 + 1 / 20, "c": 1 / 20 + 1 / 30}
    for k, v in expected.items():
        assert by_id(r, "gravity_strength")[k] == pytest.approx(v)
        assert by_id(r, "access_strength")[k] == pytest.approx(v)


def test_unreachable_pair_contributes_nothing_and_is_counted():
    xy = {1: (120.0, LAT), 2: (120.1, LAT), 3: (120.4, LAT), 4: (120.6, LAT)}
    net = make_network(xy, [(1, 2, 600), (3, 4, 1200)])  # two separate components
    nodes = points(["a", "b", "c", "d"], xy.values(), m=[1.0, 2.0, 3.0, 4.0])
    with pytest.warns(DataWarning, match=r"^4 node pair\(s\) unreachable"):
        r = node_strength(net, nodes, mass_col="m")
    # Only a-b (1*2/10) and c-d (3*4/20) interact.
    s = by_id(r, "gravity_strength")
    assert list(s[["a", "b", "c", "d"]]) == pytest.approx([0.2, 0.2, 0.6, 0.6])
    assert r.meta["pairs"]["unreachable"] == 4 and r.meta["pairs"]["reachable"] == 2
    assert by_id(r, "reachable_partners")["a"] == 1


def test_one_way_unreachable_direction_makes_pair_unreachable():
    xy = {1: (120.0, LAT), 2: (120.1, LAT)}
    net = make_network(xy, [(1, 2, 600, "road", None, True)])
    nodes = points(["a", "b"], xy.values(), m=[1.0, 1.0])
    with pytest.raises(NetworkError, match="none of the 2 nodes"):
        node_strength(net, nodes, mass_col="m")


def test_asymmetric_times_use_the_mean_of_both_directions():
    xy = {1: (120.0, LAT), 2: (120.1, LAT)}
    net = make_network(xy, [(1, 2, 600, "road", None, True), (2, 1, 1800, "road", None, True)])
    nodes = points(["a", "b"], xy.values(), m=[2.0, 3.0])
    r = node_strength(net, nodes, mass_col="m")
    # pair time (10 + 30) / 2 = 20 min -> w = 6 / 20
    assert by_id(r, "gravity_strength")["a"] == pytest.approx(0.3)
    assert r.flows["t_ij_min"].iloc[0] == pytest.approx(20.0)


def test_co_located_nodes_use_the_time_floor():
    xy = {1: (120.0, LAT), 2: (120.1, LAT)}
    net = make_network(xy, [(1, 2, 1200)])
    nodes = points(["a", "a2", "b"], [xy[1], xy[1], xy[2]], m=[1.0, 1.0, 1.0])
    r = node_strength(net, nodes, mass_col="m")
    # a-a2 at distance 0: t floored to MIN_TIME_MIN; a-b and a2-b 20 min.
    assert by_id(r, "gravity_strength")["a"] == pytest.approx(1 / MIN_TIME_MIN + 1 / 20)
    assert by_id(r, "gravity_strength")["b"] == pytest.approx(2 / 20)
    assert r.meta["pairs"]["floored_at_min_time"] == 1
    r2 = node_strength(net, nodes, mass_col="m", min_time_min=2.0)
    assert by_id(r2, "gravity_strength")["a"] == pytest.approx(1 / 2 + 1 / 20)


def test_flows_top_k_and_city_matrix(line_net, line_nodes):
    nodes = line_nodes.assign(city_adcode=["320500", "320500", "320200"])
    r = node_strength(line_net, nodes, mass_col="m", top_k=1)
    # Strongest partner: a -> b (0.2 > 0.1), b -> c (0.3), c -> b: pairs b-c (rank 1), a-b (rank 2).
    f = r.flows.set_index(["i", "j"])
    assert sorted(f.index) == [("a", "b"), ("b", "c")]
    assert f.loc[("b", "c"), "w_ij"] == pytest.approx(0.3) and f.loc[("b", "c"), "rank"] == 1
    assert f.loc[("a", "b"), "w_ij"] == pytest.approx(0.2) and f.loc[("a", "b"), "rank"] == 2
    assert f.loc[("a", "b"), "t_ij_min"] == pytest.approx(10.0)
    assert bool(f.loc[("b", "c"), "top_overall"]) and not bool(f.loc[("a", "b"), "top_overall"])
    geom = r.flows.set_index(["i", "j"]).geometry[("b", "c")]
    assert list(geom.coords) == [LINE_XY[2], LINE_XY[3]]
    m = r.city_matrix
    assert m.shape == (8, 8)
    assert m.loc["苏州市", "苏州市"] == pytest.approx(0.2)      # a-b
    assert m.loc["苏州市", "无锡市"] == pytest.approx(0.1 + 0.3)  # a-c + b-c
    assert m.loc["无锡市", "苏州市"] == pytest.approx(0.4)
    assert m.loc["无锡市", "无锡市"] == 0.0
    assert m.values.sum() == pytest.approx(0.2 + 2 * 0.4)


def _nx_digraph(net: Network) -> nx.DiGraph:
    G = nx.DiGraph()
    for u, v, t in net.edges[["u", "v", "travel_time_s"]].itertuples(index=False):
        G.add_edge(int(u), int(v), t=float(t))
    return G


def test_centrality_matches_networkx():
    # Seven junctions with a one-way link and unequal times, plus one isolated node
    # (no edges: it must not change the normalisation).
    xy = {i: (120.0 + 0.05 * i, LAT + 0.02 * (i % 3)) for i in range(1, 9)}
    edges = [(1, 2, 300), (2, 3, 420), (3, 4, 360), (4, 5, 240), (5, 1, 900), (2, 6, 180),
             (6, 4, 200), (3, 7, 600), (7, 5, 500, "road", None, True), (6, 7, 700)]
    net = make_network(xy, edges)
    ids = list(range(1, 8))
    nodes = points([f"n{i}" for i in ids], [xy[i] for i in ids], m=[1.0] * 7)
    r = node_strength(net, nodes, mass_col="m")
    G = _nx_digraph(net)
    bc = nx.betweenness_centrality(G, weight="t", normalized=True)
    cc = nx.closeness_centrality(G, distance="t")
    t = r.table.set_index("id")
    for i in ids:
        assert t.loc[f"n{i}", "betweenness"] == pytest.approx(bc[i], abs=1e-12), i
        assert t.loc[f"n{i}", "closeness"] == pytest.approx(cc[i], abs=1e-12), i
    assert max(bc.values()) > 0  # the case is not trivial
    assert r.meta["centrality"]["vertices"] == 7


def test_centrality_matches_networkx_disconnected():
    xy = {i: (120.0 + 0.05 * i, LAT) for i in range(1, 7)}
    net = make_network(xy, [(1, 2, 100), (2, 3, 100), (4, 5, 50), (5, 6, 70), (4, 6, 200)])
    nodes = points([f"n{i}" for i in xy], xy.values(), m=[1.0] * 6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        r = node_strength(net, nodes, mass_col="m")
    G = _nx_digraph(net)
    bc = nx.betweenness_centrality(G, weight="t", normalized=True)
    cc = nx.closeness_centrality(G, distance="t")
    t = r.table.set_index("id")
    for i in xy:
        assert t.loc[f"n{i}", "betweenness"] == pytest.approx(bc[i], abs=1e-12)
        assert t.loc[f"n{i}", "closeness"] == pytest.approx(cc[i], abs=1e-12)


def test_attachment_is_the_nearest_network_node():
    net = make_network(LINE_XY, [(1, 2, 600), (2, 3, 1200)],
                       access=dict(EXACT_ACCESS, max_snap_m=2000.0))
    # 'p' sits ~500 m north of node 2, off the street: it joins at node 2 (betweenness 1
    # on a path of 3) by a 500 m access leg.
    nodes = points(["a", "p", "c"], [LINE_XY[1], (120.1, LAT + 0.0045), LINE_XY[3]], m=[1.0, 1.0, 1.0])
    r = node_strength(net, nodes, mass_col="m")
    t = r.table.set_index("id")
    assert t.loc["p", "attach_node"] == 2
    assert t.loc["p", "betweenness"] == pytest.approx(1.0)
    assert t.loc["p", "snap_dist_m"] == pytest.approx(500, abs=5)


def test_tiers_natural_breaks_and_ties():
    values = [10, 10, 10, 60, 60, 100, 100]
    tiers, bins = classify_tiers(values)
    assert list(tiers) == ["general"] * 3 + ["sub-core"] * 2 + ["core"] * 2
    assert bins == [10.0, 60.0, 100.0]
    # Many distinct values with ties: equal values share a tier, and order does not matter.
    vals = np.array([1, 2, 2, 3, 40, 41, 41, 42, 90, 95, 95, 99], dtype=float)
    t1, _ = classify_tiers(vals)
    perm = np.random.default_rng(7).permutation(len(vals))
    t2, _ = classify_tiers(vals[perm])
    assert list(t2) == list(t1[perm])
    for v in np.unique(vals):
        assert len(set(t1[vals == v])) == 1
    assert list(t1) == ["general"] * 4 + ["sub-core"] * 4 + ["core"] * 4
    # Float noise does not split a tie.
    t3, _ = classify_tiers([50.0, 50.0 + 1e-12, 10.0, 90.0, 90.0])
    assert t3[0] == t3[1]


def test_tiers_with_few_distinct_values():
    t, _ = classify_tiers([5.0, 5.0, 1.0])
    assert list(t) == ["core", "core", "sub-core"]
    t, _ = classify_tiers([3.0, 3.0, 3.0])
    assert list(t) == ["core"] * 3


def test_symmetric_nodes_tie_in_tier_and_rank():
    # A star: centre 0 and three leaves 20 min away, equal masses: the leaves are tied.
    xy = {1: (120.2, LAT), 2: (120.0, LAT), 3: (120.4, LAT), 4: (120.2, LAT + 0.15)}
    net = make_network(xy, [(1, 2, 1200), (1, 3, 1200), (1, 4, 1200)])
    nodes = points(["hub", "x", "y", "z"], xy.values(), m=[1.0] * 4)
    r = node_strength(net, nodes, mass_col="m")
    t = r.table.set_index("id")
    assert t.loc["x", "tier"] == t.loc["y", "tier"] == t.loc["z", "tier"]
    assert t.loc["x", "rank"] == t.loc["y", "rank"] == t.loc["z", "rank"] == 2
    assert t.loc["hub", "rank"] == 1 and t.loc["hub", "tier"] == "core"


def test_composite_weights(line_net, line_nodes):
    r = node_strength(line_net, line_nodes, mass_col="m", weights={"gravity": 1.0})
    # Only gravity: min-max of S = (0.3, 0.5, 0.4) -> 0, 100, 50
    c = by_id(r, "composite_index")
    assert list(c[["a", "b", "c"]]) == pytest.approx([0.0, 100.0, 50.0])
    assert list(by_id(r, "rank")[["b", "c", "a"]]) == [1, 2, 3]
    assert parse_weights("gravity=2,closeness=2") == {"gravity": 0.5, "access": 0.0,
                                                      "betweenness": 0.0, "closeness": 0.5}
    with pytest.raises(InputError, match="unknown weight"):
        parse_weights("mass=1")
    with pytest.raises(InputError, match="name=value"):
        parse_weights("gravity")


def _multimodal():
    # Road chain 1-2-3-4 (slow) and a rail line between stations 5 (at 1) and 6 (at 4).
    xy = {1: (120.0, LAT), 2: (120.1, LAT), 3: (120.2, LAT), 4: (120.3, LAT),
          5: (120.0, LAT + 0.0004), 6: (120.3, LAT + 0.0004)}
    edges = [(1, 2, 900), (2, 3, 900), (3, 4, 900),
             (5, 6, 600, "rail", "L1"), (1, 5, 60, "transfer"), (4, 6, 60, "transfer")]
    kinds = {5: "station", 6: "station"}
    return make_network(xy, edges, kinds=kinds), xy


def test_sensitivity_default_is_one_and_mode_sets():
    net, xy = _multimodal()
    nodes = points(["a", "b", "c", "d"], [xy[1], xy[2], xy[3], xy[4]], m=[4.0, 1.0, 2.0, 3.0])
    r = node_strength(net, nodes, mass_col="m", sensitivity_betas=[0.5, 1.0, 2.0])
    s = r.sensitivity
    default = s[s["is_default"]]
    assert len(default) == 1
    assert default["spearman_composite"].iloc[0] == pytest.approx(1.0)
    assert default["spearman_gravity"].iloc[0] == pytest.approx(1.0)
    assert default["top10_overlap"].iloc[0] == pytest.approx(1.0)
    assert set(s["modes"]) == {"road", "road+rail"}
    assert len(s) == 3 + 3  # three betas for each mode set
    assert r.meta["parameters"]["modes"] == ["road", "rail"]
    # Road only: a-d is 45 min instead of 1 + 10 + 1 = 12 min, so their strength falls.
    road = s[(s["modes"] == "road") & (s["beta"] == 1.0)].iloc[0]
    assert road["spearman_gravity"] < 1.0


def test_rail_makes_a_faster_pair():
    net, xy = _multimodal()
    nodes = points(["a", "d"], [xy[1], xy[4]], m=[1.0, 1.0])
    r = node_strength(net, nodes, mass_col="m")
    # 1 ->(transfer 1 min) 5 ->(rail 10 min) 6 ->(transfer 1 min) 4 = 12 min (< 45 by road)
    assert r.flows["t_ij_min"].iloc[0] == pytest.approx(12.0)
    r_road = node_strength(net, nodes, mass_col="m", modes=["road"])
    assert r_road.flows["t_ij_min"].iloc[0] == pytest.approx(45.0)


def test_default_mass_proxy_units_and_hub_lines():
    net, xy = _multimodal()
    # A second line through station 6 so the hub there has two distinct lines.
    net = Network(net.nodes, pd.concat([net.edges, net.edges[net.edges["mode"] == "rail"].assign(line="L2")],
                                       ignore_index=True), net.meta)
    nodes = points(["park", "hub6", "plain", "hub_far"],
                   [xy[2], (120.3005, LAT + 0.0004), xy[3], (120.0, LAT + 0.1)],
                   kind=["park", "hub", "park", "hub"])
    units = {"park": ["lab A", "lab B", "lab A"], "hub6": ["platform"]}
    with pytest.warns(DataWarning, match="left out"):  # hub_far is 11 km off the network
        r = node_strength(net.select(), nodes, units=units)
    t = r.table.set_index("id")
    assert t.loc["park", "mass"] == 1 + 2          # two distinct units
    assert t.loc["hub6", "mass"] == 1 + 1 + 2      # one unit, two lines at station 6
    assert t.loc["plain", "mass"] == 1
    assert t.loc["hub6", "proxy_rail_lines"] == 2
    assert r.table["mass_source"].str.startswith("proxy:").all()
    assert "not measured" in r.meta["mass"]["source"] and r.meta["mass"]["is_proxy"]
    assert r.meta["nodes"]["unsnapped"] == ["hub_far"]


# --- bad input ---------------------------------------------------------------------------

def test_duplicate_ids(line_net, line_nodes):
    with pytest.raises(InputError, match="duplicate node id.*a"):
        node_strength(line_net, line_nodes.assign(id=["a", "a", "c"]), mass_col="m")


def test_zero_and_negative_masses_are_named(line_net, line_nodes):
    with pytest.raises(InputError, match=r"zero or negative.*a \(0\).*c \(-2\)"):
        node_strength(line_net, line_nodes.assign(m=[0.0, 2.0, -2.0]), mass_col="m")
    with pytest.raises(InputError, match="not numeric.*b"):
        node_strength(line_net, line_nodes.assign(m=[1.0, np.nan, 2.0]), mass_col="m")
    with pytest.raises(InputError, match="mass column 'x' not found"):
        node_strength(line_net, line_nodes, mass_col="x")


def test_single_node(line_net, line_nodes):
    with pytest.raises(InputError, match="at least two nodes"):
        node_strength(line_net, line_nodes.iloc[:1], mass_col="m")


def test_unsnappable_nodes_are_warned_and_listed(line_net, line_nodes):
    far = points(["far"], [(121.0, 31.5)], m=[5.0], city_adcode=["320500"])
    nodes = pd.concat([line_nodes, far], ignore_index=True)
    with pytest.warns(DataWarning, match=r"^1 node\(s\) not joined to the network: beyond snap distance \(100 m\).*far"):
        r = node_strength(line_net, nodes, mass_col="m")
    assert "far" not in set(r.table["id"])
    assert r.meta["nodes"]["unsnapped"] == ["far"]
    assert by_id(r, "gravity_strength")["b"] == pytest.approx(0.5)


def test_only_one_node_snappable(line_net):
    nodes = points(["a", "far"], [LINE_XY[1], (121.0, 31.5)], m=[1.0, 1.0])
    with pytest.warns(DataWarning), pytest.raises(InputError, match="1 of 2 could be snapped"):
        node_strength(line_net, nodes, mass_col="m")


def test_all_unreachable():
    xy = {1: (120.0, LAT), 2: (120.1, LAT), 3: (120.2, LAT), 4: (120.3, LAT)}
    net = make_network(xy, [(1, 2, 600), (3, 4, 600)])
    nodes = points(["a", "c"], [xy[1], xy[3]], m=[1.0, 1.0])
    with pytest.raises(NetworkError, match="none of the 2 nodes can reach another"):
        node_strength(net, nodes, mass_col="m")


def test_bad_parameters(line_net, line_nodes):
    with pytest.raises(InputError, match="unknown decay"):
        node_strength(line_net, line_nodes, mass_col="m", decay="gauss")
    with pytest.raises(InputError, match="beta must be a positive"):
        node_strength(line_net, line_nodes, mass_col="m", beta=0)
    with pytest.raises(NetworkError, match="no operating rail"):
        node_strength(line_net, line_nodes, mass_col="m", modes=["rail"])


# --- writing -----------------------------------------------------------------------------

def test_write_outputs(line_net, line_nodes, tmp_path):
    out = tmp_path / "ns"
    r = node_strength(line_net, line_nodes, mass_col="m", sensitivity_betas=[1.0, 2.0])
    r.write(out)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["city_matrix.csv", "flows.parquet", "meta.json", "node_strength.csv",
                     "node_strength.parquet", "sensitivity.csv"]
    csv = pd.read_csv(out / "node_strength.csv", dtype={"id": str})
    assert {"id", "name_zh", "lon", "lat", "mass", "mass_source", "gravity_strength",
            "gravity_strength_index", "access_strength", "betweenness", "closeness",
            "composite_index", "tier", "rank", "city_adcode"} <= set(csv.columns)
    assert csv.set_index("id").loc["b", "gravity_strength"] == pytest.approx(0.5)
    pq = gpd.read_parquet(out / "node_strength.parquet")
    assert pq.crs.to_epsg() == 4326 and (pq.geom_type == "Point").all()
    flows = gpd.read_parquet(out / "flows.parquet")
    assert (flows.geom_type == "LineString").all() and {"i", "j", "w_ij", "t_ij_min", "rank"} <= set(flows.columns)
    cm = pd.read_csv(out / "city_matrix.csv", dtype={"adcode": str})
    assert list(cm["adcode"][:3]) == ["310114", "310118", "320500"] and len(cm) == 8
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["mass"]["source"] == "column: m" and meta["parameters"]["beta"] == 1.0
    # A run without sensitivity into the same folder drops the stale table.
    node_strength(line_net, line_nodes, mass_col="m").write(out)
    assert not (out / "sensitivity.csv").exists()
