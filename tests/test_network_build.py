"""`kechuang-gis network build|info` end to end: multimodal transfers, dwell, meta.json,
summaries, and bad inputs that must leave no output folder behind."""

from __future__ import annotations

import hashlib
import json
import warnings

import networkx as nx
import pytest
from osm_helpers import NODES, WAYS, path_m, seg_m, write_osm

from kechuang_gis.cli import main
from kechuang_gis.errors import DataWarning, InputError
from kechuang_gis.network.build import build_network
from kechuang_gis.network.model import Network
from kechuang_gis.network.summary import render_summary, summarize

ROAD_NODES = (1, 3, 5, 6, 7, 8)  # kept road nodes of the reference file at level urban


@pytest.fixture(scope="module")
def pbf(tmp_path_factory):
    return write_osm(tmp_path_factory.mktemp("b") / "ref.osm.pbf")


@pytest.fixture(scope="module")
def built(pbf, tmp_path_factory):
    out = tmp_path_factory.mktemp("o") / "net"
    code = main(["network", "build", "--source", str(pbf), "--roads", "urban", "--min-component", "4",
                 "--transfer-penalty", "7", "--out", str(out)])
    assert code == 0
    return out, Network.load(out)


def rows(net, u, v, mode=None):
    e = net.edges
    sel = (e["u"] == u) & (e["v"] == v)
    if mode:
        sel &= e["mode"] == mode
    return e[sel]


def test_folder_and_meta(pbf, built):
    out, net = built
    assert sorted(p.name for p in out.iterdir()) == ["edges.parquet", "meta.json", "nodes.parquet"]
    meta = json.loads((out / "meta.json").read_text(encoding="utf-8"))
    assert meta["source"] == str(pbf)
    assert meta["inputs_sha256"][str(pbf)] == hashlib.sha256(pbf.read_bytes()).hexdigest()
    assert meta["length_method"] == "geodesic"
    assert meta["modes"] == ["road", "rail"]
    assert meta["build"]["roads"] == "urban" and meta["build"]["transfer_penalty_min"] == 7.0
    assert meta["access"]["max_snap_m"] == 3000.0
    # Boarding is an edge of the network (station hub -> platform), not part of the access model.
    assert "station_penalty_s" not in meta["access"]
    assert meta["build"]["transfer_penalty_min"] == 7.0
    assert meta["counts"]["edges"] == len(net.edges)
    assert meta["report"]["components_dropped"] == 1
    assert meta["software_version"]


def test_transfer_edges_link_station_to_nearest_road_node(built):
    _, net = built
    sx, sy = NODES[22]
    dists = {n: seg_m(22, n) for n in ROAD_NODES}
    nearest = min(dists, key=dists.get)
    d = dists[nearest]
    leg = d * 1.3 / (30 / 3.6)              # detour factor 1.3 at 30 km/h (settings)
    # The road joins the station's hub (id -22) by the leg alone, both ways ...
    to_hub = rows(net, nearest, -22, "transfer")
    from_hub = rows(net, -22, nearest, "transfer")
    assert len(to_hub) == 1 and len(from_hub) == 1
    assert to_hub["travel_time_s"].iloc[0] == pytest.approx(leg, rel=1e-6)
    assert from_hub["travel_time_s"].iloc[0] == pytest.approx(leg, rel=1e-6)
    assert to_hub["length_m"].iloc[0] == pytest.approx(d, rel=1e-6)
    # ... and the hub boards the platform (the OSM station node 22) for the 7-min penalty,
    # once; alighting costs the documented alighting time (0, stored as 0.01 s).
    board = rows(net, -22, 22, "transfer")
    alight = rows(net, 22, -22, "transfer")
    assert board["travel_time_s"].iloc[0] == pytest.approx(7 * 60)
    assert alight["travel_time_s"].iloc[0] == pytest.approx(0.01)
    assert (net.edges["mode"] == "transfer").sum() == 4


def test_rail_dwell_at_station_ends(built):
    _, net = built
    run = path_m([20, 21, 22]) / (250 / 3.6)
    assert rows(net, 20, 22)["travel_time_s"].iloc[0] == pytest.approx(run + 60.0)
    assert rows(net, 22, 20)["travel_time_s"].iloc[0] == pytest.approx(run + 60.0)
    run2 = path_m([22, 23]) / (250 / 3.6)
    assert rows(net, 22, 23)["travel_time_s"].iloc[0] == pytest.approx(run2 + 60.0)


def test_multimodal_route_uses_rail_and_transfers(built):
    _, net = built
    g = nx.DiGraph()
    for u, v, t in zip(net.edges["u"], net.edges["v"], net.edges["travel_time_s"], strict=True):
        if not g.has_edge(u, v) or g[u][v]["t"] > t:
            g.add_edge(int(u), int(v), t=float(t))
    # 8 is the road node nearest to station 22 (see the transfer test).
    assert nx.shortest_path(g, 7, 20, weight="t") == [7, 8, -22, 22, 20]
    # One boarding per rail trip: road -> rail -> road pays the 7 min once.
    t = nx.shortest_path_length(g, 7, 20, weight="t")
    rail_only = nx.shortest_path_length(g, 22, 20, weight="t")
    legs = g[7][8]["t"] + g[8][-22]["t"]
    assert t == pytest.approx(legs + 7 * 60 + rail_only)


def test_summary_figures(built):
    _, net = built
    s = summarize(net)
    assert s["by_mode"]["road"]["edges"] == 8      # 1-3, 3-5, 7-8 both ways; 3->6, 7->6
    assert s["by_mode"]["rail"]["edges"] == 4
    road_km = (path_m([1, 2, 3]) + path_m([3, 4, 5]) + seg_m(3, 6) + seg_m(6, 7) + seg_m(7, 8)) / 1000
    assert s["by_mode"]["road"]["length_km"] == pytest.approx(road_km, abs=1e-3)
    assert s["by_mode"]["rail"]["length_km"] == pytest.approx(path_m([20, 21, 22, 23]) / 1000, abs=1e-3)
    # Independent connectivity with networkx on the same edges.
    g = nx.DiGraph(list(zip(net.edges["u"], net.edges["v"], strict=True)))
    assert s["components"]["weak"]["count"] == nx.number_weakly_connected_components(g)
    assert s["components"]["strong"]["count"] == nx.number_strongly_connected_components(g)
    assert s["node_kinds"] == {"junction": 8, "platform": 1, "station": 1}
    lons = [x for x, _ in NODES.values()]
    assert s["bbox"][0] == pytest.approx(min(lons))
    text = render_summary(s)
    assert "road" in text and "rail" in text and "transfer" in text


def test_info_command(built, capsys):
    out, _ = built
    assert main(["network", "info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "weakly connected components" in text and "bounding box" in text
    assert main(["network", "info", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["by_mode"]["rail"]["edges"] == 4


def test_modes_road_only(pbf):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        net = build_network(pbf, modes="road", roads="urban", min_component=4)
    assert set(net.edges["mode"]) == {"road"}


def test_no_rail_when_rail_asked_is_a_counted_warning(tmp_path, capsys):
    p = write_osm(tmp_path / "roads.osm.pbf", ways=[w for w in WAYS if w[0] < 200], tagged_nodes=[])
    out = tmp_path / "net"
    assert main(["network", "build", "--source", str(p), "--roads", "urban", "--min-component", "1",
                 "--out", str(out)]) == 0
    assert "without edges" in capsys.readouterr().err
    assert (out / "edges.parquet").exists()


@pytest.mark.parametrize("source, message", [
    ("roads.shp", "valid sources"),
    ("missing.osm.pbf", "no such file"),
    ("corrupt.osm.pbf", "corrupt or truncated"),
])
def test_bad_sources_leave_no_output(tmp_path, capsys, source, message):
    if source == "corrupt.osm.pbf":
        (tmp_path / source).write_bytes(b"\x00\x00\x00\x0eOSMHeader garbage" * 20)
    out = tmp_path / "net"
    code = main(["network", "build", "--source", str(tmp_path / source), "--out", str(out)])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".net")]


def test_failed_build_keeps_previous_folder(pbf, tmp_path):
    out = tmp_path / "net"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(pbf.read_bytes()[:40])
    assert main(["network", "build", "--source", str(bad), "--out", str(out)]) == 2
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_unknown_mode_and_penalty():
    with pytest.raises(InputError, match="unknown mode"):
        build_network("embedded", modes="road,ferry")
    with pytest.raises(InputError, match="valid sources"):
        build_network("somewhere")


def test_embedded_source_builds_and_reports(tmp_path, capsys):
    out = tmp_path / "emb"
    assert main(["network", "build", "--source", "embedded", "--out", str(out)]) == 0
    net = Network.load(out)
    assert {"road", "rail"} <= set(net.edges["mode"])
    assert main(["network", "info", str(out)]) == 0
    assert "rail" in capsys.readouterr().out
